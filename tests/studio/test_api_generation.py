"""Generate, import, undo, and the history of runs, over HTTP.

One test generates with the real local model (SmolLM2-135M, a few seconds). The others use
the faulty server's OpenAI-compatible `ok` behaviour as the vendor: a real HTTP server whose
answer is always `where is my parcel` and `track my order`, so that statuses, imports and
undos are exact; and its failing behaviours for provider errors.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.servers.run import free_port
from utterly.prompt import default_template, template_version
from utterly.studio.models import SentenceGenerationSettings
from utterly.studio.schemas import ImportRefused

from .conftest import TEST_MODEL, generate_with_candidates, problem

RESET_PASSWORD = "Comment réinitialiser mon mot de passe ?"
PARCEL, TRACK = "where is my parcel", "track my order"  # what the fake vendor answers


def use_provider(world, **fields) -> None:
    """Store generation settings directly, enabled, bypassing the provider check."""
    with world.studio.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, world.bot)
        row.enabled = True
        for name, value in fields.items():
            setattr(row, name, value)


@dataclass
class Shop:
    """acme's bot generating through the fake vendor, with two English FAQs."""

    world: object
    orders: int  # "Orders", sentence "Where is my order?"
    delivery: int  # "Delivery", sentence "When will it arrive?"
    vendor: object

    def url(self, path: str) -> str:
        return f"/api/bots/{self.world.bot}{path}"

    def generate(self, faq_id: int, **body) -> dict:
        response = self.world.studio.api("bob").post(self.url(f"/faqs/{faq_id}/generate"),
                                                     json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def import_(self, faq_id: int, run_id: int, texts: list[str]):
        return self.world.studio.api("bob").post(self.url(f"/faqs/{faq_id}/import"),
                                                 json={"run_id": run_id, "texts": texts})

    def run(self, run_id: int) -> dict:
        response = self.world.studio.api("vic").get(self.url(f"/generation-runs/{run_id}"))
        assert response.status_code == 200, response.text
        return response.json()

    def statuses(self, run_id: int) -> dict[str, tuple]:
        return {c["text"]: (c["status"], c["conflict_faq_id"], c["conflict_faq_title"])
                for c in self.run(run_id)["candidates"]}

    def sentences(self, faq_id: int, **params) -> list[dict]:
        return self.world.studio.api("vic").get(self.url(f"/faqs/{faq_id}/sentences"),
                                                params=params).json()["items"]


@pytest.fixture
def shop(world, faulty_server) -> Shop:
    use_provider(world, provider="openai-compatible", model="gpt-4o-mini",
                 base_url=f"{faulty_server.url}/ok/v1", nb_sentences=2, temperature=0.6)
    bob = world.studio.api("bob")
    ids = []
    for title, sentence in (("Orders", "Where is my order?"),
                            ("Delivery", "When will it arrive?")):
        faq = bob.post(f"/api/bots/{world.bot}/faqs", json={"title": title, "locale": "en"})
        assert faq.status_code == 201, faq.text
        ids.append(faq.json()["id"])
        bob.post(f"/api/bots/{world.bot}/faqs/{ids[-1]}/sentences", json={"text": sentence})
    return Shop(world, *ids, vendor=faulty_server)


# ---- generate -------------------------------------------------------------------------

def test_generate_is_refused_while_generation_is_disabled(world):
    bob = world.studio.api("bob")
    body = problem(bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_password}/generate"), 409)
    assert body["code"] == "generation_disabled"
    assert body["hint"]
    assert bob.get(f"/api/bots/{world.bot}/generation-runs").json()["total"] == 0


def test_generate_with_the_local_model_then_import_and_undo(generation_enabled):
    world = generation_enabled
    use_provider(world, nb_sentences=1, temperature=0.5)
    bob = world.studio.api("bob")
    base = f"/api/bots/{world.bot}"
    out = generate_with_candidates(world, "bob")

    # the shape of a run, with the settings' defaults
    assert (out["provider"], out["model"], out["requested"]) == ("local", TEST_MODEL, 1)
    assert out["prompt_version"] == template_version(default_template())
    assert out["usage"]["input_tokens"] > 0 and out["usage"]["output_tokens"] > 0
    assert out["latency_s"] > 0
    assert "trace_id" in out and "trace_url" in out
    for candidate in out["candidates"]:
        assert (candidate["status"], candidate["origin"]) == ("new", "model")
        assert 0 < candidate["scores"]["similarity"] <= 1
    for rejected in out["rejected"]:
        assert rejected["text"] and rejected["reason"]

    run = bob.get(f"{base}/generation-runs/{out['run_id']}").json()
    assert run["request"]["sentences"] == [RESET_PASSWORD]  # the FAQ's own sentences
    assert (run["request"]["n"], run["request"]["locale"]) == (1, "fr")
    assert run["request"]["seed"] in range(1, 9)
    assert run["temperature"] == run["request"]["temperature"] == 0.5
    assert (run["status"], run["username"], run["faq_title"]) == \
        ("succeeded", "bob", "Mot de passe")
    assert (run["kept"], run["rejected_count"], run["imported"]) == \
        (len(out["candidates"]), len(out["rejected"]), 0)
    assert (run["input_tokens"], run["output_tokens"]) == \
        (out["usage"]["input_tokens"], out["usage"]["output_tokens"])

    # import one candidate: it becomes a generated sentence, "present" in the run
    text = out["candidates"][0]["text"]
    imported = bob.post(f"{base}/faqs/{world.faq_password}/import",
                        json={"run_id": out["run_id"], "texts": [text]})
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 1
    run = bob.get(f"{base}/generation-runs/{out['run_id']}").json()
    assert run["candidates"][0]["status"] == "present"
    assert run["imported"] == 1
    sentence, = bob.get(f"{base}/faqs/{world.faq_password}/sentences",
                        params={"origin": "generated"}).json()["items"]
    assert (sentence["text"], sentence["generation_run_id"], sentence["provider"],
            sentence["model"], sentence["temperature"], sentence["prompt_version"]) == \
        (text, out["run_id"], "local", TEST_MODEL, 0.5, out["prompt_version"])

    # undo: the human sentence stays
    undone = bob.delete(f"{base}/generation-runs/{out['run_id']}/sentences")
    assert undone.json() == {"run_id": out["run_id"], "deleted": 1}
    assert [s["text"] for s in bob.get(f"{base}/faqs/{world.faq_password}/sentences").json()[
        "items"]] == [RESET_PASSWORD]
    assert bob.get(f"{base}/generation-runs/{out['run_id']}").json()[
        "candidates"][0]["status"] == "new"


def test_generate_takes_n_and_temperature_from_the_settings(shop):
    calls = shop.vendor.state.hits["ok"]
    out = shop.generate(shop.orders)
    assert out["requested"] == 2
    assert shop.vendor.state.hits["ok"] == calls + 1
    assert shop.vendor.state.last_openai_body["temperature"] == 0.6
    assert [c["text"] for c in out["candidates"]] == [PARCEL, TRACK]
    request = shop.run(out["run_id"])["request"]
    assert (request["sentences"], request["locale"], request["n"], request["temperature"]) == \
        (["Where is my order?"], "en", 2, 0.6)


def test_generate_body_overrides_the_settings(shop):
    calls = shop.vendor.state.hits["ok"]
    out = shop.generate(shop.world.faq_parcel, sentences=["Where is my order?"], locale="EN",
                        n=1, temperature=0.1, options={"spelling_mistakes": True})
    assert out["requested"] == 1
    assert len(out["candidates"]) == 1
    assert shop.vendor.state.hits["ok"] == calls + 1  # one request, at that temperature
    assert shop.vendor.state.last_openai_body["temperature"] == 0.1
    run = shop.run(out["run_id"])
    assert (run["request"]["n"], run["request"]["locale"], run["temperature"]) == \
        (1, "en", 0.1)
    assert run["options"]["spelling_mistakes"] is True


def test_a_run_stores_the_request_the_model_read(shop):
    """The run stores the core's request, not the body as sent: its sentences as the prompt
    has them, and the settings' n when the body gives none."""
    out = shop.generate(shop.orders, sentences=["Where  is my\torder?"])
    request = shop.run(out["run_id"])["request"]
    assert request["sentences"] == ["Where is my order?"]
    prompt = "\n".join(m["content"] for m in shop.vendor.state.last_openai_body["messages"])
    assert "Where is my order?" in prompt and "Where  is" not in prompt
    assert (request["n"], out["requested"]) == (2, 2)


def test_generate_refuses_a_locale_the_bot_does_not_have(generation_enabled):
    world = generation_enabled
    url = f"/api/bots/{world.bot}/faqs/{world.faq_password}/generate"
    bob = world.studio.api("bob")
    body = problem(bob.post(url, json={"locale": "de"}), 422)
    assert body["field"] == "locale"
    assert problem(bob.post(url, json={"locale": "not a locale"}), 422)["field"] == "locale"
    assert problem(bob.post(url, json={"n": 0}), 422)["field"] == "n"
    assert problem(bob.post(url, json={"temperature": 2}), 422)["field"] == "temperature"
    assert bob.get(f"/api/bots/{world.bot}/generation-runs").json()["total"] == 0


def test_generate_needs_sentences_to_start_from(generation_enabled):
    world = generation_enabled
    bob = world.studio.api("bob")
    empty = bob.post(f"/api/bots/{world.bot}/faqs", json={"title": "Vide"}).json()
    body = problem(bob.post(f"/api/bots/{world.bot}/faqs/{empty['id']}/generate"), 422)
    assert body["field"] == "sentences"


def test_the_prompt_knows_the_faq_and_the_bot_knows_its_other_faqs(shop):
    """The FAQ's title and answer reach the model; a candidate that is another FAQ's
    sentence (the vendor always answers `where is my parcel`) is rejected, naming it."""
    bob = shop.world.studio.api("bob")
    patched = bob.patch(shop.url(f"/faqs/{shop.orders}"),
                        json={"answer": "Your orders are listed under My account › Orders."})
    assert patched.status_code == 200, patched.text
    bob.post(shop.url(f"/faqs/{shop.delivery}/sentences"), json={"text": "Where is my parcel?"})
    out = shop.generate(shop.orders)
    prompt = "\n".join(m["content"] for m in shop.vendor.app.state.last_openai_body["messages"])
    assert "Subject: Orders" in prompt
    assert "Your orders are listed under My account" in prompt
    assert [c["text"] for c in out["candidates"]] == [TRACK]
    parcel = [r for r in out["rejected"] if r["text"] == PARCEL]
    assert parcel and {r["reason"] for r in parcel} == {"other_intent"}
    assert all("Delivery" in r["detail"] for r in parcel)
    # the shortfall in English for the API, and as a code with values for a translation
    assert any("only 1 of 2 sentences passed the filters" in w for w in out["warnings"])
    shortfall = out["notices"][-1]
    assert shortfall["code"] == "too_few_passed"
    assert (shortfall["values"]["kept"], shortfall["values"]["requested"]) == (1, 2)


def test_warm_up_reads_the_prompt_ahead_and_stores_nothing(generation_enabled):
    world = generation_enabled
    base = f"/api/bots/{world.bot}"
    url = f"{base}/faqs/{world.faq_password}/generate/warm-up"
    response = world.studio.api("bob").post(url, json={"n": 4})
    assert response.status_code == 200, response.text
    assert response.json() == {"warmed": True}
    assert world.studio.api("bob").get(f"{base}/generation-runs").json()["total"] == 0
    # refused like a generation: a viewer may not, and a bad body names its field
    assert problem(world.studio.api("vic").post(url, json={}), 403)
    assert problem(world.studio.api("bob").post(url, json={"n": 0}), 422)["field"] == "n"


def test_warm_up_is_refused_while_generation_is_disabled(world):
    url = f"/api/bots/{world.bot}/faqs/{world.faq_password}/generate/warm-up"
    assert problem(world.studio.api("bob").post(url, json={}), 409)["code"] == \
        "generation_disabled"


def test_warm_up_sends_nothing_to_a_remote_provider(shop):
    before = shop.vendor.state.hits["ok"]
    response = shop.world.studio.api("bob").post(shop.url(f"/faqs/{shop.orders}/generate/warm-up"))
    assert response.status_code == 200, response.text
    assert response.json() == {"warmed": False}
    assert shop.vendor.state.hits["ok"] == before


# ---- candidate statuses ---------------------------------------------------------------

def test_candidate_status_follows_the_faqs_sentences(shop):
    run_id = shop.generate(shop.orders)["run_id"]
    assert shop.statuses(run_id) == {PARCEL: ("new", None, None), TRACK: ("new", None, None)}

    # a person adds one candidate's text to another FAQ: conflict, naming that FAQ
    added = shop.world.studio.api("bob").post(shop.url(f"/faqs/{shop.delivery}/sentences"),
                                              json={"text": "Where is my parcel?"})
    assert added.status_code == 201, added.text
    # the other one is imported into this FAQ: present
    assert shop.import_(shop.orders, run_id, [TRACK]).json()["imported"] == 1
    expected = {PARCEL: ("conflict", shop.delivery, "Delivery"), TRACK: ("present", None, None)}
    assert shop.statuses(run_id) == expected

    # a new run (given sources: the FAQ's own now include `track my order`, which the model
    # would be told not to copy) knows the bot's other FAQs: the text that trains Delivery
    # is rejected as belonging to it, before it counts; the other one is present
    again = shop.generate(shop.orders, sentences=["Where is my order?"])
    assert {c["text"]: (c["status"], c["conflict_faq_id"], c["conflict_faq_title"])
            for c in again["candidates"]} == {TRACK: ("present", None, None)}
    other = [r for r in again["rejected"] if r["text"] == PARCEL]
    assert other and other[0]["reason"] == "other_intent" and "Delivery" in other[0]["detail"]


def test_sources_default_to_the_faqs_human_sentences(shop):
    """A run that names no sources (a bulk job, the API without `sentences`) starts from the
    FAQ's human sentences only: an imported generated one, drifted or not, breeds nothing.
    An FAQ with generated sentences only still has something to start from."""
    run_id = shop.generate(shop.orders)["run_id"]
    assert shop.import_(shop.orders, run_id, [TRACK]).json()["imported"] == 1
    shop.generate(shop.orders)
    prompt = "\n".join(m["content"] for m in shop.vendor.app.state.last_openai_body["messages"])
    assert "- Where is my order?" in prompt
    assert f"- {TRACK}" not in prompt.split("Already written")[0]

    bob = shop.world.studio.api("bob")
    human = [s for s in shop.sentences(shop.orders) if s["origin"] == "human"]
    for sentence in human:
        deleted = bob.delete(shop.url(f"/faqs/{shop.orders}/sentences/{sentence['id']}"))
        assert deleted.status_code == 204, deleted.text
    shop.generate(shop.orders)
    prompt = "\n".join(m["content"] for m in shop.vendor.app.state.last_openai_body["messages"])
    assert f"- {TRACK}" in prompt.split("Already written")[0]


# ---- import ---------------------------------------------------------------------------

def test_import_reports_each_text_and_is_idempotent(shop):
    run_id = shop.generate(shop.orders)["run_id"]
    first = shop.import_(shop.orders, run_id, [PARCEL, "Track my order!", "TRACK my order"])
    assert first.status_code == 200, first.text
    first = first.json()
    assert (first["run_id"], first["imported"]) == (run_id, 2)
    assert [r["status"] for r in first["report"]] == ["imported", "imported", "already_present"]
    ids = [r["sentence_id"] for r in first["report"][:2]]
    assert all(ids)
    # stored as the run wrote them, with their provenance
    generated = shop.sentences(shop.orders, origin="generated")
    assert [(s["id"], s["text"], s["generation_run_id"], s["locale"]) for s in generated] == \
        [(ids[0], PARCEL, run_id, "en"), (ids[1], TRACK, run_id, "en")]

    second = shop.import_(shop.orders, run_id, [PARCEL, TRACK]).json()
    assert second["imported"] == 0
    assert [(r["status"], r["sentence_id"]) for r in second["report"]] == \
        [("already_present", ids[0]), ("already_present", ids[1])]
    assert len(shop.sentences(shop.orders, origin="generated")) == 2
    faq = shop.world.studio.api("vic").get(shop.url(f"/faqs/{shop.orders}")).json()
    assert (faq["human_sentences"], faq["generated_sentences"]) == (1, 2)


def test_import_refuses_everything_when_one_text_is_not_from_the_run(shop):
    run_id = shop.generate(shop.orders)["run_id"]
    body = problem(shop.import_(shop.orders, run_id, [TRACK, "Where did my order go?"]), 409)
    assert body["code"] == "import_refused"
    # nothing was imported: the acceptable text says it would have been, not that it was
    assert [(r["text"], r["status"]) for r in body["report"]] == \
        [(TRACK, "would_import"), ("Where did my order go?", "not_from_run")]
    assert body["report"][0]["sentence_id"] is None
    assert "imported" not in [r["status"] for r in body["report"]]
    assert shop.sentences(shop.orders, origin="generated") == []
    assert shop.run(run_id)["imported"] == 0
    # the refusal is the shape the OpenAPI document promises for a 409
    ImportRefused.model_validate(body)


def test_openapi_documents_the_refused_import(shop):
    schema = shop.world.studio.anonymous().get("/api/openapi.json").json()
    refused = schema["paths"]["/api/bots/{bot_id}/faqs/{faq_id}/import"]["post"]["responses"]["409"]
    ref = refused["content"]["application/problem+json"]["schema"]["$ref"]
    report = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["report"]
    item = schema["components"]["schemas"][report["items"]["$ref"].rsplit("/", 1)[1]]
    assert "would_import" in item["properties"]["status"]["enum"]


def test_import_refuses_everything_when_one_text_trains_another_faq(shop):
    run_id = shop.generate(shop.orders)["run_id"]
    shop.world.studio.api("bob").post(shop.url(f"/faqs/{shop.delivery}/sentences"),
                                      json={"text": "Track my order"})
    body = problem(shop.import_(shop.orders, run_id, [PARCEL, TRACK]), 409)
    assert body["code"] == "import_refused"
    acceptable, conflict = body["report"]
    assert (acceptable["text"], acceptable["status"], acceptable["sentence_id"]) == \
        (PARCEL, "would_import", None)
    assert (conflict["text"], conflict["status"], conflict["conflict_faq_id"],
            conflict["conflict_faq_title"]) == (TRACK, "conflict", shop.delivery, "Delivery")
    assert shop.sentences(shop.orders, origin="generated") == []
    assert shop.statuses(run_id)[PARCEL][0] == "new"


def test_import_of_a_run_of_another_faq_or_bot(shop):
    world = shop.world
    run_id = shop.generate(shop.orders)["run_id"]
    # another FAQ of the same bot: none of the run's texts belong to it
    body = problem(shop.import_(shop.delivery, run_id, [PARCEL]), 409)
    assert [r["status"] for r in body["report"]] == ["not_from_run"]
    assert shop.sentences(shop.delivery, origin="generated") == []
    # another bot's path, or an id that does not exist: no such run
    gus = world.studio.api("gus")
    foreign = gus.post(f"/api/bots/{world.other_bot}/faqs/{world.other_faq}/import",
                       json={"run_id": run_id, "texts": [PARCEL]})
    assert problem(foreign, 404)["field"] == "run_id"
    assert problem(shop.import_(shop.orders, 999999, [PARCEL]), 404)["field"] == "run_id"
    assert problem(shop.import_(shop.orders, run_id, []), 422)["field"] == "texts"


# ---- undo -----------------------------------------------------------------------------

def test_undo_removes_exactly_what_the_run_imported(shop):
    bob = shop.world.studio.api("bob")
    first = shop.generate(shop.orders)["run_id"]
    shop.import_(shop.orders, first, [PARCEL])
    second = shop.generate(shop.orders, sentences=["Where is my order?"])["run_id"]
    assert shop.import_(shop.orders, second, [PARCEL, TRACK]).json()["imported"] == 1
    bob.post(shop.url(f"/faqs/{shop.orders}/sentences"), json={"text": "Any news on my order?"})

    undone = bob.delete(shop.url(f"/generation-runs/{first}/sentences"))
    assert undone.status_code == 200, undone.text
    assert undone.json() == {"run_id": first, "deleted": 1}
    remaining = [(s["text"], s["origin"], s["generation_run_id"])
                 for s in shop.sentences(shop.orders)]
    assert remaining == [("Where is my order?", "human", None), (TRACK, "generated", second),
                         ("Any news on my order?", "human", None)]
    assert (shop.run(first)["imported"], shop.run(second)["imported"]) == (0, 1)

    assert bob.delete(shop.url(f"/generation-runs/{first}/sentences")).json()["deleted"] == 0
    assert problem(bob.delete(shop.url("/generation-runs/999999/sentences")), 404)
    gus = shop.world.studio.api("gus")
    assert problem(gus.delete(f"/api/bots/{shop.world.other_bot}/generation-runs/{second}"
                              "/sentences"), 404)
    assert shop.run(second)["imported"] == 1


# ---- history --------------------------------------------------------------------------

def test_list_runs_filters_by_faq_and_paginates(shop):
    runs = [shop.generate(faq)["run_id"] for faq in (shop.orders, shop.delivery, shop.orders)]
    shop.import_(shop.orders, runs[2], [TRACK])
    vic = shop.world.studio.api("vic")

    everything = vic.get(shop.url("/generation-runs")).json()
    assert everything["total"] == 3
    assert [r["id"] for r in everything["items"]] == runs[::-1]  # newest first

    orders = vic.get(shop.url("/generation-runs"), params={"faq_id": shop.orders}).json()
    assert [r["id"] for r in orders["items"]] == [runs[2], runs[0]]
    page = vic.get(shop.url("/generation-runs"),
                   params={"faq_id": shop.orders, "limit": 1, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    assert [r["id"] for r in page["items"]] == [runs[0]]

    latest = everything["items"][0]
    assert (latest["faq_id"], latest["faq_title"], latest["username"], latest["status"],
            latest["provider"], latest["kept"], latest["imported"]) == \
        (shop.orders, "Orders", "bob", "succeeded", "openai-compatible", 2, 1)
    assert latest["rejected_count"] == len(shop.run(runs[2])["rejected"])
    assert "candidates" not in latest  # the list is a summary; the detail has them

    gus = shop.world.studio.api("gus")
    assert gus.get(f"/api/bots/{shop.world.other_bot}/generation-runs").json()["total"] == 0
    assert problem(gus.get(shop.url(f"/generation-runs/{runs[0]}")), 404)
    assert problem(gus.get(f"/api/bots/{shop.world.other_bot}/generation-runs/{runs[0]}"), 404)


def test_a_transformed_candidate_names_the_sentence_it_came_from(shop):
    out = shop.generate(shop.orders, options={"spelling_mistakes": True})
    for candidates in (out["candidates"], shop.run(out["run_id"])["candidates"]):
        transformed = [c for c in candidates if c["origin"] == "transformed"]
        assert transformed, candidates
        for c in candidates:
            if c["origin"] == "transformed":
                assert c["source_text"] in (PARCEL, TRACK)
                assert c["text"] != c["source_text"]
                assert c["variations"] == ["spelling_mistakes"]
                # the score is the model sentence's: the transform only changed its spelling
                assert c["scores"]["similarity"] > 0
            else:
                assert (c["source_text"], c["variations"]) == (None, [])


def test_list_runs_filters_by_status_and_person(shop):
    """The history's filters: status and username, alone or with faq_id; a bad value is a
    422 naming the parameter."""
    world = shop.world
    bob_orders = shop.generate(shop.orders)["run_id"]
    ada = world.studio.api("ada")
    by_ada = ada.post(shop.url(f"/faqs/{shop.delivery}/generate"))
    assert by_ada.status_code == 200, by_ada.text
    ada_delivery = by_ada.json()["run_id"]
    use_provider(world, base_url=f"{shop.vendor.url}/unauthorized/v1")
    failed = problem(world.studio.api("bob").post(shop.url(f"/faqs/{shop.orders}/generate")),
                     502)["run_id"]
    vic = world.studio.api("vic")

    def ids(**params) -> list[int]:
        response = vic.get(shop.url("/generation-runs"), params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [r["id"] for r in body["items"]]

    assert ids() == [failed, ada_delivery, bob_orders]
    assert ids(status="failed") == [failed]
    assert ids(status="succeeded") == [ada_delivery, bob_orders]
    assert ids(status="partial") == []
    assert ids(user="bob") == [failed, bob_orders]
    assert ids(user="ada") == [ada_delivery]
    assert ids(user="bob", status="succeeded") == [bob_orders]
    assert ids(user="ada", faq_id=shop.orders) == []
    assert ids(user="bob", faq_id=shop.orders, status="failed") == [failed]
    # a name nobody has, or someone of another namespace: nothing, not an error that would
    # tell which names exist
    assert ids(user="nobody") == []
    assert ids(user="gus") == []

    wrong = problem(vic.get(shop.url("/generation-runs"), params={"status": "done"}), 422)
    assert wrong["field"] == "status"
    assert "succeeded" in wrong["detail"] and "failed" in wrong["detail"]
    assert problem(vic.get(shop.url("/generation-runs"), params={"user": ""}), 422)[
        "field"] == "user"
    assert problem(vic.get(shop.url("/generation-runs"), params={"user": "x" * 65}), 422)[
        "field"] == "user"


def test_a_held_run_shows_its_candidates_statuses_as_of_the_review(shop):
    """A run nobody imported from (a bulk job's, without auto-import) is reviewed later: its
    detail gives each candidate's status now, not as it was when it was generated."""
    bob = shop.world.studio.api("bob")
    held = shop.generate(shop.orders)["run_id"]
    other = shop.generate(shop.orders)["run_id"]  # the same two candidates
    run = shop.run(held)  # as the viewer sees it
    assert (run["kept"], run["imported"], run["faq_id"]) == (2, 0, shop.orders)
    assert [(c["text"], c["status"], c["origin"], c["conflict_risk"])
            for c in run["candidates"]] == [(PARCEL, "new", "model", None),
                                            (TRACK, "new", "model", None)]

    # meanwhile, elsewhere: TRACK imported from the other run, PARCEL typed into Delivery
    assert shop.import_(shop.orders, other, [TRACK]).json()["imported"] == 1
    typed = bob.post(shop.url(f"/faqs/{shop.delivery}/sentences"),
                     json={"text": "Where is my parcel?"})
    assert typed.status_code == 201, typed.text
    assert shop.statuses(held) == {PARCEL: ("conflict", shop.delivery, "Delivery"),
                                   TRACK: ("present", None, None)}
    assert shop.run(held)["imported"] == 0  # present, but not imported by this run
    # a viewer reads the review but cannot import
    refused = shop.world.studio.api("vic").post(shop.url(f"/faqs/{shop.orders}/import"),
                                               json={"run_id": held, "texts": [PARCEL]})
    assert problem(refused, 403)["hint"] == (
        "ask an admin of this namespace: a bot_user can manage FAQs and sentences, generate, "
        "import and undo")
    # importing what the review shows as not selectable changes nothing
    body = problem(shop.import_(shop.orders, held, [PARCEL, TRACK]), 409)
    assert [r["status"] for r in body["report"]] == ["conflict", "already_present"]
    assert shop.run(held)["imported"] == 0

    # the Delivery sentence goes: PARCEL is new again, and the review imports it
    deleted = bob.delete(shop.url(f"/faqs/{shop.delivery}/sentences/{typed.json()['id']}"))
    assert deleted.status_code == 204, deleted.text
    assert shop.statuses(held) == {PARCEL: ("new", None, None),
                                   TRACK: ("present", None, None)}
    imported = shop.import_(shop.orders, held, [PARCEL])
    assert imported.status_code == 200, imported.text
    assert [r["status"] for r in imported.json()["report"]] == ["imported"]
    run = shop.run(held)
    assert (run["imported"], [c["status"] for c in run["candidates"]]) == \
        (1, ["present", "present"])
    assert shop.run(other)["imported"] == 1
    listed = {r["id"]: r["imported"] for r in
              shop.world.studio.api("vic").get(shop.url("/generation-runs")).json()["items"]}
    assert listed == {held: 1, other: 1}


def test_a_run_outlives_its_faq(shop):
    run_id = shop.generate(shop.orders)["run_id"]
    assert shop.world.studio.api("bob").delete(shop.url(f"/faqs/{shop.orders}")).status_code \
        == 204
    run = shop.run(run_id)
    assert (run["faq_id"], run["faq_title"], run["kept"], run["candidates"]) == \
        (None, None, 2, [])


# ---- provider failures ----------------------------------------------------------------

@pytest.mark.parametrize("behaviour, code", [
    ("unauthorized", "authentication"),
    ("model-not-found", "model_not_found"),
    ("server-error", "server_error"),        # retried twice first
    ("garbage", "invalid_response"),
    (None, "unreachable"),                   # nobody listens
])
def test_provider_failure_is_a_502_and_a_failed_run(world, faulty_server, behaviour, code):
    base_url = (f"{faulty_server.url}/{behaviour}/v1" if behaviour
                else f"http://127.0.0.1:{free_port()}/v1")
    use_provider(world, provider="openai-compatible", model="gpt-4o-mini", base_url=base_url)
    bob = world.studio.api("bob")
    response = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/generate")
    body = problem(response, 502)
    assert body["code"] == code
    assert body["title"] == "Model provider failed"
    assert body["hint"]

    run = bob.get(f"/api/bots/{world.bot}/generation-runs/{body['run_id']}").json()
    assert (run["status"], run["error"]["code"], run["kept"], run["candidates"]) == \
        ("failed", code, 0, [])
    assert run["request"]["sentences"] == ["Où est mon colis ?"]
    assert bob.get(f"/api/bots/{world.bot}/generation-runs").json()["items"][0]["id"] == \
        body["run_id"]


def test_rate_limit_longer_than_utterly_waits_says_when_to_retry(world, faulty_server):
    use_provider(world, provider="openai-compatible", model="gpt-4o-mini",
                 base_url=f"{faulty_server.url}/rate-limited-long/v1")
    response = world.studio.api("bob").post(
        f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/generate")
    body = problem(response, 502)
    assert body["code"] == "rate_limited"
    assert response.headers["retry-after"] == "3600"
    assert "try again after" in body["hint"]

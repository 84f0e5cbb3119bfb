"""Schemathesis fuzzes every operation of the live OpenAPI document as an admin: whatever
it sends, the Studio answers with a 2xx-4xx, never a 5xx.

Path ids are drawn either by schemathesis or among the world's real ids, so that requests
reach past the 404 of an unknown bot into the code behind it. Generation is disabled in
`world`, so the generate operation stays in and must refuse (409/422), never fail. The
check operations stay in too: the URLs schemathesis invents fail to connect at once here.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.studio.conftest import PASSWORD
from utterly.studio.models import GenerationRun


@pytest.fixture
def fuzzed(world):
    """The world, plus a generation run, and a spare bot and FAQ that deletions may take.

    Returns the world and `targets`: sets of real ids a request may use in place of the
    ones schemathesis draws (the last one is globex's, foreign to ada)."""
    ada = world.studio.api("ada")
    spare_bot = ada.post("/api/bots", json={"name": "Spare", "locales": ["fr"]}).json()["id"]
    spare_faq = ada.post(f"/api/bots/{world.bot}/faqs", json={"title": "Spare"}).json()["id"]
    with world.studio.sessions() as session, session.begin():
        run = GenerationRun(bot_id=world.bot, faq_id=world.faq_password, status="succeeded",
                            provider="local", request={"locale": "fr", "n": 1},
                            candidates=[{"text": "Mot de passe perdu", "origin": "model",
                                         "scores": {}}])
        session.add(run)
        session.flush()
        run_id = run.id
    token = ada.post("/api/auth/api-tokens", json={"name": "fuzz"}).json()["id"]
    acme = {"bot_id": world.bot, "namespace_id": world.acme, "run_id": run_id,
            "token_id": token}
    targets = [
        {**acme, "faq_id": world.faq_password, "sentence_id": 1, "user_id": world.users["bob"]},
        {**acme, "faq_id": world.faq_parcel, "sentence_id": 2, "user_id": world.users["vic"]},
        {"bot_id": world.other_bot, "faq_id": world.other_faq, "namespace_id": world.globex,
         "user_id": world.users["gus"], "run_id": run_id, "sentence_id": 3, "token_id": token},
    ]
    # Deleting the acme bot or its FAQs, or ada's membership, would leave nothing to reach
    # for the requests that follow: those ids are swapped for spare ones.
    swaps = {"bot_id": ({world.bot}, spare_bot),
             "faq_id": ({world.faq_password, world.faq_parcel}, spare_faq),
             "user_id": ({world.users["ada"]}, world.users["vic"])}
    return {"world": world, "targets": targets, "swaps": swaps}


@pytest.fixture
def api_schema(fuzzed):
    return schemathesis.openapi.from_url(f"{fuzzed['world'].studio.url}/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@schema.given(data=st.data())
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_studio_fail(case, data, fuzzed):
    studio = fuzzed["world"].studio
    params = case.path_parameters or {}
    target = data.draw(st.sampled_from([None, *fuzzed["targets"]]), label="real ids")
    if target is not None:
        for name in params:
            params[name] = target.get(name, params[name])
        if isinstance(case.body, dict):
            for name in ("run_id", "namespace_id"):
                if name in case.body:
                    case.body[name] = target[name]
    # Ada makes every request: she keeps her role, her bot and its FAQs.
    last = case.operation.path.rsplit("/", 1)[-1].strip("{}")
    for name, (kept, spare) in fuzzed["swaps"].items():
        if params.get(name) in kept and (name == "user_id" or (
                case.operation.method.upper() == "DELETE" and last == name)):
            params[name] = spare
    if case.operation.path == "/api/auth/logout":
        # Logging out revokes the token it is sent with: give it one of its own.
        token = httpx.post(f"{studio.url}/api/auth/token",
                           json={"username": "ada", "password": PASSWORD}).json()
        authorization = f"Bearer {token['access_token']}"
    else:
        authorization = studio.api("ada").headers["Authorization"]
    response = case.call(base_url=studio.url, headers={"Authorization": authorization})
    if not provider_failure(response.status_code, response.json):
        case.validate_response(response, checks=[not_a_server_error])


def provider_failure(status: int, body) -> bool:
    """A 502/504 problem naming a provider: the model server the settings point at (one
    schemathesis invented) failed or was not there. That is the upstream's fault, reported
    as designed (errors.from_core), not a failure of the Studio."""
    if status not in (502, 504):
        return False
    problem = body()
    return problem.get("title") == "Model provider failed" and "provider" in problem


# What schemathesis found: ids beyond the database's integer range (SQLite raised
# OverflowError, PostgreSQL a DataError) and NUL characters in PostgreSQL texts were 500s.
def refused_requests(w):
    for n in (2**31, 2**63, 10**30):
        yield "GET", f"/api/bots/{n}", None
        yield "GET", f"/api/bots/{w.bot}/faqs/{n}", None
        yield "GET", f"/api/bots/{w.bot}/generation-runs?faq_id={n}", None
        yield "POST", f"/api/bots/{w.bot}/faqs/{w.faq_password}/import", {"run_id": n,
                                                                           "texts": ["x"]}
        yield "POST", "/api/bots", {"namespace_id": n, "name": "n"}
    yield "PATCH", f"/api/bots/{w.bot}", {"name": "a\x00b"}
    yield "POST", f"/api/bots/{w.bot}/faqs", {"title": "a\x00b"}
    yield "GET", f"/api/bots/{w.bot}/faqs?q=a%00b", None
    yield "POST", "/api/auth/token", {"username": "a\x00da", "password": "x"}
    # Then: an unknown local model was a 502 "Model provider failed", with no upstream;
    # now the Studio takes catalogue names only (422 naming the field).
    yield "PUT", f"/api/bots/{w.bot}/settings/sentence-generation", {
        "enabled": True, "provider": "local", "model": "no-such-model"}


def test_out_of_range_ids_and_nul_characters_are_refused_not_failures(world):
    ada = world.studio.api("ada")
    for method, path, body in refused_requests(world):
        response = ada.request(method, path, json=body)
        assert response.status_code < 500, (method, path, response.text)
        if response.status_code >= 400:
            assert response.json()["code"] in ("invalid_input", "not_found",
                                               "invalid_credentials", "model_not_found"), \
                (path, response.text)

"""Every error the Studio's API answers with that a test can cause, caused once each through
the real HTTP API in French, and what a French page makes of them.

`walk` needs a running Studio where ada administers a namespace (and is a site admin), vic
is a viewer in it and PASSWORD is everyone's password (tests/studio's `world` and
tests/web's `studio_server` both are so). It creates its own bots, FAQs and settings, and
returns the problems it got, each with the request that caused it. Problem codes it cannot
cause are in UNTRIGGERED with where they are tested; `studio_codes()` lists every code the
Studio's source can answer with, so a new code needs one or the other.

`french_text` is what app.js's `problemText` shows on a French page, read with
`i18n.text`: tests/studio checks the server's side with it; tests/web runs app.js's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers.faulty_server import create_app as create_vendor
from tests.servers.run import ASGIServer, free_port
from utterly.errors import ErrorCode
from utterly.studio.web.i18n import MESSAGES, text

STUDIO = Path(__file__).parents[1] / "src" / "utterly" / "studio"
FR = {"Accept-Language": "fr"}

# Problems the pages never word through problemText: the import dialog words a refused
# import itself (gen.refused); bearer tokens and bare HTTP errors are for API clients.
UNTRANSLATED = {"import_refused", "invalid_token", "http_error"}

# Codes `walk` does not cause, and the tests that do.
UNTRIGGERED = {
    "conflict": "two requests racing on one unique constraint (tests/test_conflict_update.py)",
    "server_busy": "every generation thread busy (tests/studio/test_generation_threads.py)",
    "namespace_busy": "a namespace's fair share in use (tests/studio/test_fair_share.py)",
    "user_busy": "a user's fair share in use (tests/studio/test_fair_share.py)",
    "too_many_renders": "template renders at once (tests/security/)",
    "too_many_jobs": "bulk jobs at once (tests/studio/test_turns.py)",
    "database_unavailable": "the database down (tests/studio/test_database_busy.py)",
    "database_busy": "the database locked (tests/studio/test_database_busy.py)",
    "internal_error": "a bug",
    "import_too_many_sentences": "the server's import limits (tests/studio/test_transfer_limits.py)",
    "import_too_many_faqs": "the server's import limits (tests/studio/test_transfer_limits.py)",
    "bot_sentences_limit": "the server's bot limits (tests/studio/test_transfer_limits.py)",
    "bot_faqs_limit": "the server's bot limits (tests/studio/test_transfer_limits.py)",
    "export_too_large": "the server's export limit (tests/studio/test_export_stream.py)",
    "context_too_long": "a provider's context limit at generation (tests/test_provider_errors.py)",
    "configuration": "the settings' own checks refuse it first (tests/test_provider_errors.py)",
    "bad_request": "a provider refusing a request (tests/test_provider_errors.py)",
    "creator_deleted": "a bulk job's error, not an answer (tests/studio/test_jobs.py)",
    "all_items_failed": "a bulk job's error, not an answer (tests/test_cli_nlu.py)",
}

# Words of the server's English that French never uses (whole words, any case): what a
# French page must not show. Not "on", "a", "an", "or", "plus": French words too.
ENGLISH = re.compile(
    r"\b(the|is|are|was|be|must|should|would|cannot|can't|not|no|with|of|and|to|at|than|"
    r"this|that|these|has|have|does|did|from|for|your|you|please|try|again|input|string|"
    r"value|field|character|characters|request|error|failed|missing|required|invalid|"
    r"unexpected|undefined|expected|unknown|wrong|refused|answered|allowed|only|least|"
    r"most|which|where|when|here|there|because)\b", re.I)
PLACEHOLDER = re.compile(r"{\w+}")


def studio_codes() -> set[str]:
    """Every problem code the Studio's source can answer with (and the core's)."""
    codes = {str(c) for c in ErrorCode}
    for path in STUDIO.rglob("*.py"):
        source = path.read_text()
        codes |= set(re.findall(r'code="([a-z_]+)"', source))
        codes |= set(re.findall(r'"code": "([a-z_]+)"', source))
        codes |= set(re.findall(r'\d{3}: "([a-z_]+)"', source))
        codes |= set(re.findall(r'status, code, title = \d+, "([a-z_]+)"', source))
    return codes


@dataclass
class Walked:
    what: str  # the request, in words
    status: int
    problem: dict
    language: str  # Content-Language of the answer


def french_text(problem: dict) -> str:
    """What app.js's problemText shows for `problem` on a French page (its logic, read in
    Python with i18n.text)."""
    fr = MESSAGES["fr"]
    values = {k: v for k, v in problem.items() if isinstance(v, str | int | float)}
    for name, value in (problem.get("params") or {}).items():
        if name == "provider":
            value = fr.get(f"settings.provider.{value}", value)
        values[name] = f"{value:g}".replace(".", ",") if isinstance(value, float) else value
    field = str(problem.get("field") or "").split(".")[0]
    values["field"] = fr.get(f"field.{field}", problem.get("field") or "")
    code = problem.get("code")
    if code == "invalid_input":
        key = f"invalid.{problem.get('reason')}"
        if key not in fr:
            key = "problem.invalid_input" if problem.get("field") else "problem.bad_request"
        return text("fr", key, **values)
    if f"problem.{code}" in fr:
        return text("fr", f"problem.{code}", **values)
    return text("fr", "problem.unknown", status=problem.get("status", "—"))


class _Walk:
    def __init__(self, url: str, api, password: str, vendor: str):
        self.url, self.api, self.password, self.vendor = url, api, password, vendor
        self.found: list[Walked] = []

    def expect(self, what: str, response: httpx.Response) -> dict:
        assert response.status_code >= 400, f"{what}: {response.status_code} {response.text}"
        problem = response.json()
        self.found.append(Walked(what, response.status_code, problem,
                                 response.headers.get("content-language", "")))
        return problem

    def ok(self, response: httpx.Response) -> dict:
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def call(self, who: str, method: str, path: str, *, json=None, content=None,
             content_type: str | None = None) -> httpx.Response:
        headers = dict(FR, **({"Content-Type": content_type} if content_type else {}))
        return self.api(who).request(method, path, headers=headers, json=json, content=content)


def walk(url: str, api, password: str) -> list[Walked]:
    """Cause every problem this module can, in French; see the module's doc."""
    with ASGIServer(create_vendor()) as vendor:
        w = _Walk(url, api, password, vendor)
        _auth(w)
        _bots_and_faqs(w)
        _settings(w)
        _generation_and_nlu(w)
        _accounts(w)
        return w.found


def _auth(w: _Walk) -> None:
    with httpx.Client(base_url=w.url, headers=FR, timeout=60) as anonymous:
        w.expect("log in with a blank username",
                 anonymous.post("/api/auth/login", json={"username": " ", "password": "x"}))
        w.expect("log in with a wrong password", anonymous.post(
            "/api/auth/login", json={"username": "walker", "password": "not-it"}))
        for _ in range(6):
            refused = anonymous.post("/api/auth/login",
                                     json={"username": "walker-2", "password": "not-it"})
            if refused.status_code == 429:
                break
        w.expect("log in again and again", refused)
        w.expect("read your account without logging in", anonymous.get("/api/auth/me"))
        w.expect("an unknown method", anonymous.delete("/api/health"))
    with httpx.Client(base_url=w.url, headers=FR, timeout=60) as browser:
        w.ok(browser.post("/api/auth/login", json={"username": "vic", "password": w.password}))
        w.expect("a write without the CSRF token", browser.post("/api/auth/logout"))


def _namespace(w: _Walk) -> tuple[int, str]:
    me = w.ok(w.call("ada", "GET", "/api/auth/me"))
    first = next(ns for ns in me["namespaces"] if ns["role"] == "admin")
    return first["id"], first["name"]


def _bots_and_faqs(w: _Walk) -> None:
    namespace, _ = _namespace(w)
    w.bot = w.ok(w.call("ada", "POST", "/api/bots", json={
        "namespace_id": namespace, "name": "Walk bot", "locales": ["fr"]}))["id"]
    w.expect("a bot with a taken name", w.call("ada", "POST", "/api/bots", json={
        "namespace_id": namespace, "name": "Walk bot", "locales": ["fr"]}))
    w.expect("a bot with a bad locale", w.call("ada", "POST", "/api/bots", json={
        "namespace_id": namespace, "name": "Walk bot 2", "locales": ["not a locale"]}))
    w.expect("a field the API does not take", w.call("ada", "POST", "/api/bots", json={
        "namespace_id": namespace, "name": "Walk bot 3", "colour": "blue"}))
    w.expect("a body that is not JSON", w.call("ada", "POST", "/api/bots", content=b"{",
                                               content_type="application/json"))
    w.expect("a body too large", w.call("ada", "POST", "/api/bots", content=b" " * (2 << 20),
                                        content_type="application/json"))
    w.expect("a bot that does not exist", w.call("ada", "GET", "/api/bots/999999"))
    w.expect("a bot id that is not a number", w.call("ada", "GET", "/api/bots/abc"))
    faqs = f"/api/bots/{w.bot}/faqs"
    w.expect("an FAQ without a title", w.call("ada", "POST", faqs, json={}))
    w.expect("an FAQ title too long", w.call("ada", "POST", faqs, json={"title": "x" * 300}))
    w.expect("an FAQ in a locale the bot lacks", w.call("ada", "POST", faqs, json={
        "title": "Horaires", "locale": "de"}))
    w.password_faq = w.ok(w.call("ada", "POST", faqs, json={"title": "Mot de passe"}))["id"]
    w.parcel_faq = w.ok(w.call("ada", "POST", faqs, json={"title": "Colis"}))["id"]
    w.empty_faq = w.ok(w.call("ada", "POST", faqs, json={"title": "Vide"}))["id"]
    w.expect("an FAQ with a taken title", w.call("ada", "POST", faqs, json={"title": "Colis"}))
    sentences = f"{faqs}/{w.password_faq}/sentences"
    w.ok(w.call("ada", "POST", sentences, json={"text": "J'ai oublié mon mot de passe"}))
    w.ok(w.call("ada", "POST", f"{faqs}/{w.parcel_faq}/sentences",
                json={"text": "Où est mon colis ?"}))
    w.expect("a sentence already there", w.call("ada", "POST", sentences,
                                                json={"text": "J'ai oublié mon mot de passe"}))
    w.expect("a sentence of another FAQ", w.call("ada", "POST", sentences,
                                                 json={"text": "Où est mon colis ?"}))
    w.expect("a sentence without words", w.call("ada", "POST", sentences, json={"text": "?!"}))
    w.expect("a sentence twice in one batch", w.call("ada", "POST", f"{sentences}/batch", json={
        "sentences": [{"text": "Mot de passe perdu"}, {"text": "mot de passe perdu"}]}))
    w.expect("an import whose sentence trains another FAQ", w.call(
        "ada", "POST", f"/api/bots/{w.bot}/import?format=csv",
        content="intent,text\nMot de passe,Où est mon colis ?\n".encode(),
        content_type="text/csv"))


def _settings(w: _Walk) -> None:
    gen = f"/api/bots/{w.bot}/settings/sentence-generation"
    obs = f"/api/bots/{w.bot}/settings/observability"
    w.expect("a viewer changing the settings", w.call("vic", "PUT", gen, json={}))
    w.expect("enabled neither true nor false", w.call("ada", "PUT", gen,
                                                      json={"enabled": "maybe"}))
    w.expect("a temperature above 1", w.call("ada", "PUT", gen, json={"temperature": 2}))
    w.expect("a local model the Studio lacks", w.call("ada", "PUT", gen, json={
        "provider": "local", "model": "gpt-9"}))
    w.expect("an OpenAI-compatible provider without its URL", w.call("ada", "PUT", gen, json={
        "provider": "openai-compatible", "model": "m"}))
    for what, url in (("spaces", "http://exa mple.com"), ("no scheme", "ftp://example.com"),
                      ("a password", "http://user:pw@example.com"),
                      ("a query", "http://example.com/?a=1"), ("no host", "http://[::1"),
                      ("an odd IPv4 form", "http://0x7f.1/"),
                      ("a link-local address", "http://169.254.169.254/v1")):
        w.expect(f"a base URL with {what}", w.call("ada", "PUT", gen, json={
            "provider": "openai-compatible", "model": "m", "base_url": url}))
    w.expect("a Langfuse host with spaces", w.call("ada", "PUT", obs, json={
        "langfuse_host": "https://cloud langfuse.com"}))
    w.expect("a Langfuse public key of the wrong kind", w.call("ada", "PUT", obs, json={
        "langfuse_public_key": "sk-lf-1"}))
    w.expect("Langfuse keys without a host", w.call("ada", "PUT", obs, json={
        "langfuse_public_key": "pk-lf-1", "langfuse_secret_key": "sk-lf-1"}))
    w.expect("tracing on with nowhere to send", w.call("ada", "PUT", obs, json={"enabled": True}))
    preview = f"{gen}/preview"
    for what, template in (("an unknown variable", "{{ colour }}"),
                           ("an unexpected brace", "{{ sentences }"),
                           ("an unclosed block", "{% if sentences %}"),
                           ("an unknown tag", "{% frobnicate %}"),
                           ("an empty expression", "{{ }}"),
                           ("a division by zero", "{{ 1 / 0 }}"),
                           ("no user message", "### system\nBe brief."),
                           ("an assistant section first",
                            "### assistant\n1.\n### user\nWrite."),
                           ("a huge number", "{{ 9 ** (9 ** 7) }}")):
        w.expect(f"a template with {what}", w.call("vic", "POST", preview,
                                                   json={"prompt_template": template}))
    vendor = {"provider": "openai-compatible", "model": "gpt-4o-mini", "api_key": "sk-walk",
              "enabled": True, "timeout_s": 5}
    closed = f"http://127.0.0.1:{free_port()}/v1"
    for behaviour, base_url in (("nothing listening", closed),
                                ("refusing the key", f"{w.vendor}/unauthorized/v1"),
                                ("without the model", f"{w.vendor}/model-not-found/v1"),
                                ("rate-limited", f"{w.vendor}/rate-limited-long/v1"),
                                ("failing", f"{w.vendor}/server-error/v1"),
                                ("answering garbage", f"{w.vendor}/garbage/v1"),
                                ("never answering", f"{w.vendor}/hang/v1")):
        w.expect(f"a provider {behaviour}", w.call("ada", "PUT", gen,
                                                    json={**vendor, "base_url": base_url}))
    w.ok(w.call("ada", "PUT", gen, json={**vendor, "base_url": f"{w.vendor}/ok/v1"}))


def _generation_and_nlu(w: _Walk) -> None:
    bot = f"/api/bots/{w.bot}"
    generate = f"{bot}/faqs/{w.password_faq}/generate"
    w.expect("0 sentences asked for", w.call("ada", "POST", generate, json={"n": 0}))
    w.expect("21 source sentences", w.call("ada", "POST", generate,
                                           json={"sentences": ["Mot de passe ?"] * 21}))
    w.expect("a generation from an FAQ without sentences", w.call(
        "ada", "POST", f"{bot}/faqs/{w.empty_faq}/generate", json={}))
    w.expect("a bulk job on unknown FAQs", w.call("ada", "POST", f"{bot}/generation-jobs",
                                                  json={"faq_ids": [999999]}))
    w.expect("a bulk job no FAQ matches", w.call("ada", "POST", f"{bot}/generation-jobs",
                                                 json={"below": 1}))
    w.expect("a question before any training", w.call("vic", "POST", f"{bot}/nlu/parse",
                                                      json={"text": "mot de passe"}))
    w.expect("an evaluation on two sentences", w.call("ada", "POST", f"{bot}/nlu/evaluate",
                                                      json={}))
    namespace, _ = _namespace(w)
    other = w.ok(w.call("ada", "POST", "/api/bots", json={
        "namespace_id": namespace, "name": "Walk bot off", "locales": ["fr"]}))["id"]
    faq = w.ok(w.call("ada", "POST", f"/api/bots/{other}/faqs", json={"title": "Aide"}))["id"]
    w.ok(w.call("ada", "POST", f"/api/bots/{other}/faqs/{faq}/sentences",
                json={"text": "J'ai besoin d'aide"}))
    w.expect("a generation on a bot that has it off", w.call(
        "ada", "POST", f"/api/bots/{other}/faqs/{faq}/generate", json={}))
    w.expect("an intent model with one FAQ", w.call("ada", "POST", f"/api/bots/{other}/nlu/train",
                                                    json={}))


def _accounts(w: _Walk) -> None:
    namespace, name = _namespace(w)
    me = w.ok(w.call("ada", "GET", "/api/auth/me"))
    vic = next(m for m in w.ok(w.call("ada", "GET", f"/api/namespaces/{namespace}/members"))
               if m["username"] == "vic")
    w.expect("a namespace name with spaces", w.call("ada", "POST", "/api/namespaces",
                                                    json={"name": "Mon espace"}))
    w.expect("a namespace name taken", w.call("ada", "POST", "/api/namespaces",
                                              json={"name": name}))
    w.expect("a member with an unknown role", w.call(
        "ada", "PATCH", f"/api/namespaces/{namespace}/members/{vic['user_id']}",
        json={"role": "boss"}))
    w.expect("the last admin stepping down", w.call(
        "ada", "PATCH", f"/api/namespaces/{namespace}/members/{me['id']}",
        json={"role": "viewer"}))
    w.expect("a username taken", w.call("ada", "POST", "/api/users", json={
        "username": "vic", "password": "a long and unusual passphrase 93"}))
    w.expect("a password too easy", w.call("ada", "POST", "/api/users", json={
        "username": "walker-3", "password": "password"}))
    w.expect("a site admin disabling herself", w.call("ada", "PATCH", f"/api/users/{me['id']}",
                                                      json={"disabled": True}))
    w.expect("an API token for too long", w.call("ada", "POST", "/api/auth/api-tokens",
                                                 json={"name": "walk",
                                                       "expires_in_days": 36500}))

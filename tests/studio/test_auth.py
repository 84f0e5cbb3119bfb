"""Authentication: bearer tokens, the session cookie and its CSRF token, API tokens, the
brake on password guessing, and the password hashing under them."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.studio.conftest import PASSWORD
from utterly.studio.models import Token, utcnow
from utterly.studio.passwords import hash_password, verify_password
from utterly.studio.services.accounts import digest
from utterly.studio.services.throttle import LoginThrottle

PROBLEM = "application/problem+json"


def token_for(studio, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{studio.url}/api/auth/token",
                      json={"username": username, "password": password})


def bearer(studio, token: str) -> httpx.Client:
    return httpx.Client(base_url=studio.url, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def log_in(world):
    """log_in(username): a browser-like client holding the session cookies, and the CSRF
    token to echo."""
    clients = []

    def _log_in(username: str = "ada") -> tuple[httpx.Client, str]:
        client = httpx.Client(base_url=world.studio.url)
        clients.append(client)
        response = client.post("/api/auth/login",
                               json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return client, response.json()["csrf_token"]

    yield _log_in
    for client in clients:
        client.close()


def expire(studio, token: str) -> None:
    with studio.sessions() as session, session.begin():
        row = session.scalar(select(Token).where(Token.token_hash == digest(token)))
        row.expires_at = utcnow() - timedelta(minutes=1)


def cookie_attributes(response: httpx.Response) -> dict[str, tuple[str, set[str]]]:
    """name -> (value, lower-cased attributes) for each Set-Cookie header."""
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        cookies[name] = (value, {a.lower() for a in attributes})
    return cookies


# ---- bearer tokens ----------------------------------------------------------------------

def test_a_token_for_the_right_password_opens_the_api(world):
    response = token_for(world.studio, "ada")

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 12 * 3600
    with bearer(world.studio, body["access_token"]) as client:
        me = client.get("/api/auth/me").json()
    assert me["username"] == "ada"
    assert me["namespaces"] == [{"id": world.acme, "name": "acme", "role": "admin"}]


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(world):
    wrong = token_for(world.studio, "ada", "not-the-password")
    unknown = token_for(world.studio, "nobody", "not-the-password")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == unknown.headers["content-type"] == PROBLEM
    assert wrong.json()["code"] == "invalid_credentials"
    assert wrong.json() == unknown.json()
    assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")


def test_an_invalid_authorization_header_is_a_401_with_www_authenticate(world):
    for authorization in ("Bearer garbage", "Bearer ut_acc_" + "A" * 43, "Bearer",
                          "Basic YWRhOmNvcnJlY3QtaG9yc2UtMQ=="):
        response = httpx.get(f"{world.studio.url}/api/auth/me",
                             headers={"Authorization": authorization})

        assert response.status_code == 401, authorization
        assert response.headers["content-type"] == PROBLEM, authorization
        assert response.headers["www-authenticate"] == "Bearer", authorization
        assert response.json()["code"] in ("invalid_token", "not_authenticated")


def test_no_credentials_at_all_is_a_401_problem_saying_how_to_log_in(world):
    response = httpx.get(f"{world.studio.url}/api/auth/me")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    problem = response.json()
    assert problem["code"] == "not_authenticated" and problem["status"] == 401
    assert "/api/auth/token" in problem["hint"]


def test_a_session_token_is_no_bearer_token(world, log_in):
    client, _ = log_in()
    session_token = client.cookies["utterly_session"]

    with bearer(world.studio, session_token) as other:
        response = other.get("/api/auth/me")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_an_expired_access_token_is_refused(world):
    token = token_for(world.studio, "ada").json()["access_token"]
    with bearer(world.studio, token) as client:
        assert client.get("/api/auth/me").status_code == 200
        expire(world.studio, token)
        response = client.get("/api/auth/me")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == "Bearer"


# ---- the Studio session: cookie + CSRF ---------------------------------------------------

def test_login_sets_an_httponly_strict_session_cookie_and_a_readable_csrf_cookie(world):
    response = httpx.post(f"{world.studio.url}/api/auth/login",
                          json={"username": "ada", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "ada"
    cookies = cookie_attributes(response)
    session_value, session_attrs = cookies["utterly_session"]
    csrf_value, csrf_attrs = cookies["utterly_csrf"]
    assert session_value.startswith("ut_ses_")
    assert {"httponly", "samesite=strict", "path=/"} <= session_attrs
    assert csrf_value == body["csrf_token"]
    assert "httponly" not in csrf_attrs  # the page's script reads it to echo it
    assert "samesite=strict" in csrf_attrs


def test_the_session_cookie_reads_without_the_csrf_header(world, log_in):
    client, _ = log_in()

    response = client.get(f"/api/bots/{world.bot}/faqs")

    assert response.status_code == 200
    assert {f["title"] for f in response.json()} == {"Mot de passe", "Colis"}


WRITES = {
    "POST": lambda w: ("POST", f"/api/bots/{w.bot}/faqs", {"title": "Livraison"}, 201),
    "PUT": lambda w: ("PUT", f"/api/bots/{w.bot}/settings/sentence-generation",
                      {"enabled": False, "provider": "local", "temperature": 0.2}, 200),
    "PATCH": lambda w: ("PATCH", f"/api/bots/{w.bot}/faqs/{w.faq_parcel}",
                        {"answer": "Suivez le lien de suivi"}, 200),
    "DELETE": lambda w: ("DELETE", f"/api/bots/{w.bot}/faqs/{w.faq_parcel}", None, 204),
}


def _state(world) -> tuple:
    ada = world.studio.api("ada")
    return (ada.get(f"/api/bots/{world.bot}/faqs").json(),
            ada.get(f"/api/bots/{world.bot}/settings/sentence-generation").json())


@pytest.mark.parametrize("method", WRITES)
def test_a_cookie_write_needs_the_csrf_header(world, log_in, method):
    verb, path, body, ok_status = WRITES[method](world)
    client, csrf = log_in()
    kwargs = {"json": body} if body is not None else {}
    before = _state(world)

    refused = client.request(verb, path, **kwargs)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "csrf_failed"
    assert "X-CSRF-Token" in refused.json()["hint"]
    assert _state(world) == before

    accepted = client.request(verb, path, headers={"X-CSRF-Token": csrf}, **kwargs)
    assert accepted.status_code == ok_status, accepted.text
    assert _state(world) != before


def test_a_wrong_csrf_token_is_refused_even_another_sessions(world, log_in):
    client, _ = log_in("ada")
    _, bobs_csrf = log_in("bob")
    path = f"/api/bots/{world.bot}/faqs"
    for value in ("not-the-token", bobs_csrf):
        response = client.post(path, json={"title": "Livraison"},
                               headers={"X-CSRF-Token": value})
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
    assert "Livraison" not in {f["title"] for f in
                               world.studio.api("ada").get(path).json()}


def test_an_expired_session_is_refused(world, log_in):
    client, _ = log_in()
    assert client.get("/api/auth/me").status_code == 200
    expire(world.studio, client.cookies["utterly_session"])

    response = client.get("/api/auth/me")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_logout_needs_the_csrf_header_and_revokes_the_session(world, log_in):
    client, csrf = log_in()
    session_token = client.cookies["utterly_session"]
    assert client.post("/api/auth/logout").json()["code"] == "csrf_failed"

    response = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 204
    cleared = cookie_attributes(response)
    assert cleared["utterly_session"][0] in ("", '""')
    assert cleared["utterly_csrf"][0] in ("", '""')

    with httpx.Client(base_url=world.studio.url) as replay:  # the old cookie, kept by hand
        replay.cookies.set("utterly_session", session_token)
        assert replay.get("/api/auth/me").status_code == 401


def test_logout_with_a_bearer_token_revokes_that_token(world):
    token = token_for(world.studio, "ada").json()["access_token"]
    with bearer(world.studio, token) as client:
        assert client.post("/api/auth/logout").status_code == 204
        assert client.get("/api/auth/me").status_code == 401


# ---- API tokens -------------------------------------------------------------------------

def test_an_api_token_is_shown_once_and_works_as_a_bearer(world):
    ada = world.studio.api("ada")

    created = ada.post("/api/auth/api-tokens", json={"name": "ci", "expires_in_days": 30})

    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("ut_api_")
    expires = created.json()["expires_at"]
    assert expires is not None
    listing = ada.get("/api/auth/api-tokens")
    assert [(t["id"], t["name"], t["token"]) for t in listing.json()] == \
        [(created.json()["id"], "ci", None)]
    assert token not in listing.text
    with bearer(world.studio, token) as script:
        assert script.get("/api/auth/me").json()["username"] == "ada"
        assert script.get(f"/api/bots/{world.bot}/faqs").status_code == 200


def test_an_api_token_is_revoked_by_its_owner_and_by_nobody_else(world):
    ada, bob = world.studio.api("ada"), world.studio.api("bob")
    created = ada.post("/api/auth/api-tokens", json={"name": "script"}).json()
    assert created["expires_at"]  # every API token expires (tests/security has the limits)

    refused = bob.delete(f"/api/auth/api-tokens/{created['id']}")
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    with bearer(world.studio, created["token"]) as script:
        assert script.get("/api/auth/me").status_code == 200

        assert ada.delete(f"/api/auth/api-tokens/{created['id']}").status_code == 204
        assert script.get("/api/auth/me").status_code == 401
    assert ada.get("/api/auth/api-tokens").json() == []
    assert ada.delete(f"/api/auth/api-tokens/{created['id']}").status_code == 404


def test_the_api_token_routes_neither_list_nor_delete_login_tokens(world):
    ada = world.studio.api("ada")  # holds an access token
    with world.studio.sessions() as session:
        access_id = session.scalar(select(Token.id).where(
            Token.user_id == world.users["ada"], Token.kind == "access"))

    assert ada.get("/api/auth/api-tokens").json() == []
    assert ada.delete(f"/api/auth/api-tokens/{access_id}").status_code == 404
    assert ada.get("/api/auth/me").status_code == 200


def test_an_expired_api_token_is_refused(world):
    token = world.studio.api("ada").post("/api/auth/api-tokens",
                                         json={"name": "old"}).json()["token"]
    expire(world.studio, token)
    with bearer(world.studio, token) as script:
        response = script.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


# ---- failed-login throttling ------------------------------------------------------------

class FakeClock:
    def __init__(self, now: float = 10_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_after_three_failures_even_the_right_password_waits(world):
    clock = FakeClock()
    world.studio.app.state.studio.throttle = LoginThrottle(clock=clock)
    for _ in range(3):
        failed = token_for(world.studio, "ada", "guess-guess")
        assert failed.status_code == 401
        assert failed.json()["code"] == "invalid_credentials"
        clock.advance(0.01)

    held = token_for(world.studio, "ada")  # the right password
    assert held.status_code == 429
    assert held.headers["content-type"] == PROBLEM
    assert held.json()["code"] == "too_many_attempts"
    wait = int(held.headers["retry-after"])
    assert wait >= 1
    assert f"wait {wait} seconds" in held.json()["hint"]
    assert token_for(world.studio, "ADA").status_code == 429  # usernames ignore case

    # another username is not held back
    assert token_for(world.studio, "bob").status_code == 200
    assert token_for(world.studio, "bob", "guess-guess").status_code == 401

    clock.advance(0.5)  # the wait still runs
    assert token_for(world.studio, "ada").status_code == 429
    clock.advance(wait - 0.5)  # Retry-After is enough
    assert token_for(world.studio, "ada").status_code == 200
    # a success forgets the failures
    assert token_for(world.studio, "ada", "guess-guess").status_code == 401


def test_the_session_login_is_throttled_too(world):
    clock = FakeClock()
    world.studio.app.state.studio.throttle = LoginThrottle(clock=clock)
    url = f"{world.studio.url}/api/auth/login"
    for _ in range(3):
        assert httpx.post(url, json={"username": "vic", "password": "nope-nope"}
                          ).status_code == 401
    response = httpx.post(url, json={"username": "vic", "password": PASSWORD})
    assert response.status_code == 429
    assert "set-cookie" not in response.headers


def test_throttle_lets_three_attempts_through_then_doubles_the_delay_up_to_a_cap():
    throttle = LoginThrottle(clock=FakeClock())
    assert [throttle.delay(n) for n in range(13)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60]


def test_throttle_delay_runs_down_with_time(world):
    clock, sessions = FakeClock(), world.studio.sessions
    throttle = LoginThrottle(clock=clock)
    for wait in (0, 0, 0, 1):
        clock.advance(wait)
        assert throttle.reserve(sessions, "ada", "10.0.0.1") == 0
    assert throttle.reserve(sessions, "ada", "10.0.0.1") == 2

    clock.advance(1.5)
    assert throttle.reserve(sessions, "ada", "10.0.0.1") == pytest.approx(0.5)
    clock.advance(0.5)
    assert throttle.reserve(sessions, "ada", "10.0.0.1") == 0


def test_throttle_forgets_attempts_after_its_window_and_on_success(world):
    clock, sessions = FakeClock(), world.studio.sessions
    throttle = LoginThrottle(clock=clock)
    for wait in (0, 0, 0, 1, 2):
        clock.advance(wait)
        assert throttle.reserve(sessions, "Ada", "10.0.0.1") == 0
    assert throttle.reserve(sessions, "ada", "10.0.0.1") == 4

    clock.advance(throttle.forget_after_s + 1)
    assert throttle.reserve(sessions, "ada", "10.0.0.1") == 0  # counting starts again
    assert throttle.reserve(sessions, "ada", "10.0.0.1") == 0

    for _ in range(3):
        throttle.reserve(sessions, "bob", "10.0.0.1")
    throttle.succeeded(sessions, "BOB", "10.0.0.1")
    assert throttle.reserve(sessions, "bob", "10.0.0.1") == 0
    assert throttle.reserve(sessions, "bob", "10.0.0.1") == 0


# ---- password hashing -------------------------------------------------------------------

def test_passwords_are_hashed_with_argon2id_and_a_salt():
    first, second = hash_password("correct-horse-1"), hash_password("correct-horse-1")

    assert first.startswith("$argon2id$")
    assert first != second
    assert "correct-horse-1" not in first
    assert verify_password(first, "correct-horse-1")
    assert verify_password(second, "correct-horse-1")


@pytest.mark.parametrize("stored, given", [
    (hash_password("correct-horse-1"), "correct-horse-2"),
    (hash_password("correct-horse-1"), ""),
    ("not-an-argon2-hash", "correct-horse-1"),
    ("$argon2id$v=19$m=65536,t=3,p=4$garbage", "correct-horse-1"),
    ("", "utterly-dummy-password"),
    (None, "utterly-dummy-password"),
], ids=["wrong", "empty", "garbage-hash", "truncated-hash", "empty-hash", "no-user"])
def test_verify_password_says_no_without_raising(stored, given):
    assert verify_password(stored, given) is False

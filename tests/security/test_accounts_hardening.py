"""Row 12: accounts and the pages, hardened.

The review found: no password change, no way to disable a user or end all their sessions,
API tokens that never expire, `password` accepted as a password, no CSP or frame-ancestors
header, and the SQLite file readable by everyone (0644).
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.studio.conftest import PASSWORD, problem, running_studio
from utterly.studio.config import StudioConfig
from utterly.studio.models import User

UTTERLY = str(Path(sys.executable).with_name("utterly"))
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
COMMON = ["password", "Password123!", "qwertyuiop", "12345678", "iloveyou", "acmeacme1"]
NEW_PASSWORD = "violet-kettle-harbour-42"


def site_admin(world):
    with world.studio.sessions() as session, session.begin():
        session.add(User(username="sam", password_hash=session.get(
            User, world.users["ada"]).password_hash, is_site_admin=True))
    return world.studio.api("sam")


def login(world, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{world.studio.url}/api/auth/token",
                      json={"username": username, "password": password})


def token_works(world, token: str) -> bool:
    response = httpx.get(f"{world.studio.url}/api/auth/me",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


# ---- the password policy ----------------------------------------------------------------

@sqlite_only
def test_common_passwords_are_refused_everywhere(world, tmp_path):
    sam = site_admin(world)
    for password in COMMON:
        error = problem(sam.post("/api/users", json={"username": "carol",
                                                     "password": password}), 422)
        assert error["field"] == "password", error
        assert problem(sam.patch(f"/api/users/{world.users['vic']}",
                                 json={"password": password}), 422)["field"] == "password"
        assert problem(world.studio.api("bob").post("/api/auth/password", json={
            "current_password": PASSWORD, "new_password": password}), 422
        )["field"] == "new_password"
    # the username is no password either
    assert problem(sam.post("/api/users", json={"username": "carolinewest",
                                                "password": "carolinewest"}), 422)
    done = subprocess.run([UTTERLY, "users", "create", "root", "--password-stdin"],
                          input="password\n", capture_output=True, text=True, timeout=120,
                          env={**os.environ, "UTTERLY_DATA_DIR": str(tmp_path / "cli")})
    assert done.returncode != 0 and "password" in done.stderr.lower()
    assert sam.post("/api/users", json={"username": "carol",
                                        "password": NEW_PASSWORD}).status_code == 201


# ---- password change, reset, disable, revoke --------------------------------------------

def test_a_password_change_ends_every_other_session_and_token(world):
    bob = world.studio.api("bob")
    other_session = login(world, "bob").json()["access_token"]
    script = bob.post("/api/auth/api-tokens", json={"name": "ci"}).json()["token"]
    wrong = bob.post("/api/auth/password", json={"current_password": "not-it-at-all",
                                                 "new_password": NEW_PASSWORD})
    assert problem(wrong, 401)["code"] == "invalid_credentials"
    changed = bob.post("/api/auth/password", json={"current_password": PASSWORD,
                                                   "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text
    assert bob.get("/api/auth/me").status_code == 200  # the session that changed it stays
    assert not token_works(world, other_session) and not token_works(world, script)
    assert login(world, "bob").status_code == 401
    assert login(world, "bob", NEW_PASSWORD).status_code == 200


def test_a_site_admin_resets_disables_and_enables_an_account(world):
    sam = site_admin(world)
    vic_token = login(world, "vic").json()["access_token"]
    reset = sam.patch(f"/api/users/{world.users['vic']}", json={"password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    assert not token_works(world, vic_token)
    assert login(world, "vic", NEW_PASSWORD).status_code == 200

    bob_token = login(world, "bob").json()["access_token"]
    disabled = sam.patch(f"/api/users/{world.users['bob']}", json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert not token_works(world, bob_token)
    assert problem(login(world, "bob"), 401)["code"] == "invalid_credentials"
    assert sam.patch(f"/api/users/{world.users['bob']}",
                     json={"disabled": False}).status_code == 200
    assert login(world, "bob").status_code == 200
    # namespace admins cannot, and nobody locks themselves out
    assert problem(world.studio.api("ada").patch(f"/api/users/{world.users['vic']}",
                                                 json={"disabled": True}), 403)
    me = sam.get("/api/auth/me").json()["id"]
    assert problem(sam.patch(f"/api/users/{me}", json={"disabled": True}), 409)


def test_revoke_all_ends_every_session_and_token(world):
    ada = world.studio.api("ada")
    tokens = [login(world, "ada").json()["access_token"],
              ada.post("/api/auth/api-tokens", json={"name": "ci"}).json()["token"]]
    cookie = httpx.post(f"{world.studio.url}/api/auth/login",
                        json={"username": "ada", "password": PASSWORD}).cookies
    assert ada.post("/api/auth/revoke-all").status_code == 204
    assert ada.get("/api/auth/me").status_code == 401
    assert not any(token_works(world, t) for t in tokens)
    assert httpx.get(f"{world.studio.url}/api/auth/me", cookies=cookie).status_code == 401
    # and a site admin can do it for someone
    vic_token = login(world, "vic").json()["access_token"]
    assert site_admin(world).post(
        f"/api/users/{world.users['vic']}/revoke-all").status_code == 204
    assert not token_works(world, vic_token)


# ---- API tokens expire --------------------------------------------------------------------

@sqlite_only
def test_api_tokens_always_expire_within_the_maximum(world):
    ada = world.studio.api("ada")
    now = datetime.now(UTC)
    default = ada.post("/api/auth/api-tokens", json={"name": "default"}).json()
    expires = datetime.fromisoformat(default["expires_at"])
    assert timedelta(days=89) < expires - now < timedelta(days=91)
    short = ada.post("/api/auth/api-tokens", json={"name": "s", "expires_in_days": 7}).json()
    assert datetime.fromisoformat(short["expires_at"]) - now < timedelta(days=8)
    forever = ada.post("/api/auth/api-tokens", json={"name": "f", "expires_in_days": 3650})
    assert problem(forever, 422)["field"] == "expires_in_days"


# ---- headers ----------------------------------------------------------------------------

@sqlite_only
def test_every_response_carries_the_security_headers_and_no_page_has_inline_script(world):
    client = httpx.Client(base_url=world.studio.url)
    session = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert session.status_code == 200
    pages = ["/login", "/", f"/bots/{world.bot}/faqs", f"/bots/{world.bot}/faqs/"
             f"{world.faq_parcel}", f"/bots/{world.bot}/history", f"/bots/{world.bot}/nlu",
             f"/bots/{world.bot}/settings/sentence-generation",
             f"/bots/{world.bot}/settings/observability", "/api/docs"]
    for path in pages + ["/api/health", "/api/openapi.json", "/static/app.js",
                         "/api/bots/999999", "/nowhere"]:
        response = client.get(path)
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        if path in pages:
            assert response.status_code == 200, path
            for tag in re.findall(r"<script\b[^>]*>", response.text):
                assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
            assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", response.text), path
    client.close()


# ---- files --------------------------------------------------------------------------------

def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_the_key_are_readable_by_their_owner_only(tmp_path):
    data = tmp_path / "data"
    config = StudioConfig(data_dir=data)
    with running_studio(config) as st:
        with httpx.Client(base_url=st.url) as client:
            client.get("/api/health")
        files = [data / "utterly.db", data / "secret.key"] + [
            p for p in data.iterdir() if p.name.endswith(("-wal", "-shm"))]
        assert len(files) >= 3
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert mode(data) == 0o700
    # files from an older install, 0644, are tightened on the next start
    for p in (data / "utterly.db", data / "secret.key"):
        os.chmod(p, 0o644)
    with running_studio(config):
        assert mode(data / "utterly.db") == 0o600 and mode(data / "secret.key") == 0o600

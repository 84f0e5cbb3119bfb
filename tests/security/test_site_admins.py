"""Row 1: namespaces and accounts are created by site administrators only.

The attacks: a viewer POSTs /api/namespaces and becomes the admin of a namespace of their
own; from there, any user could create global accounts through the members endpoint and
probe which usernames exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.studio.conftest import PASSWORD, problem
from utterly.studio.demo import DEMO_PASSWORD, DEMO_USER, seed_demo
from utterly.studio.models import Namespace, User

UTTERLY = str(Path(sys.executable).with_name("utterly"))


def make_site_admin(world, name: str = "sam") -> None:
    with world.studio.sessions() as session, session.begin():
        session.add(User(username=name, password_hash=session.get(
            User, world.users["ada"]).password_hash, is_site_admin=True))


def namespaces(world) -> set[str]:
    with world.studio.sessions() as session:
        return {n.name for n in session.query(Namespace)}


def test_no_member_of_any_role_creates_a_namespace_or_an_account(world):
    for user in ("vic", "bob", "ada", "gus"):
        api = world.studio.api(user)
        assert problem(api.post("/api/namespaces", json={"name": f"mine-{user}"}),
                       403)["code"] == "forbidden"
        assert problem(api.post("/api/users", json={"username": f"new-{user}",
                                                    "password": "long-enough-pass-1"}),
                       403)["code"] == "forbidden"
        assert problem(api.get("/api/users"), 403)["code"] == "forbidden"
        assert api.get("/api/auth/me").json()["site_admin"] is False
    assert namespaces(world) == {"acme", "globex"}
    # the members endpoint no longer creates accounts…
    ada = world.studio.api("ada")
    members = f"/api/namespaces/{world.acme}/members"
    created = ada.post(members, json={"username": "mallory", "role": "viewer",
                                      "password": "long-enough-pass-1"})
    assert problem(created, 422)["field"] == "password"
    # …and adds existing users only
    assert problem(ada.post(members, json={"username": "mallory", "role": "viewer"}),
                   404)["field"] == "username"
    with world.studio.sessions() as session:
        assert session.query(User).filter_by(username="mallory").count() == 0


def test_a_site_admin_creates_namespaces_and_accounts_that_admins_then_add(world):
    make_site_admin(world)
    sam = world.studio.api("sam")
    assert sam.get("/api/auth/me").json()["site_admin"] is True
    created = sam.post("/api/namespaces", json={"name": "initech"})
    assert created.status_code == 201 and created.json()["role"] == "admin", created.text
    account = sam.post("/api/users", json={"username": "Carol", "password": "carol-pass-77x"})
    assert account.status_code == 201, account.text
    assert account.json()["username"] == "carol" and not account.json()["site_admin"]
    assert "carol" in {u["username"] for u in sam.get("/api/users").json()}
    added = world.studio.api("ada").post(f"/api/namespaces/{world.acme}/members",
                                         json={"username": "carol", "role": "viewer"})
    assert added.status_code == 201, added.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_makes_site_admins_and_the_demo_user_is_one(world, tmp_path):
    seed_demo(world.studio.sessions)
    demo = httpx.post(f"{world.studio.url}/api/auth/token",
                      json={"username": DEMO_USER, "password": DEMO_PASSWORD})
    token = demo.json()["access_token"]
    me = httpx.get(f"{world.studio.url}/api/auth/me",
                   headers={"Authorization": f"Bearer {token}"}).json()
    assert me["site_admin"] is True

    env = {**os.environ, "UTTERLY_DATA_DIR": str(tmp_path / "cli")}
    done = subprocess.run([UTTERLY, "users", "create", "root", "--admin", "--site-admin",
                           "--password-stdin"], input=PASSWORD + "\n", capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "site administrator" in done.stdout
    revoked = subprocess.run([UTTERLY, "users", "site-admin", "root", "--revoke"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert revoked.returncode == 0 and "no longer" in revoked.stdout, revoked.stderr

"""Namespaces and their members: who creates them, who may add, promote and remove whom,
and that a namespace always keeps an admin. Site administrators create namespaces and
accounts; namespace admins add existing accounts (tests/security has the attacks)."""

from __future__ import annotations

import httpx

from tests.studio.conftest import PASSWORD
from utterly.studio.models import User

NEW_PASSWORD = "carol-password-1"


def site_admin(world, name: str = "sam"):
    """A site administrator (in no namespace), logged in."""
    with world.studio.sessions() as session, session.begin():
        session.add(User(username=name, password_hash=session.get(
            User, world.users["ada"]).password_hash, is_site_admin=True))
    return world.studio.api(name)


def new_account(world, username: str = "carol", password: str = NEW_PASSWORD) -> None:
    response = site_admin(world).post("/api/users", json={"username": username,
                                                          "password": password})
    assert response.status_code == 201, response.text


def members(world, user: str = "ada", namespace: int | None = None) -> list[tuple[str, str]]:
    response = world.studio.api(user).get(f"/api/namespaces/{namespace or world.acme}/members")
    assert response.status_code == 200, response.text
    return [(m["username"], m["role"]) for m in response.json()]


def can_log_in(world, username: str, password: str) -> bool:
    response = httpx.post(f"{world.studio.url}/api/auth/token",
                          json={"username": username, "password": password})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def assert_problem(response: httpx.Response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    if field is not None:
        assert problem["field"] == field


# ---- namespaces -------------------------------------------------------------------------

def test_each_user_lists_their_own_namespaces_with_their_role(world):
    assert world.studio.api("vic").get("/api/namespaces").json() == [
        {"id": world.acme, "name": "acme", "role": "viewer"}]
    assert world.studio.api("gus").get("/api/namespaces").json() == [
        {"id": world.globex, "name": "globex", "role": "admin"}]


def test_the_creator_of_a_namespace_is_its_admin(world):
    sam = site_admin(world)

    created = sam.post("/api/namespaces", json={"name": "Initech"})

    assert created.status_code == 201
    assert created.json()["name"] == "initech" and created.json()["role"] == "admin"
    assert [(n["name"], n["role"]) for n in sam.get("/api/namespaces").json()] == [
        ("initech", "admin")]
    assert members(world, "sam", created.json()["id"]) == [("sam", "admin")]
    # nobody else is in it
    assert world.studio.api("ada").get(
        f"/api/namespaces/{created.json()['id']}/members").status_code == 404


def test_a_namespace_name_is_taken_once(world):
    sam = site_admin(world)
    for name in ("acme", "ACME", "globex"):  # names are lower-case
        response = sam.post("/api/namespaces", json={"name": name})
        assert_problem(response, 409, "namespace_exists", field="name")


def test_an_invalid_namespace_name_is_a_422_on_name(world):
    sam = site_admin(world)
    for name in ("a", "has space", "-dash-first", "x" * 65, "ünï"):
        response = sam.post("/api/namespaces", json={"name": name})
        assert_problem(response, 422, "invalid_input", field="name")
    assert sam.get("/api/namespaces").json() == []


# ---- members: listing and adding ----------------------------------------------------------

def test_any_member_lists_the_members_and_outsiders_get_404(world):
    expected = [("ada", "admin"), ("bob", "bot_user"), ("vic", "viewer")]
    for user in ("ada", "bob", "vic"):
        assert members(world, user) == expected

    response = world.studio.api("gus").get(f"/api/namespaces/{world.acme}/members")
    assert_problem(response, 404, "not_found")


def test_an_admin_adds_a_new_user_who_then_has_their_roles_rights(world):
    new_account(world)
    added = world.studio.api("ada").post(
        f"/api/namespaces/{world.acme}/members", json={"username": "Carol", "role": "viewer"})

    assert added.status_code == 201
    assert added.json()["username"] == "carol" and added.json()["role"] == "viewer"
    assert ("carol", "viewer") in members(world)
    carol = world.studio.api("carol", NEW_PASSWORD)
    faqs = carol.get(f"/api/bots/{world.bot}/faqs")
    assert faqs.status_code == 200
    assert {f["title"] for f in faqs.json()} == {"Mot de passe", "Colis"}
    assert_problem(carol.post(f"/api/bots/{world.bot}/faqs", json={"title": "Livraison"}),
                   403, "forbidden")
    assert carol.get(f"/api/bots/{world.other_bot}").status_code == 404


def test_adding_a_member_again_changes_their_role(world):
    response = world.studio.api("ada").post(f"/api/namespaces/{world.acme}/members",
                                            json={"username": "vic", "role": "bot_user"})

    assert response.status_code == 201
    assert members(world) == [("ada", "admin"), ("bob", "bot_user"), ("vic", "bot_user")]


def test_an_existing_user_is_added_without_a_password_and_keeps_their_own(world):
    added = world.studio.api("ada").post(f"/api/namespaces/{world.acme}/members",
                                         json={"username": "gus", "role": "bot_user"})

    assert added.status_code == 201
    gus = world.studio.api("gus")
    assert [(n["name"], n["role"]) for n in gus.get("/api/namespaces").json()] == [
        ("acme", "bot_user"), ("globex", "admin")]
    assert {b["id"] for b in gus.get("/api/bots").json()} == {world.bot, world.other_bot}
    created = gus.post(f"/api/bots/{world.bot}/faqs", json={"title": "Livraison"})
    assert created.status_code == 201
    assert_problem(gus.put(f"/api/bots/{world.bot}/settings/observability",
                           json={"enabled": False}), 403, "forbidden")


def test_adding_takes_existing_users_only_and_never_a_password(world):
    ada = world.studio.api("ada")
    url = f"/api/namespaces/{world.acme}/members"

    unknown = ada.post(url, json={"username": "dave", "role": "viewer"})
    assert_problem(unknown, 404, "not_found", field="username")
    with_password = ada.post(url, json={"username": "gus", "role": "viewer",
                                        "password": NEW_PASSWORD})
    assert_problem(with_password, 422, "invalid_input", field="password")
    assert can_log_in(world, "gus", PASSWORD) and not can_log_in(world, "gus", NEW_PASSWORD)
    assert members(world) == [("ada", "admin"), ("bob", "bot_user"), ("vic", "viewer")]


def test_a_site_admin_refuses_a_short_password(world):
    short = site_admin(world).post("/api/users", json={"username": "dave",
                                                       "password": "short"})
    assert_problem(short, 422, "invalid_input", field="password")
    assert not can_log_in(world, "dave", "short")


def test_an_invalid_username_or_role_is_a_422_on_that_field(world):
    ada = world.studio.api("ada")
    url = f"/api/namespaces/{world.acme}/members"
    assert_problem(ada.post(url, json={"username": "no spaces", "role": "viewer"}),
                   422, "invalid_input", field="username")
    assert_problem(ada.post(url, json={"username": "gus", "role": "owner"}),
                   422, "invalid_input", field="role")


def test_only_an_admin_adds_members(world):
    new_account(world)
    for user in ("bob", "vic"):
        response = world.studio.api(user).post(
            f"/api/namespaces/{world.acme}/members",
            json={"username": "carol", "role": "viewer"})
        assert_problem(response, 403, "forbidden")
    response = world.studio.api("gus").post(
        f"/api/namespaces/{world.acme}/members", json={"username": "gus", "role": "admin"})
    assert_problem(response, 404, "not_found")

    assert members(world) == [("ada", "admin"), ("bob", "bot_user"), ("vic", "viewer")]


# ---- members: roles and removal -----------------------------------------------------------

def test_an_admin_changes_a_role_and_the_rights_follow(world):
    ada, vic = world.studio.api("ada"), world.studio.api("vic")
    faqs = f"/api/bots/{world.bot}/faqs"
    assert_problem(vic.post(faqs, json={"title": "Livraison"}), 403, "forbidden")

    changed = ada.patch(f"/api/namespaces/{world.acme}/members/{world.users['vic']}",
                        json={"role": "bot_user"})

    assert changed.status_code == 200
    assert changed.json() == {"user_id": world.users["vic"], "username": "vic",
                              "role": "bot_user"}
    assert vic.post(faqs, json={"title": "Livraison"}).status_code == 201
    assert ("vic", "bot_user") in members(world)


def test_changing_or_removing_someone_outside_the_namespace_is_a_404(world):
    ada = world.studio.api("ada")
    url = f"/api/namespaces/{world.acme}/members/{world.users['gus']}"
    assert_problem(ada.patch(url, json={"role": "viewer"}), 404, "not_found")
    assert_problem(ada.delete(url), 404, "not_found")
    assert members(world, "gus", world.globex) == [("gus", "admin")]


def test_only_an_admin_changes_roles_or_removes_members(world):
    url = f"/api/namespaces/{world.acme}/members/{world.users['vic']}"
    for user in ("bob", "vic"):
        client = world.studio.api(user)
        assert_problem(client.patch(url, json={"role": "admin"}), 403, "forbidden")
        assert_problem(client.delete(url), 403, "forbidden")
    assert members(world) == [("ada", "admin"), ("bob", "bot_user"), ("vic", "viewer")]


def test_a_removed_member_loses_access_to_the_namespace(world):
    bob = world.studio.api("bob")
    assert bob.get(f"/api/bots/{world.bot}").status_code == 200

    removed = world.studio.api("ada").delete(
        f"/api/namespaces/{world.acme}/members/{world.users['bob']}")

    assert removed.status_code == 204
    assert members(world) == [("ada", "admin"), ("vic", "viewer")]
    assert_problem(bob.get(f"/api/bots/{world.bot}"), 404, "not_found")
    assert bob.get("/api/bots").json() == []
    assert bob.get("/api/namespaces").json() == []
    assert can_log_in(world, "bob", PASSWORD)  # the user remains, without the namespace


def test_the_last_admin_can_be_neither_demoted_nor_removed(world):
    ada = world.studio.api("ada")
    me = f"/api/namespaces/{world.acme}/members/{world.users['ada']}"

    readd = ada.post(f"/api/namespaces/{world.acme}/members",
                     json={"username": "ada", "role": "viewer"})
    for response in (ada.patch(me, json={"role": "bot_user"}), ada.delete(me), readd):
        assert_problem(response, 409, "last_admin")
        assert response.json()["hint"]
    assert members(world) == [("ada", "admin"), ("bob", "bot_user"), ("vic", "viewer")]

    assert ada.patch(me, json={"role": "admin"}).status_code == 200  # staying admin is fine
    assert ada.patch(f"/api/namespaces/{world.acme}/members/{world.users['vic']}",
                     json={"role": "admin"}).status_code == 200
    assert ada.patch(me, json={"role": "viewer"}).status_code == 200
    # vic is now the only admin, and is held to the same rule
    vic = world.studio.api("vic")
    vic_url = f"/api/namespaces/{world.acme}/members/{world.users['vic']}"
    assert_problem(vic.delete(vic_url), 409, "last_admin")
    assert vic.delete(me).status_code == 204
    assert members(world, "vic") == [("bob", "bot_user"), ("vic", "admin")]

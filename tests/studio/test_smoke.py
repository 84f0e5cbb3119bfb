"""The fixtures themselves: both backends up, the world visible to its users only."""


def test_world_is_visible_to_its_members_only(world):
    ada = world.studio.api("ada")
    assert [b["name"] for b in ada.get("/api/bots").json()] == ["Acme bot"]
    gus = world.studio.api("gus")
    assert [b["name"] for b in gus.get("/api/bots").json()] == ["Globex bot"]
    assert gus.get(f"/api/bots/{world.bot}").status_code == 404

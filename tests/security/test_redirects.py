"""Row 8: `next` takes same-origin paths only. The attack: /login?next=/%5Cevil.example
sent the user, once logged in, to evil.example (browsers read `\\` as `/`)."""

from __future__ import annotations

import re

import pytest

from utterly.studio.web.routes import safe_next

OFF_SITE = ["/\\evil.example", "/\\/evil.example", "//evil.example", "https://evil.example",
            "/\t/evil.example", "/\n/evil.example", " /evil", "evil.example",
            "javascript:alert(1)", "/%5Cevil.example".replace("%5C", "\\"), "\\\\evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_targets_become_the_home_page(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/bots/3/faqs", "/bots/3/faqs?q=colis", "/bots/%2F%2F"])
def test_paths_on_the_site_are_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_login_page_and_the_language_switch_never_send_off_site(studio):
    with studio.anonymous() as client:
        for query in ("/%5Cevil.example", "//evil.example", "/%09/evil.example",
                      "https://evil.example"):
            page = client.get(f"/login?next={query}")
            assert page.status_code == 200
            assert re.search(r'data-next="/"', page.text), page.text
            switched = client.get(f"/lang/fr?next={query}", follow_redirects=False)
            assert switched.status_code == 303 and switched.headers["location"] == "/"
        kept = client.get("/login?next=/bots/1/faqs")
        assert 'data-next="/bots/1/faqs"' in kept.text

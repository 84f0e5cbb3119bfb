"""Every error the API can answer with, caused through the real HTTP API in French
(tests/problem_walk.py): each comes with a French title, and a French page words it from
its code, and an invalid input from its reason and params, with no English left."""

from __future__ import annotations

import pytest

from tests.problem_walk import (
    ENGLISH,
    PLACEHOLDER,
    UNTRANSLATED,
    UNTRIGGERED,
    french_text,
    studio_codes,
    walk,
)
from utterly.studio.models import User
from utterly.studio.web.i18n import MESSAGES

from .conftest import PASSWORD


@pytest.fixture
def database_url(tmp_path) -> str:
    # How a problem is worded does not depend on the database: SQLite only.
    return f"sqlite:///{tmp_path / 'utterly.db'}"


@pytest.fixture
def walked(world):
    with world.studio.sessions() as session, session.begin():
        session.get(User, world.users["ada"]).is_site_admin = True  # users and namespaces
    return walk(world.studio.url, world.studio.api, PASSWORD)


def test_every_problem_code_is_caused_or_said_where_it_is_tested(walked):
    seen = {w.problem["code"] for w in walked}
    assert seen & set(UNTRIGGERED) == set(), "caused here: drop it from UNTRIGGERED"
    assert studio_codes() - UNTRANSLATED - set(UNTRIGGERED) - seen == set()
    # the invalid inputs of the issue, each by its reason
    reasons = {w.problem.get("reason") for w in walked}
    assert {"empty", "greater_than_equal", "url_spaces", "template_undefined",
            "template_unexpected", "template_unclosed", "unknown_local_model"} <= reasons


def test_each_problem_reads_as_french_on_a_page(walked):
    wrong = []
    for w in walked:
        p = w.problem
        shown = french_text(p)
        why = []
        if w.language != "fr":
            why.append(f"title {p['title']!r} not in French")
        if p["code"] == "invalid_input" and f"invalid.{p.get('reason')}" not in MESSAGES["fr"]:
            why.append(f"no translation of the reason {p.get('reason')!r}")
        if p.get("field") and p.get("reason") != "extra_forbidden" and p["field"].split(".")[0] \
                not in {k.removeprefix("field.") for k in MESSAGES["fr"] if k.startswith("field.")}:
            why.append(f"no label for the field {p['field']!r}")
        if ENGLISH.search(shown):
            why.append(f"English word {ENGLISH.search(shown).group(0)!r}")
        if PLACEHOLDER.search(shown):
            why.append("a value left out")
        if why:
            wrong.append((w.what, shown, why))
    assert wrong == []

"""The Studio's page scripts (src/utterly/studio/web/static): each small enough to read, each
loaded by the templates of the pages that use it, and the scripts of one page declaring
no name twice (they share the page's global scope: a second `const` of a name stops the
page's later script)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent.parent / "src" / "utterly" / "studio" / "web"
STATIC, TEMPLATES = WEB / "static", WEB / "templates"
MAX_LINES = 700
SCRIPT = re.compile(r'<script src="/static/([\w-]+\.js)"')
TOP_LEVEL = re.compile(r"^(?:async function|function|const|let|class) ([\w$]+)", re.MULTILINE)


def scripts_of(template: str) -> list[str]:
    return SCRIPT.findall((TEMPLATES / template).read_text(encoding="utf-8"))


PAGES = sorted(p.name for p in TEMPLATES.glob("*.html")
               if not p.name.startswith("_") and p.name != "base.html")


@pytest.mark.parametrize("path", sorted(STATIC.glob("*.js")), ids=lambda p: p.name)
def test_no_script_is_over_700_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_every_script_is_loaded_by_a_page_and_every_page_s_script_exists():
    loaded = {name for page in PAGES + ["base.html"] for name in scripts_of(page)}
    api_docs = (WEB.parent / "app.py").read_text(encoding="utf-8")  # the Swagger UI page
    loaded |= set(SCRIPT.findall(api_docs))
    assert loaded == {p.name for p in STATIC.glob("*.js")}


@pytest.mark.parametrize("page", PAGES)
def test_the_scripts_of_a_page_declare_each_name_once(page):
    names = []
    for script in scripts_of("base.html") + scripts_of(page):
        names += TOP_LEVEL.findall((STATIC / script).read_text(encoding="utf-8"))
    assert len(names) > 10  # the checker reads the declarations
    assert sorted({n for n in names if names.count(n) > 1}) == []

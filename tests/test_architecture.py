"""The floors of the house (docs/architecture.md), read from the source's import statements:
the core knows nothing of the web, the database or the command line; the Studio's services
know nothing of HTTP; nothing below the shells imports a shell."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
WEB = {"fastapi", "starlette", "uvicorn", "sse_starlette"}
DATABASE = {"sqlalchemy", "alembic"}
COMMAND_LINE = {"click", "rich"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, name: str, is_package: bool = False) -> set[str]:
    """Every module the code of module `name` imports (relative imports resolved), at any
    depth: the Studio's commands import inside functions."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
                # `from . import x`: x may be a module of that package
                found |= {f"{module}.{alias.name}" for alias in node.names} | {module}
            else:
                found.add(node.module)
    return found


MODULES = {module_name(p): imports_of(p.read_text(encoding="utf-8"), module_name(p),
                                     p.name == "__init__.py")
           for p in sorted(SRC.rglob("*.py"))}


def offences(modules, forbidden_top_level: set[str], forbidden_prefixes: tuple[str, ...]):
    return sorted((m, i) for m in modules for i in MODULES[m]
                  if i.split(".")[0] in forbidden_top_level or i.startswith(forbidden_prefixes))


def test_the_modules_were_found():
    assert {"utterly.pipeline", "utterly.studio.services.generation",
            "utterly.studio.api.generation"} <= set(MODULES)


def test_the_core_imports_no_web_database_command_line_or_studio_code():
    core = [m for m in MODULES
            if not m.startswith(("utterly.studio", "utterly.cli", "utterly.tock_bridge"))]
    assert len(core) > 30 and "utterly.tock.translate" in core
    assert offences(core, WEB | DATABASE | COMMAND_LINE,
                    ("utterly.studio", "utterly.cli", "utterly.tock_bridge")) == []


def test_the_studio_services_know_nothing_of_http_or_the_command_line():
    services = [m for m in MODULES if m.startswith("utterly.studio.services")]
    assert offences(services, WEB | COMMAND_LINE,
                    ("utterly.studio.api", "utterly.studio.web", "utterly.studio.cli")) == []


def test_only_the_bridge_s_studio_link_reaches_into_the_studio():
    """The Tock bridge is a shell of its own: its Studio bot link is the one module that
    uses the Studio's services; the rest runs without a database."""
    bridge = [m for m in MODULES if m.startswith("utterly.tock_bridge")
              and m != "utterly.tock_bridge.studio_link"]
    assert "utterly.tock_bridge.app" in bridge
    assert offences(bridge, DATABASE, ("utterly.studio",)) == []


@pytest.mark.parametrize("shell", ["utterly.studio.api", "utterly.studio.web"])
def test_the_web_shells_do_not_reach_into_the_command_line(shell):
    modules = [m for m in MODULES if m.startswith(shell)]
    assert offences(modules, COMMAND_LINE, ("utterly.studio.cli", "utterly.cli")) == []


def test_the_checker_sees_forbidden_imports_however_written():
    """The rules above can fail: relative, nested and aliased imports are all seen."""
    source = ("from ..studio import models\n"
              "def f():\n    import sqlalchemy.orm as orm\n    from fastapi import Request\n")
    found = imports_of(source, "utterly.providers.probe")
    assert {"utterly.studio", "utterly.studio.models", "sqlalchemy.orm", "fastapi"} <= found
    MODULES["utterly.providers.probe"] = found
    try:
        assert offences(["utterly.providers.probe"], WEB | DATABASE, ("utterly.studio",)) == [
            ("utterly.providers.probe", "fastapi"), ("utterly.providers.probe", "sqlalchemy.orm"),
            ("utterly.providers.probe", "utterly.studio"),
            ("utterly.providers.probe", "utterly.studio.models")]
    finally:
        del MODULES["utterly.providers.probe"]

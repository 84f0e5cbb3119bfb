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


def _module_of(imported: str) -> str | None:
    """Our module an imported name lands in: its longest prefix that is one."""
    parts = imported.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in MODULES:
            return ".".join(parts[:end])
    return None


def import_cycles() -> list[list[str]]:
    """Groups of modules that import each other, directly or round a loop, at any depth
    (an import inside a function counts: it hides the loop, it does not remove it)."""
    graph = {m: {t for i in imports if (t := _module_of(i)) and t != m}
             for m, imports in MODULES.items()}
    order, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return cycles


def test_no_module_imports_itself_round_a_loop():
    assert import_cycles() == []


def test_the_cycle_check_sees_a_loop():
    """The check above can fail: two modules importing each other are one cycle."""
    MODULES["utterly.loop_a"], MODULES["utterly.loop_b"] = {"utterly.loop_b"}, {"utterly.loop_a"}
    try:
        assert import_cycles() == [["utterly.loop_a", "utterly.loop_b"]]
    finally:
        del MODULES["utterly.loop_a"], MODULES["utterly.loop_b"]


def test_the_studio_base_imports_no_web_code():
    """The Studio's base floor (models, access, errors, problems' neighbours…) is read by
    the services and the shells: it reaches neither the routes nor the pages."""
    base = [m for m in MODULES if m.startswith("utterly.studio.") and m.count(".") == 2
            and m.split(".")[2] not in {"app", "cli", "cli_common", "cli_nlu", "cli_transfer",
                                        "api", "web", "services", "migrations"}]
    assert "utterly.studio.body_limit" in base and "utterly.studio.models" in base
    assert offences(base, set(), ("utterly.studio.api", "utterly.studio.web",
                                  "utterly.studio.app")) == []

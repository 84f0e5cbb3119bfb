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


def offences(modules, forbidden_top_level: set[str], forbidden_packages: tuple[str, ...]):
    """(module, import) for each import of a forbidden library or of a forbidden module or
    package of ours (`utterly.studio.cli` forbids it and its modules, not `….client`)."""
    return sorted((m, i) for m in modules for i in MODULES[m]
                  if i.split(".")[0] in forbidden_top_level
                  or any(i == p or i.startswith(p + ".") for p in forbidden_packages))


def test_the_modules_were_found():
    assert {"utterly.pipeline", "utterly.studio.services.generation",
            "utterly.studio.api.generation", "utterly.studio.api.problems",
            "utterly.studio.cli.nlu"} <= set(MODULES)


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


# The Studio's rooms above its base: the application, the REST API (with every HTTP concern:
# problems, body limits, headers), the pages and the commands.
STUDIO_SHELLS = ("utterly.studio.app", "utterly.studio.api", "utterly.studio.web",
                 "utterly.studio.cli")


def test_the_studio_base_imports_no_web_code():
    """The Studio's base (models, access, errors, the services…: every module of the Studio
    outside its shells) is read by the shells: it reaches neither the application, the
    routes, the pages nor the commands, nor any web framework."""
    base = [m for m in MODULES if m.startswith("utterly.studio.")
            and not any(m == s or m.startswith(s + ".") for s in STUDIO_SHELLS)]
    assert {"utterly.studio.errors", "utterly.studio.models",
            "utterly.studio.services.generation"} <= set(base)
    assert not any(m.startswith(("utterly.studio.api", "utterly.studio.cli")) for m in base)
    assert offences(base, WEB, STUDIO_SHELLS) == []

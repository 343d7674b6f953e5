"""How the Discord front is put together, read from the source: every module imports on its own,
bot/ and cogs/ import each other without a loop, and only the UI bases reach the error reply.

The bot's type is needed by cogs and components for hints only: those imports sit under
`if TYPE_CHECKING:`, which is why the graph below leaves them out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FRONT = ("bot", "cogs")
ERROR_PATH = {"bot/tree.py", "bot/ui.py"}  # the tree's error path and the bases that use it
UI_BASES = {"View", "Modal", "DynamicItem"}


def modules() -> dict[str, Path]:
    found = {}
    for package in FRONT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def runtime_imports(path: Path) -> Iterator[str]:
    """Modules imported when `path` runs (not those imported only for type checking)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    ours = modules()
    return {
        name: {m for m in runtime_imports(path) if m in ours} - {name}
        for name, path in ours.items()
    }


def cycle_in(edges: dict[str, set[str]]) -> list[str]:
    """One import loop, as the chain of modules around it; [] when there is none."""
    done: set[str] = set()

    def visit(name: str, chain: list[str]) -> list[str]:
        if name in chain:
            return [*chain[chain.index(name) :], name]
        if name in done:
            return []
        for target in sorted(edges[name]):
            found = visit(target, [*chain, name])
            if found:
                return found
        done.add(name)
        return []

    for name in sorted(edges):
        found = visit(name, [])
        if found:
            return found
    return []


def test_bot_and_cogs_import_each_other_without_a_loop() -> None:
    assert cycle_in(graph()) == []


def test_the_loop_check_sees_a_loop() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_module_imports_on_its_own() -> None:
    """Each module imported first, with none of bot/ and cogs/ loaded before it (in a child
    interpreter, so this test's own imports don't count): an order that only works one way fails."""
    script = f"""
import importlib, sys
for name in {sorted(modules())!r}:
    for loaded in [m for m in sys.modules if m.split(".")[0] in {FRONT!r}]:
        del sys.modules[loaded]
    importlib.import_module(name)
"""
    completed = subprocess.run(  # noqa: S603 - this interpreter, running the script above
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


def test_only_the_ui_bases_wire_the_error_reply() -> None:
    wired = [
        str(path.relative_to(ROOT))
        for path in modules().values()
        if "reply_with_error" in path.read_text(encoding="utf-8")
        and str(path.relative_to(ROOT)) not in ERROR_PATH
    ]
    assert wired == []


def test_views_modals_and_persistent_buttons_are_built_on_the_bases() -> None:
    """A class built on discord.ui.View, Modal or DynamicItem directly would miss the error path."""
    direct = [
        f"{path.relative_to(ROOT)}: {node.name}"
        for path in modules().values()
        if str(path.relative_to(ROOT)) != "bot/ui.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(_discord_ui_name(base) in UI_BASES for base in node.bases)
    ]
    assert direct == []


def _discord_ui_name(base: ast.expr) -> str:
    """`View` for `discord.ui.View` or `discord.ui.DynamicItem[...]`; '' for anything else."""
    if isinstance(base, ast.Subscript):
        base = base.value
    text = ast.unparse(base)
    return text.removeprefix("discord.ui.") if text.startswith("discord.ui.") else ""

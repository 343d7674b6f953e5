"""The layer contracts, read from the source: who may import whom.

cogs → bot, core; bot → core; web → core; core → nothing of ours (and neither discord nor
aiohttp.web); golive/ (the process entry and composition root) may import everything. Inside
core, a capability package imports another only through its public module (`core.<package>`);
the kernel's modules (`core.kernel.*`) are each public.

Written as an AST walk rather than with import-linter because import-linter sees only the top
package of a third-party import (`aiohttp`), and the rule here is about `aiohttp.web`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("core", "bot", "cogs", "web", "golive")

# What each top-level package may not import (prefixes of dotted module names).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("discord", "aiohttp.web", "bot", "cogs", "web", "golive"),
    "web": ("discord", "bot", "cogs", "golive"),
    "bot": ("web", "cogs", "golive", "aiohttp.web"),
    "cogs": ("web", "golive", "aiohttp.web"),
}


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every import in a file; `from a import b` yields `a.b` as well."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def source_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_every_package_is_covered() -> None:
    assert all((ROOT / package / "__init__.py").exists() for package in OURS)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_fronts_and_core_keep_to_their_layer(package: str) -> None:
    broken = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in source_files(package)
        for line, name in imports_of(path)
        if any(under(name, banned) for banned in FORBIDDEN[package])
    ]
    assert broken == []


def capability_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "core" and len(parts) > 2 else None


def reaches_inside(name: str, own: str | None) -> bool:
    """True when `name` is a module inside another capability package (not its public module)."""
    parts = name.split(".")
    if len(parts) < 3 or parts[0] != "core" or parts[1] in ("kernel", own):
        return False
    module = ROOT.joinpath(*parts[:3])
    return module.with_suffix(".py").exists() or module.is_dir()


@pytest.mark.parametrize("package", OURS)
def test_capabilities_are_imported_through_their_public_module(package: str) -> None:
    broken = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in source_files(package)
        for line, name in imports_of(path)
        if reaches_inside(name, capability_of(path))
    ]
    assert broken == []


def test_the_contract_catches_a_breach(tmp_path: Path) -> None:
    """The checks above would see a violation (so a green run means something)."""
    sample = tmp_path / "sample.py"
    sample.write_text("from aiohttp import web\nfrom core.money.ledger import Ledger\n")
    names = [name for _, name in imports_of(sample)]
    assert any(under(name, "aiohttp.web") for name in names)
    assert any(reaches_inside(name, own="chat") for name in names)
    assert not any(reaches_inside(name, own="money") for name in names)

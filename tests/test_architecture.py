"""The layout is the architecture (docs/ARCHITECTURE.md): each package of src/ledger imports only
the packages below it, read off the code's own import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ledger"

# Bottom first; a package may import itself and those before it, and the shared modules.
LAYERS = ("core", "tlog", "store", "chain", "projections", "reporting", "app", "cli")
SHARED = {"errors", "resources", "files"}
# What may be imported from each, beyond the layers below it: core and tlog are pure (no
# file writing); the shared modules import nothing of the project.
PURE = {"core", "tlog"}
# Layers that talk to one layer only: the CLI parses, calls the application, prints.
ONLY = {"cli": {"app"}}


def _package(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0]


def _imports(path: Path) -> set[str]:
    """The top-level packages or modules of ``ledger`` that ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module.split(".")
            if module[0] != "ledger":
                continue
            if len(module) > 1:
                found.add(module[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module = alias.name.split(".")
                if module[0] == "ledger" and len(module) > 1:
                    found.add(module[1])
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__main__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path: Path) -> None:
    here = _package(path)
    if here == "__init__":
        return  # the package's face names what it hands on, lazily
    imported = _imports(path) - {here}
    if here in SHARED:
        assert imported <= SHARED, f"{path.name} imports {sorted(imported - SHARED)}"
        return
    below = ONLY.get(here) or set(LAYERS[: LAYERS.index(here)])
    allowed = below | SHARED
    if here in PURE:
        allowed -= {"files"}
    wrong = imported - allowed
    assert not wrong, f"{path.relative_to(SRC)} ({here}) imports {sorted(wrong)}: not below it"


def test_every_module_is_in_a_layer() -> None:
    for path in MODULES:
        here = _package(path)
        assert here in (*LAYERS, *SHARED, "__init__"), f"{path.relative_to(SRC)}: no layer"

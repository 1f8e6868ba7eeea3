"""The layers run one way: bot/ (the edge) uses handlers/ (the logic), which uses storage/.

Walks the imports of every module, so a handler that reaches back into bot/, or a repository that
reaches into handlers/, fails here rather than in the next refactoring.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"handlers": {"bot"}, "storage": {"bot", "handlers"}}


def _imports(path: Path) -> set[str]:
    """The top-level packages a module imports, wherever in it the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_the_layers_above(layer: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[layer])
        for path in sorted((ROOT / layer).rglob("*.py"))
        if _imports(path) & FORBIDDEN[layer]
    }
    assert wrong == {}


def test_the_walk_finds_imports_inside_functions_too(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot import app\n    import handlers.report\n")
    assert _imports(module) == {"bot", "handlers"}

"""The layers run one way: bot/ (the edge) uses handlers/ (the logic), which uses storage/.

Walks the imports of every module, so a handler that reaches back into bot/, or a repository that
reaches into handlers/, fails here rather than in the next refactoring. And no name in handlers/
mentions a chat platform: the logic looks things up by transport, so a new platform is an adapter
and its config section, not an edit to the handlers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"handlers": {"bot"}, "storage": {"bot", "handlers"}}
PLATFORM_WORDS = re.compile("slack|telegram|teams", re.IGNORECASE)


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


def _names(path: Path, root: Path) -> set[str]:
    """Every identifier a module defines or uses, its own name and its packages' included:
    classes, functions, arguments, variables, attributes, enum members, keyword arguments and
    imported names. Strings, comments and docstrings are not names."""
    found = set(path.relative_to(root).with_suffix("").parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
        elif isinstance(node, ast.alias):
            found.update(part for part in (*node.name.split("."), node.asname) if part)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(node.module.split("."))
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.update(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            found.add(node.name)
    return found


def _platform_names(root: Path) -> dict[str, list[str]]:
    """The names mentioning a chat platform, by module, for the modules that have any."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        names = sorted(n for n in _names(path, root) if PLATFORM_WORDS.search(n))
        if names:
            found[str(path.relative_to(root))] = names
    return found


def test_no_name_in_handlers_mentions_a_chat_platform() -> None:
    assert _platform_names(ROOT / "handlers") == {}


def test_the_name_walk_finds_platform_names_of_every_kind(tmp_path: Path) -> None:
    kinds = {
        "SlackThing": "class SlackThing:\n    pass\n",
        "telegram_id": "def f(telegram_id):\n    pass\n",
        "SLACK": "import enum\nclass T(enum.Enum):\n    SLACK = 'x'\n",
        "slack_leads": "def f(school):\n    return school.slack_leads\n",
        "telegram": "f(telegram=1)\n",
        "TelegramConfig": "from handlers.settings import TelegramConfig\n",
        "on_slack": "async def on_slack():\n    pass\n",
        "_SLACK_LINK": "_SLACK_LINK = 1\n",
    }
    for name, source in kinds.items():
        (tmp_path / "m.py").write_text(source)
        assert _platform_names(tmp_path) == {"m.py": [name]}, name
    (tmp_path / "m.py").write_text('"""Slack and Telegram."""\n# slack\nx = "telegram"\n')
    assert _platform_names(tmp_path) == {}
    (tmp_path / "slack_bits.py").write_text("x = 1\n")
    assert _platform_names(tmp_path) == {"slack_bits.py": ["slack_bits"]}

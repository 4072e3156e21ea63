"""Imports point down only: ``app`` → ``fleet`` → ``telemetry`` → ``diagnostics``.

Walks every module of the three lower packages with :mod:`ast` (imports inside functions count
too, and relative imports are resolved), so a new upward import fails here, not in a review.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["diagnostics", "telemetry", "fleet", "app"]  # bottom to top


def imported_packages(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in ``path``, relative ones resolved."""
    module_parts = list(path.relative_to(root).with_suffix("").parts)
    if module_parts[-1] == "__init__":
        module_parts.pop()
    package_parts = module_parts if path.name == "__init__.py" else module_parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)]
                found.append((node.lineno, (base + (node.module or "").split("."))[0]))
            elif node.module:
                found.append((node.lineno, node.module.split(".")[0]))
    return sorted(found)


def upward_imports(package: str, root: Path = ROOT) -> list[str]:
    allowed_above = set(LAYERS[LAYERS.index(package) + 1:])
    return [f"{path.relative_to(root)}:{line} imports {target}"
            for path in sorted((root / package).rglob("*.py"))
            for line, target in imported_packages(path, root) if target in allowed_above]


@pytest.mark.parametrize("package", LAYERS[:-1])
def test_no_module_imports_a_layer_above_its_own(package):
    assert upward_imports(package) == []


def test_the_walk_sees_an_upward_import(tmp_path):
    """The guard itself: a relative import that climbs out of ``telemetry`` into ``fleet``, and a
    function-level absolute one, are both reported."""
    package = tmp_path / "telemetry" / "simulator"
    package.mkdir(parents=True)
    (tmp_path / "telemetry" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "bad.py").write_text("def f():\n    from app.server import x\nfrom ...fleet import db\n")
    assert upward_imports("telemetry", tmp_path) == ["telemetry/simulator/bad.py:2 imports app",
                                           "telemetry/simulator/bad.py:3 imports fleet"]

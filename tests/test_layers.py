"""The packages stay in layers: ``math_extract`` and ``curation`` import nothing else of the project, ``climb``
only ``curation``, and ``pipelines`` wires them all (ARCHITECTURE.md, "Layers").

Every import is read from the source with ``ast``, the ones inside functions included, since a lazy import
is where a cycle hides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGES = ("curation", "math_extract", "climb", "pipelines")
ALLOWED = {
    "math_extract": set(),
    "curation": set(),
    "climb": {"curation"},
    "pipelines": {"curation", "math_extract", "climb"},
}


def project_imports(source: str, module: str) -> set[str]:
    """The project packages that ``module`` (dotted name) imports anywhere in ``source``."""
    package_parts = module.split(".")[:-1]  # a module's package; for ``pkg.__init__`` the package itself
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's own package
                base = package_parts[: len(package_parts) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in PACKAGES)
    return found


def modules() -> list[tuple[str, Path]]:
    return [
        (".".join(p.relative_to(REPO).with_suffix("").parts), p)
        for package in PACKAGES
        for p in sorted((REPO / package).rglob("*.py"))
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_a_package_above_its_layer(package):
    wrong = {}
    for module, path in modules():
        if module.split(".")[0] != package:
            continue
        others = project_imports(path.read_text(encoding="utf-8"), module) - {package}
        if others - ALLOWED[package]:
            wrong[module] = sorted(others - ALLOWED[package])
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package]) or 'nothing else'}: {wrong}"


def test_the_check_sees_lazy_and_relative_imports():
    lazy = "def f():\n    from climb.search import SearchStage\n    return SearchStage\n"
    assert project_imports(lazy, "curation.stage") == {"climb"}
    assert project_imports("from ..search import SearchStage\n", "climb.sub.x") == {"climb"}
    assert project_imports("from .. import embed\n", "curation.llm.runner") == {"curation"}
    assert project_imports("from . import tex\nimport numpy\n", "math_extract.score") == {"math_extract"}

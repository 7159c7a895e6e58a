"""The one-way layers of docs/decisions.md ("Layers"): pages, Open311 and the services never
reach into the API package, shared HTTP pieces live in ``coord.http``, and the domain stays
pure Python. Read from the import statements of the source files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

COORD = Path(__file__).resolve().parent.parent / "coord"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(COORD.parent)} imports {module}"
        for path in (COORD / package).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith(forbidden)
    )


@pytest.mark.parametrize("package", ["web", "open311", "services", "http", "domain", "models"])
def test_nothing_but_the_app_factory_imports_the_api(package: str) -> None:
    assert offenders(package, ("coord.api",)) == []


def test_the_domain_is_pure_python() -> None:
    assert offenders("domain", ("flask", "sqlalchemy", "coord.models", "coord.services")) == []


def test_services_know_nothing_of_pages() -> None:
    assert offenders("services", ("coord.web", "coord.open311", "flask_wtf")) == []

"""docs/permissions.md is the one table of who may do what: its route index must name every
route of the application with its methods, and nothing that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
ROW = re.compile(r"^\| `(?P<endpoint>[^`]+)` \| (?P<methods>[A-Z, ]+) \|")


def documented_routes() -> dict[str, set[str]]:
    text = DOC.read_text(encoding="utf-8")
    index = text.split("## Route index", 1)[1]
    routes: dict[str, set[str]] = {}
    for line in index.splitlines():
        match = ROW.match(line)
        if match:
            methods = {m.strip() for m in match["methods"].split(",")}
            routes.setdefault(match["endpoint"], set()).update(methods)
    return routes


def application_routes(app: Flask) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        routes.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_every_route_is_in_the_permissions_table(app: Flask) -> None:
    documented = documented_routes()
    actual = application_routes(app)
    missing = {
        f"{endpoint} {method}"
        for endpoint, methods in actual.items()
        for method in methods - documented.get(endpoint, set())
    }
    assert not missing, f"routes missing from docs/permissions.md: {sorted(missing)}"
    stale = {
        f"{endpoint} {method}"
        for endpoint, methods in documented.items()
        for method in methods - actual.get(endpoint, set())
    }
    assert not stale, f"docs/permissions.md names routes that do not exist: {sorted(stale)}"

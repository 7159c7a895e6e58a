"""The API's per-process configuration cache (coord/services/config_cache.py) never answers
with configuration older than what was committed when the request authenticated, also when
another process made the change; and a new case whose random tracking code collides is
recorded with another code instead of failing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from sqlalchemy import func, select

from coord.extensions import db
from coord.models import Case
from coord.services import case_intake
from tests.factories import World

API = "/api/v1"


def case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Jalan berlubang",
        "description": "Lubang besar di depan sekolah",
        "category": "jalan-rusak",
        "priority": "high",
        "channel": "walk_in",
        "location": {"region_code": "12.71.01.1001"},
    }
    body.update(overrides)
    return body


def in_another_process(database_url: str, code: str) -> None:
    """Run ``code`` in a fresh Python process with the app on the same database, in one unit
    of work, with ``admin`` (the city office's admin, who publishes city-wide standards) and ``staff`` (kel-a1's staff) loaded."""
    script = textwrap.dedent(
        f"""
        from coord import create_app
        from coord.clock import now_utc
        from coord.extensions import db
        from coord.models import Category, User
        from coord.services import configuration
        from coord.services.uow import unit_of_work
        from sqlalchemy import select

        app = create_app({{"SQLALCHEMY_DATABASE_URI": {database_url!r}}}, env="testing")
        with app.app_context():
            admin, staff = (
                db.session.execute(select(User).where(User.username == name)).scalar_one()
                for name in ("pemkot.admin", "kel-a1.staff")
            )
            with unit_of_work():
        """
    ) + textwrap.indent(textwrap.dedent(code), " " * 8)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_a_policy_published_by_another_process_applies_to_the_next_case(
    client: Any, world: World, database_url: str
) -> None:
    headers = world.headers("kel-a1", "staff")
    first = client.post(f"{API}/cases", headers=headers, json=case_body())
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["sla"]["policy_version"] == 1  # now cached in this process

    in_another_process(
        database_url,
        """
        configuration.publish_policy(
            admin,
            "jalan-rusak",
            {"priority": "high", "response_minutes": 30, "resolution_minutes": 600,
             "handoff_ack_minutes": 60},
            now_utc(),
        )
        """,
    )

    second = client.post(f"{API}/cases", headers=headers, json=case_body())
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["sla"]["policy_version"] == 2
    # A priority whose policy did not change keeps version 1.
    third = client.post(f"{API}/cases", headers=headers, json=case_body(priority="low"))
    assert third.get_json()["sla"]["policy_version"] == 1


def test_a_category_closed_by_another_process_is_refused_at_once(
    client: Any, world: World, database_url: str
) -> None:
    headers = world.headers("kel-a1", "staff")
    assert client.post(f"{API}/cases", headers=headers, json=case_body()).status_code == 201

    in_another_process(
        database_url,
        """
        category = db.session.execute(
            select(Category).where(Category.code == "jalan-rusak")
        ).scalar_one()
        category.active = False
        """,
    )

    refused = client.post(f"{API}/cases", headers=headers, json=case_body())
    assert refused.status_code == 422
    assert "category" in str(refused.get_json()["errors"])


def test_a_forward_to_a_unit_closed_by_another_process_is_refused(
    client: Any, world: World, database_url: str
) -> None:
    staff = world.headers("kel-a1", "staff")
    created = client.post(f"{API}/cases", headers=staff, json=case_body()).get_json()
    forward = {"kind": "transfer", "to_unit": "dinas-pu", "note": "mohon ditangani"}
    ok = client.post(f"{API}/cases/{created['id']}/handoffs", headers=staff, json=forward)
    assert ok.status_code == 201  # dinas-pu is now cached as an active unit
    client.post(f"{API}/handoffs/{ok.get_json()['id']}/recall", headers=staff, json={})

    in_another_process(
        database_url,
        """
        from coord.models import Unit
        unit = db.session.execute(select(Unit).where(Unit.code == "dinas-pu")).scalar_one()
        unit.active = False
        """,
    )

    refused = client.post(f"{API}/cases/{created['id']}/handoffs", headers=staff, json=forward)
    assert refused.status_code == 422
    assert "to_unit" in str(refused.get_json()["errors"])


def test_a_role_taken_away_by_another_process_counts_from_the_next_request(
    client: Any, world: World, database_url: str
) -> None:
    headers = world.headers("kel-a1", "staff")
    assert client.post(f"{API}/cases", headers=headers, json=case_body()).status_code == 201
    assert client.get(f"{API}/cases", headers=headers).status_code == 200  # user now cached

    in_another_process(
        database_url,
        """
        from coord.services import accounts
        from coord.services.policy import SYSTEM
        accounts.update_user(SYSTEM, staff, now_utc(), roles=["admin"])
        """,
    )

    refused = client.post(f"{API}/cases", headers=headers, json=case_body())
    assert refused.status_code == 403, refused.get_json()


def test_an_account_disabled_by_another_process_is_refused_at_once(
    client: Any, world: World, database_url: str
) -> None:
    headers = world.headers("kel-a1", "staff")
    assert client.get(f"{API}/cases", headers=headers).status_code == 200  # user now cached

    in_another_process(
        database_url,
        "staff.active = False",
    )

    refused = client.get(f"{API}/cases", headers=headers)
    assert refused.status_code == 401
    assert "disabled" in refused.get_json()["message"]


def test_a_colliding_tracking_code_is_replaced(
    client: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = world.headers("kel-a1", "staff")
    first = client.post(f"{API}/cases", headers=headers, json=case_body()).get_json()
    taken = first["tracking_code"].replace("-", "")
    codes = iter([taken, taken, "7K3M9QXZ"])
    monkeypatch.setattr(case_intake, "new_tracking_code", lambda: next(codes))

    second = client.post(f"{API}/cases", headers=headers, json=case_body(title="Lain"))

    assert second.status_code == 201, second.get_json()
    assert second.get_json()["tracking_code"] == "7K3M-9QXZ"
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Case)).scalar_one() == 2

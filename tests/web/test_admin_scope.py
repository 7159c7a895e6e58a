"""The admin web pages: configuration and user administration only within the admin's
jurisdiction (docs/permissions.md), and bad form input as a 4xx naming the field.

Each test signs in through the login form with its CSRF token, as a browser would."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from coord.extensions import db
from coord.models import SlaPolicy, Unit, User, WebhookEndpoint
from tests.factories import World
from tests.web.forms import WebUser, csrf_token
from tests.webhook_receiver import webhook_app

_FIXTURES = (webhook_app,)  # used by name

ADMIN = "/web/admin"


def as_user(app: Any, username: str) -> WebUser:
    user = WebUser(app, username)
    user.token = csrf_token(user.client, f"{ADMIN}/")
    return user


def fresh(model: Any, **where: Any) -> Any:
    db.session.rollback()
    query = select(model).filter_by(**where)
    return db.session.execute(query).scalar_one_or_none()


def flashed(response: Any) -> str:
    return " ".join(
        re.findall(r'class="flash error"[^>]*>([^<]*)<', response.get_data(as_text=True))
    )


# --------------------------------------------------------------------------------------------
# Units


def test_the_unit_list_shows_only_units_the_admin_may_configure(app, world: World) -> None:
    page = as_user(app, "camat-a.admin").get(f"{ADMIN}/")
    assert page.status_code == 200
    listed = set(
        re.findall(r'href="/web/admin/units/([a-z0-9\-_.]+)"', page.get_data(as_text=True))
    )
    assert listed == {"camat-a", "kel-a1", "kel-a2"}


@pytest.mark.parametrize(
    ("username", "code", "status"),
    [
        ("camat-a.admin", "kel-a1", 200),
        ("camat-a.admin", "kel-b1", 404),
        ("camat-a.admin", "dinas-pu", 404),
        ("kel-a1.admin", "kel-a2", 404),
        ("dinas-pu.admin", "kel-a1", 404),
        ("pemkot.admin", "dlh", 200),
    ],
)
def test_unit_pages_outside_the_jurisdiction_are_not_found(
    app, world: World, username: str, code: str, status: int
) -> None:
    assert as_user(app, username).get(f"{ADMIN}/units/{code}").status_code == status


@pytest.mark.parametrize(
    ("username", "kind", "region", "allowed"),
    [
        # The substring test let a kelurahan admin create units above its own region.
        ("kel-a1.admin", "kelurahan", "12.71.01.1002", False),
        ("kel-a1.admin", "camat_office", "12.71.01", False),
        ("kel-a1.admin", "agency", "12.71", False),
        ("kel-a1.admin", "kelurahan", "12", False),
        ("camat-a.admin", "kelurahan", "12.71.02.1001", False),  # another kecamatan
        ("camat-a.admin", "agency", "12.71", False),
        ("dlh.admin", "kelurahan", "12.71.01.1001", False),
        ("camat-a.admin", "kelurahan", "12.71.01.1002", True),
        ("pemkot.admin", "agency", "12.71", True),
    ],
)
def test_units_are_created_only_within_the_jurisdiction(
    app, world: World, username: str, kind: str, region: str, allowed: bool
) -> None:
    browser = as_user(app, username)
    response = browser.post(
        f"{ADMIN}/units",
        {"code": "unit-baru", "name": "Unit Baru", "kind": kind, "region_code": region},
    )
    created = fresh(Unit, code="unit-baru")
    if allowed:
        assert response.status_code == 302 and created is not None
        assert (created.kind, created.region_code) == (kind, region)
    else:
        assert response.status_code in (403, 422), response.status_code
        assert created is None
        assert flashed(response)


def test_calendars_are_saved_only_within_the_jurisdiction(app, world: World) -> None:
    hours = {"start_0": "07:00", "end_0": "15:00", "national_holidays": "1"}
    # An agency's region is the whole city, but its admin configures only the agency.
    refused = as_user(app, "dinas-pu.admin").post(f"{ADMIN}/units/kel-a1/hours", hours)
    assert refused.status_code == 404
    refused = as_user(app, "camat-b.admin").post(
        f"{ADMIN}/units/kel-a1/closed-dates", {"date": "2026-03-25"}
    )
    assert refused.status_code == 404
    assert fresh(Unit, code="kel-a1").calendar is None

    saved = as_user(app, "camat-a.admin").post(f"{ADMIN}/units/kel-a1/hours", hours)
    assert saved.status_code == 302
    assert fresh(Unit, code="kel-a1").calendar["hours"]["0"] == [["07:00", "15:00"]]


# --------------------------------------------------------------------------------------------
# Users and roles


def _new_user(code: str, username: str, *roles: str) -> dict[str, Any]:
    return {
        "username": username,
        "full_name": "Pengguna Baru",
        "password": "kata-sandi-panjang",
        "roles": list(roles),
    }


@pytest.mark.parametrize("target", ["camat-b", "dinas-pu", "kel-a1"])
def test_an_agency_admin_cannot_create_admins_elsewhere(app, world: World, target: str) -> None:
    """The reported escalation: dlh's admin created admins and managers in other units."""
    browser = as_user(app, "dlh.admin")
    response = browser.post(
        f"{ADMIN}/units/{target}/users", _new_user(target, "penyusup", "admin", "manager")
    )
    assert response.status_code == 404
    assert fresh(User, username="penyusup") is None


def test_a_camat_admin_creates_a_staff_user_in_its_kelurahan(app, world: World) -> None:
    browser = as_user(app, "camat-a.admin")
    response = browser.post(
        f"{ADMIN}/units/kel-a1/users", _new_user("kel-a1", "petugas.baru", "staff")
    )
    assert response.status_code == 302
    user = fresh(User, username="petugas.baru")
    assert user is not None and user.unit.code == "kel-a1" and user.roles == {"staff"}
    # ... and not in the neighbouring kecamatan.
    response = browser.post(
        f"{ADMIN}/units/kel-b1/users", _new_user("kel-b1", "petugas.b", "staff")
    )
    assert response.status_code == 404 and fresh(User, username="petugas.b") is None


def test_an_admin_cannot_raise_or_drop_their_own_roles_or_deactivate_themselves(
    app, world: World
) -> None:
    me = world.user("kel-a1", "admin")
    browser = as_user(app, "kel-a1.admin")
    raised = browser.post(f"{ADMIN}/users/{me.id}", {"roles": ["admin", "manager"], "active": "1"})
    assert raised.status_code == 403 and flashed(raised)
    assert fresh(User, username="kel-a1.admin").roles == {"admin"}
    deactivated = browser.post(f"{ADMIN}/users/{me.id}", {"roles": ["admin"]})
    assert deactivated.status_code == 403
    assert fresh(User, username="kel-a1.admin").active is True
    # Saving one's own row unchanged is fine (the form always sends roles and active).
    assert (
        browser.post(f"{ADMIN}/users/{me.id}", {"roles": ["admin"], "active": "1"}).status_code
        == 302
    )


def test_roles_are_granted_only_within_the_jurisdiction(app, world: World) -> None:
    browser = as_user(app, "camat-a.admin")
    staff_a = world.user("kel-a1", "staff")
    granted = browser.post(
        f"{ADMIN}/users/{staff_a.id}", {"roles": ["staff", "manager"], "active": "1"}
    )
    assert granted.status_code == 302
    assert fresh(User, username="kel-a1.staff").roles == {"staff", "manager"}
    staff_b = world.user("kel-b1", "staff")
    refused = browser.post(f"{ADMIN}/users/{staff_b.id}", {"roles": ["admin"], "active": "1"})
    assert refused.status_code == 404
    assert fresh(User, username="kel-b1.staff").roles == {"staff"}
    # An agency's users belong to the agency's admins (and the city office's).
    agency = world.user("dinas-pu", "staff")
    refused = browser.post(f"{ADMIN}/users/{agency.id}", {"roles": ["admin"], "active": "1"})
    assert refused.status_code == 404


# --------------------------------------------------------------------------------------------
# Categories and SLA policies


def _policy_form(**overrides: str) -> dict[str, str]:
    form = {
        "priority": "high",
        "response_minutes": "240",
        "resolution_minutes": "960",
        "handoff_ack_minutes": "120",
        "warning_percents": "50,80",
        "clock": "business",
    }
    form.update(overrides)
    return form


def _policy_count() -> int:
    db.session.rollback()
    return db.session.execute(select(func.count(SlaPolicy.id))).scalar_one()


@pytest.mark.parametrize("username", ["kel-a1.admin", "camat-b.admin", "dlh.admin"])
def test_only_a_city_wide_admin_publishes_policies(app, world: World, username: str) -> None:
    before = _policy_count()
    browser = as_user(app, username)
    page = browser.get(f"{ADMIN}/categories/sampah")
    assert page.status_code == 200 and 'name="response_minutes"' not in page.get_data(as_text=True)
    refused = browser.post(f"{ADMIN}/categories/sampah/policies", _policy_form())
    assert refused.status_code == 403 and flashed(refused)
    assert _policy_count() == before

    city = as_user(app, "pemkot.admin")
    assert 'name="response_minutes"' in city.get(f"{ADMIN}/categories/sampah").get_data(
        as_text=True
    )
    assert city.post(f"{ADMIN}/categories/sampah/policies", _policy_form()).status_code == 302
    assert _policy_count() == before + 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("response_minutes", "²"),
        ("resolution_minutes", "١٢"),
        ("warning_percents", "²,80"),
        ("warning_percents", "50,abc"),
        ("response_minutes", "9" * 30),
    ],
)
def test_policy_numbers_that_are_not_plain_digits_are_refused(
    app, world: World, field: str, value: str
) -> None:
    before = _policy_count()
    response = as_user(app, "pemkot.admin").post(
        f"{ADMIN}/categories/sampah/policies", _policy_form(**{field: value})
    )
    assert response.status_code == 422
    assert field in flashed(response) and "tidak valid" in flashed(response)
    assert _policy_count() == before


# --------------------------------------------------------------------------------------------
# Overlong input: a 422 naming the field, never a database error


def test_overlong_username_is_refused(app, world: World) -> None:
    response = as_user(app, "camat-a.admin").post(
        f"{ADMIN}/units/kel-a1/users", _new_user("kel-a1", "u" * 1000, "staff")
    )
    assert response.status_code == 422 and "username" in flashed(response)
    db.session.rollback()
    assert (
        db.session.execute(
            select(func.count(User.id)).where(func.length(User.username) > 80)
        ).scalar_one()
        == 0
    )


def test_overlong_unit_email_is_refused(app, world: World) -> None:
    response = as_user(app, "camat-a.admin").post(
        f"{ADMIN}/units",
        {
            "code": "kel-baru",
            "name": "Kelurahan Baru",
            "kind": "kelurahan",
            "region_code": "12.71.01.1002",
            "email": "a" * 10_000 + "@example.go.id",
        },
    )
    assert response.status_code == 422 and "email" in flashed(response)
    assert fresh(Unit, code="kel-baru") is None


def test_overlong_webhook_description_is_refused(app, webhook_app, world: World) -> None:
    response = as_user(app, "dinas-pu.admin").post(
        f"{ADMIN}/units/dinas-pu/webhooks",
        {
            "url": "http://127.0.0.1:9/hook",
            "description": "d" * 100_000,
            "event_types": ["handoff.requested"],
        },
    )
    assert response.status_code == 422 and "description" in flashed(response)
    db.session.rollback()
    assert db.session.execute(select(func.count(WebhookEndpoint.id))).scalar_one() == 0


def test_webhooks_of_another_kecamatan_are_not_managed_from_the_web(
    app, webhook_app, world: World
) -> None:
    response = as_user(app, "camat-a.admin").post(
        f"{ADMIN}/units/kel-b1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["handoff.requested"]},
    )
    assert response.status_code == 404
    created = as_user(app, "camat-a.admin").post(
        f"{ADMIN}/units/kel-a1/webhooks", {"url": "http://127.0.0.1:9/hook"}
    )
    assert created.status_code == 302
    db.session.rollback()
    endpoints = db.session.execute(select(WebhookEndpoint)).scalars().all()
    assert [e.unit_id for e in endpoints] == [world.units["kel-a1"].id]
    secret = endpoints[0].secret
    # Kecamatan B's admin neither sees nor changes it.
    other = as_user(app, "camat-b.admin")
    assert other.get(f"{ADMIN}/webhooks/{endpoints[0].id}").status_code == 404
    assert other.post(f"{ADMIN}/webhooks/{endpoints[0].id}/rotate").status_code == 404
    assert fresh(WebhookEndpoint, id=endpoints[0].id).secret == secret
    # kel-a1's own liaison keeps managing it (API; the admin pages are for admins).
    listed = app.test_client().get(
        "/api/v1/units/kel-a1/webhooks", headers=world.headers("kel-a1", "liaison")
    )
    assert listed.status_code == 200 and len(listed.get_json()) == 1

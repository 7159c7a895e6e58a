"""API tokens that end (logout, password change, deactivation, an admin's revocation) and the
per-account login throttle, on the API and the web login."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from coord import clock
from coord.clock import now_utc
from coord.services.accounts import create_user
from coord.services.policy import SYSTEM
from coord.services.uow import unit_of_work
from tests.api.test_cases_api import API, assert_error
from tests.factories import World, token_for
from tests.web.test_sessions import PASSWORD, change_password, csrf_token, web_client, web_login

LOGIN = f"{API}/auth/tokens"
PROBE = f"{API}/units"


def api_login(client: Any, username: str, password: str = PASSWORD, address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def works(client: Any, token: str) -> bool:
    status = client.get(PROBE, headers={"Authorization": f"Bearer {token}"}).status_code
    assert status in (200, 401), status
    return status == 200


# -- revocable tokens -------------------------------------------------------------------------


def test_logout_revokes_the_token_it_is_sent_with(client: Any, world: World) -> None:
    first = api_login(client, "kel-a1.staff").get_json()["token"]
    second = api_login(client, "kel-a1.staff").get_json()["token"]
    response = client.delete(f"{LOGIN}/current", headers={"Authorization": f"Bearer {first}"})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert not works(client, first)
    assert works(client, second), "only the token sent is revoked"
    assert_error(client.delete(f"{LOGIN}/current"), 401)
    assert_error(
        client.delete(f"{LOGIN}/current", headers={"Authorization": f"Bearer {first}"}), 401
    )


def test_a_password_change_revokes_the_users_tokens(
    app: Any, client: Any, world: World, frozen_now: datetime
) -> None:
    token = api_login(client, "kel-a1.staff").get_json()["token"]
    other = api_login(client, "kel-a2.staff").get_json()["token"]
    browser = web_client(app)
    assert web_login(browser, "kel-a1.staff").status_code == 302
    assert change_password(browser, PASSWORD, "Kopi-tubruk-pagi-7").status_code == 302
    assert not works(client, token)
    assert works(client, other)
    assert api_login(client, "kel-a1.staff", "Kopi-tubruk-pagi-7").status_code == 201


def test_deactivation_revokes_tokens_so_reactivation_does_not_revive_them(
    app: Any, client: Any, world: World, frozen_now: datetime
) -> None:
    token = api_login(client, "kel-a1.staff").get_json()["token"]
    admin = web_client(app)
    assert web_login(admin, "camat-a.admin").status_code == 302
    staff = world.user("kel-a1", "staff")
    form = {"roles": ["staff"], "csrf_token": csrf_token(admin, "/web/admin/units/kel-a1")}
    assert admin.post(f"/web/admin/users/{staff.id}", data=form).status_code == 302
    assert not works(client, token)
    assert (
        admin.post(f"/web/admin/users/{staff.id}", data={**form, "active": "1"}).status_code == 302
    )
    assert not works(client, token)
    assert api_login(client, "kel-a1.staff").status_code == 201


def test_an_admin_revokes_a_service_users_tokens_within_their_jurisdiction(
    client: Any, world: World, frozen_now: datetime
) -> None:
    with unit_of_work():
        bot = create_user(
            SYSTEM, "kel-a1.bot", "Sistem A1", "kel-a1", ["liaison"], now_utc(), is_service=True
        )
    tokens = [token_for(bot), token_for(bot)]
    staff_token = world.token("kel-a1", "staff")
    url = f"{API}/users/{bot.id}/tokens"
    assert_error(client.delete(url, headers=world.headers("kel-a1", "staff")), 403)
    assert_error(client.delete(url, headers=world.headers("camat-b", "admin")), 404)
    assert_error(
        client.delete(f"{API}/users/999999/tokens", headers=world.headers("camat-a", "admin")), 404
    )
    assert all(works(client, t) for t in tokens)
    response = client.delete(url, headers=world.headers("camat-a", "admin"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"revoked": 2}
    assert not any(works(client, t) for t in tokens)
    assert works(client, staff_token), "other users' tokens stay"
    again = client.delete(url, headers=world.headers("kel-a1", "admin"))
    assert again.status_code == 200 and again.get_json() == {"revoked": 0}
    fresh = token_for(bot)
    assert works(client, fresh), "the admin can issue a new one"


# -- the per-account throttle -----------------------------------------------------------------


@pytest.fixture
def throttle(app: Any, monkeypatch: Any, redis_conn: Any) -> Any:
    """The per-account throttle on (it is off in the shared test app), on the test Redis."""
    monkeypatch.setitem(app.config, "COORD_LOGIN_THROTTLE_ENABLED", True)
    return app.config


def test_many_wrong_passwords_from_many_addresses_lock_the_account_for_a_growing_time(
    client: Any, world: World, frozen_now: datetime, throttle: Any
) -> None:
    statuses = [
        api_login(client, "kel-a1.staff", f"guess-{i}", address=f"10.0.0.{i % 12}")
        for i in range(108)
    ]
    assert [r.status_code for r in statuses] == [401] * 5 + [429] * 103
    locked = assert_error(statuses[-1], 429)
    assert "Too many failed logins" in locked["message"]
    assert statuses[-1].headers["Retry-After"] == "2"
    # The right password is refused too while locked (no oracle), and does not count
    assert_error(api_login(client, "kel-a1.staff"), 429)
    # Others are not affected
    assert api_login(client, "kel-a2.staff").status_code == 201
    # The lock doubles with each failure after it ends, up to 15 minutes
    waits = []
    at = frozen_now
    for _ in range(12):
        at += timedelta(seconds=int(api_login(client, "kel-a1.staff", "x").headers["Retry-After"]))
        clock.set_frozen(at)
        assert api_login(client, "kel-a1.staff", "still-wrong").status_code == 401
        waits.append(int(api_login(client, "kel-a1.staff", "x").headers["Retry-After"]))
    assert waits == [4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]
    # After the lock, the right password works and clears the count
    clock.set_frozen(at + timedelta(seconds=900))
    assert api_login(client, "kel-a1.staff").status_code == 201
    assert api_login(client, "kel-a1.staff", "typo").status_code == 401
    assert api_login(client, "kel-a1.staff").status_code == 201


def test_an_unknown_username_gets_the_same_answers(
    client: Any, world: World, frozen_now: datetime, throttle: Any
) -> None:
    known = [api_login(client, "kel-a1.staff", "wrong-one") for _ in range(7)]
    unknown = [api_login(client, "tidak.ada", "wrong-one") for _ in range(7)]
    assert (
        [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 5 + [429] * 2
    )
    assert [r.get_json() for r in known] == [r.get_json() for r in unknown]
    assert known[-1].headers["Retry-After"] == unknown[-1].headers["Retry-After"]


def test_the_web_login_is_throttled_per_account_too(
    app: Any, world: World, frozen_now: datetime, throttle: Any
) -> None:
    browser = web_client(app)
    statuses = [web_login(browser, "kel-a1.staff", "salah-terus").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    response = web_login(browser, "kel-a1.staff")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert "Terlalu banyak percobaan masuk" in response.get_data(as_text=True)
    clock.set_frozen(frozen_now + timedelta(seconds=2))
    assert web_login(browser, "kel-a1.staff").status_code == 302


def test_login_still_works_when_redis_is_down(
    client: Any, world: World, frozen_now: datetime, throttle: Any, monkeypatch: Any, caplog: Any
) -> None:
    monkeypatch.setitem(throttle, "COORD_LOGIN_THROTTLE_REDIS_URL", "redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="coord.services.login_throttle"):
        assert api_login(client, "kel-a1.staff", "wrong").status_code == 401
        assert api_login(client, "kel-a1.staff").status_code == 201
    assert "login throttle unavailable" in caplog.text

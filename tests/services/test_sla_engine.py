"""SLA clocks: due times on the Indonesian working calendar, warnings and breaches fired
exactly once at their exact instants, pauses, escalation and the reminders' timing."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from coord import clock
from coord.domain.calendar import DEFAULT_CALENDAR
from coord.extensions import db
from coord.models import Case, CaseEvent, Notification, SlaAlert, SlaClock
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.attention import attention_feed
from coord.services.sla_sweep import sweep
from coord.services.uow import unit_of_work
from tests.factories import DAY, make_case, make_policy

WIB = ZoneInfo("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


@pytest.fixture
def at_nyepi_week(app_ctx):  # type: ignore[no-untyped-def]
    """Tuesday 2026-03-17 14:00 WIB, just before Nyepi, Idulfitri and their cuti bersama."""
    clock.set_frozen(wib(2026, 3, 17, 14))
    yield
    clock.set_frozen(None)


def sla_events(case_id: int) -> list[tuple[str, datetime, str | None, int | None]]:
    rows = db.session.execute(
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.type.like("sla.%"))
        .order_by(CaseEvent.at, CaseEvent.id)
    ).scalars()
    return [
        (e.type, e.at.astimezone(WIB), e.changes.get("clock"), e.changes.get("threshold"))
        for e in rows
    ]


def clock_of(case_id: int, name: str) -> SlaClock:
    return db.session.execute(
        select(SlaClock).where(SlaClock.case_id == case_id, SlaClock.name == name)
    ).scalar_one()


def test_due_times_skip_the_lebaran_holidays(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    # 3 working days to respond, 5 to resolve; 18-24 March 2026 are all closed.
    assert case.response_due_at == wib(2026, 3, 27, 14)
    assert case.resolution_due_at == wib(2026, 3, 31, 14)


def test_warnings_and_breaches_fire_once_at_their_instants(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    # Nothing is due the day before the first warning.
    assert sweep(wib(2026, 3, 26, 9, 59)) == 0
    assert sweep(wib(2026, 3, 26, 10, 0)) == 1  # response 50% = 12 working hours
    assert sla_events(case.id) == [("sla.warning", wib(2026, 3, 26, 10), "response", 50)]

    # Much later: everything left fires, each at its own instant, in a single sweep.
    fired = sweep(wib(2026, 4, 30, 12))
    assert fired == 5
    assert sla_events(case.id) == [
        ("sla.warning", wib(2026, 3, 26, 10), "response", 50),
        ("sla.warning", wib(2026, 3, 27, 9, 12), "response", 80),
        ("sla.warning", wib(2026, 3, 27, 10), "resolution", 50),
        ("sla.breached", wib(2026, 3, 27, 14), "response", 100),
        ("sla.warning", wib(2026, 3, 30, 14), "resolution", 80),
        ("sla.breached", wib(2026, 3, 31, 14), "resolution", 100),
    ]
    # Escalations accompany each breach; a second sweep fires nothing more.
    escalations = db.session.execute(
        select(func.count()).where(CaseEvent.case_id == case.id, CaseEvent.type == "case.escalated")
    ).scalar_one()
    assert escalations == 2
    assert sweep(wib(2026, 5, 30, 12)) == 0
    assert db.session.get(Case, case.id).breached is True


def test_breach_stays_after_late_resolution(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    sweep(wib(2026, 4, 1, 9))
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 4, 1, 9))
    with unit_of_work():
        case_service.resolve_case(staff, case.id, "selesai", wib(2026, 4, 1, 10))
    resolution = clock_of(case.id, "resolution")
    assert resolution.state == "breached"
    # 31 March 14:00 -> 1 April 10:00 is 2 + 2 working hours late.
    assert resolution.minutes_over == 240
    assert db.session.get(Case, case.id).breached is True


def test_met_clock_reports_minutes_under_target(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 3, 17, 15))
    response = clock_of(case.id, "response")
    assert response.state == "met"
    # Answered after 1 working hour of a 24-hour target: 23 hours under.
    assert response.minutes_over == -23 * 60
    assert clock_of(case.id, "resolution").state == "running"


def test_hold_and_resume_move_deadlines_by_the_paused_working_time(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 3, 17, 14, 30))
    before = clock_of(case.id, "resolution").due_at
    with unit_of_work():
        case_service.hold_case(staff, case.id, "menunggu dokumen warga", wib(2026, 3, 17, 15))
    # While on hold, nothing fires even long after the original deadline.
    assert sweep(wib(2026, 4, 10, 9)) == 0
    with unit_of_work():
        case_service.resume_case(staff, case.id, wib(2026, 4, 1, 11))
    paused = DEFAULT_CALENDAR.between(wib(2026, 3, 17, 15), wib(2026, 4, 1, 11))
    after = clock_of(case.id, "resolution")
    assert after.paused_minutes == paused
    assert after.due_at == DEFAULT_CALENDAR.add(before, paused)
    assert db.session.get(Case, case.id).resolution_due_at == after.due_at
    # The thresholds follow: the breach fires exactly at the moved deadline.
    sweep(after.due_at - timedelta(minutes=1))
    assert [e for e in sla_events(case.id) if e[0] == "sla.breached"] == []
    sweep(after.due_at)
    assert ("sla.breached", after.due_at.astimezone(WIB), "resolution", 100) in sla_events(case.id)


def test_handoff_acknowledgement_clock_on_the_receivers_calendar(world, at_nyepi_week, run_worker):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            staff, case.id, "transfer", "dinas-pu", None, wib(2026, 3, 17, 14)
        )
    # One working day after Tuesday 14:00 falls after Nyepi and Lebaran: 25 March 14:00.
    assert handoff.ack_due_at == wib(2026, 3, 25, 14)
    sweep(wib(2026, 3, 25, 14))
    run_worker()  # the notification fan-out the sweep enqueued after its commit
    ack_events = [e for e in sla_events(case.id) if e[2] == "handoff_ack"]
    assert [e[0] for e in ack_events] == ["sla.warning", "sla.warning", "sla.breached"]
    assert db.session.get(type(handoff), handoff.id).breached is True
    # The liaisons of the receiving unit are told about the warnings.
    liaison = world.user("dinas-pu", "liaison")
    kinds = (
        db.session.execute(
            select(Notification.kind)
            .where(Notification.user_id == liaison.id)
            .order_by(Notification.id)
        )
        .scalars()
        .all()
    )
    assert kinds == ["sla.warning", "sla.warning", "sla.breached"]


def test_breach_escalates_to_the_camat_office_managers(world, at_nyepi_week, run_worker):  # type: ignore[no-untyped-def]
    case = make_case(world)
    sweep(wib(2026, 3, 27, 14))
    run_worker()  # the notification fan-out the sweep enqueued
    manager = world.user("camat-a", "manager")
    other_manager = world.user("camat-b", "manager")
    feed = attention_feed(manager, wib(2026, 3, 27, 14, 5))
    assert [c["id"] for c in feed["breached_cases"]] == [case.id]
    assert [n.kind for n in feed["notifications"]] == ["sla.breached"]
    assert attention_feed(other_manager, wib(2026, 3, 27, 14, 5))["notifications"] == []


def test_night_warning_reaches_people_when_the_office_opens(world, app_ctx, run_worker):  # type: ignore[no-untyped-def]
    # A fallen tree at 18:00 WIB on a Wednesday: urgent, 24x7, 8 hours to resolve.
    clock.set_frozen(wib(2026, 3, 4, 18))
    try:
        category = world.categories["sampah"]
        with unit_of_work():
            for p in category.policies:
                if p.priority == "urgent":
                    p.superseded_at = wib(2026, 3, 4, 17)
            make_policy(
                category,
                "urgent",
                response=2 * 60,
                resolution=8 * 60,
                ack=60,
                clock="24x7",
                version=2,
            )
        case = make_case(world, category="sampah", priority="urgent", at=wib(2026, 3, 4, 18))
        assert case.resolution_due_at == wib(2026, 3, 5, 2)  # 24x7: 8 plain hours
        sweep(wib(2026, 3, 4, 22, 30))
        run_worker()  # the notification fan-out the sweep enqueued
        staff = world.user("kel-a1", "staff")
        warning_at = [e for e in sla_events(case.id) if e[2] == "resolution"][0][1]
        assert warning_at == wib(2026, 3, 4, 22)  # recorded at its exact time
        # At night the staff member's feed is still quiet ...
        assert not [
            n
            for n in attention_feed(staff, wib(2026, 3, 4, 23))["notifications"]
            if n.kind == "sla.warning"
        ]
        # ... and the warning is there when the office opens at 08:00.
        morning = attention_feed(staff, wib(2026, 3, 5, 8))["notifications"]
        assert "sla.warning" in {n.kind for n in morning}
        delivered = db.session.execute(
            select(func.min(Notification.deliver_after)).where(Notification.user_id == staff.id)
        ).scalar_one()
        assert delivered == wib(2026, 3, 5, 8)
    finally:
        clock.set_frozen(None)


def test_new_policy_version_applies_to_new_cases_only(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    from coord.services.configuration import publish_policy

    old_case = make_case(world)
    admin = world.user("pemkot", "admin")  # city-wide standards
    with unit_of_work():
        publish_policy(
            admin,
            "jalan-rusak",
            {
                "priority": "normal",
                "response_minutes": DAY,
                "resolution_minutes": 2 * DAY,
                "handoff_ack_minutes": DAY,
                "warning_percents": [50, 80],
                "clock": "business",
            },
            wib(2026, 3, 17, 14),
        )
    new_case = make_case(world)
    assert db.session.get(Case, old_case.id).resolution_due_at == wib(2026, 3, 31, 14)
    assert db.session.get(Case, new_case.id).resolution_due_at == wib(2026, 3, 26, 14)
    assert db.session.get(Case, new_case.id).sla_policy.version == 2
    assert db.session.get(Case, old_case.id).sla_policy.version == 1


def test_racing_sweeps_fire_each_threshold_once(app, world, at_nyepi_week):  # type: ignore[no-untyped-def]
    ids = [make_case(world).id for _ in range(40)]
    at = wib(2026, 4, 30, 12)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                results.append(sweep(at, batch_size=7))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # 2 clocks per case x 3 thresholds each, fired exactly once between the two sweeps.
    assert sum(results) == len(ids) * 6
    alerts = db.session.execute(select(func.count(SlaAlert.id))).scalar_one()
    assert alerts == len(ids) * 6
    per_case = db.session.execute(
        select(CaseEvent.case_id, func.count())
        .where(CaseEvent.type == "sla.breached")
        .group_by(CaseEvent.case_id)
    ).all()
    assert sorted(n for _, n in per_case) == [2] * len(ids)


def test_sweep_reads_only_due_clocks(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    make_case(world)
    # Clocks not yet due have their next instant in the future; the sweep's query is
    # bounded by it (the partial index), so a sweep before any instant touches nothing.
    due = db.session.execute(
        select(func.count()).where(SlaClock.next_threshold_at <= wib(2026, 3, 20, 9))
    ).scalar_one()
    assert due == 0
    assert sweep(wib(2026, 3, 20, 9)) == 0


def test_cancelled_case_stops_its_clocks(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    with unit_of_work():
        case_service.cancel_case(
            world.user("camat-a", "manager"), case.id, "spam", wib(2026, 3, 17, 15)
        )
    assert sweep(wib(2026, 5, 1, 9)) == 0
    assert {c.state for c in db.session.execute(select(SlaClock)).scalars()} == {"stopped"}


def test_incremental_schedule_matches_the_full_count() -> None:
    """The sweep counts the next threshold on from the one that fired; the instants are
    exactly those counted from the clock's start (the calendar's ``add`` is additive)."""
    import random

    from coord.domain.calendar import ALWAYS_OPEN
    from coord.services.sla import next_threshold_after, threshold_percents

    rng = random.Random(20260317)
    base = wib(2025, 12, 1, 0)
    compared = 0
    for _ in range(150):
        calendar = rng.choice([DEFAULT_CALENDAR, ALWAYS_OPEN])
        started = base + timedelta(minutes=rng.randrange(0, 400 * 1440), seconds=rng.randrange(60))
        target = rng.choice([60, 120, 480, 1440, 2400, 7200, 43200])
        paused = rng.choice([0, 0, rng.randrange(1, 5000)])
        percents = threshold_percents(rng.choice([[50, 80], [25, 50, 75], [80], [33, 66]]))

        def full(p: int) -> datetime:
            return calendar.add(started, target * p / 100 + paused)  # noqa: B023

        for after, nxt in zip(percents, percents[1:], strict=False):
            got = next_threshold_after(
                calendar,
                started_at=started,
                target_minutes=target,
                paused_minutes=paused,
                percents=percents,
                after=after,
                after_at=full(after),
            )
            assert got == (nxt, full(nxt)), (calendar.always_open, started, target, paused, after)
            compared += 1
        assert next_threshold_after(
            calendar,
            started_at=started,
            target_minutes=target,
            paused_minutes=paused,
            percents=percents,
            after=100,
            after_at=full(100),
        ) == (None, None)
    assert compared > 150


def test_lost_notification_jobs_are_made_up_for(world, at_nyepi_week, monkeypatch):  # type: ignore[no-untyped-def]
    from coord.services import sla_sweep
    from coord.services.notifications import notify_recent_sla_events, notify_sla_events

    def notifications() -> list[tuple[int, int]]:
        db.session.rollback()  # a fresh read (SQLite keeps a snapshot per transaction)
        return sorted(
            (u, e)
            for u, e in db.session.execute(select(Notification.user_id, Notification.event_id))
        )

    manager = world.user("camat-a", "manager")
    # Redis refuses the fan-out job at commit: the sweep writes the notifications itself.
    first = make_case(world)
    monkeypatch.setattr(sla_sweep, "enqueue_now", lambda *a, **k: False)
    assert sweep(wib(2026, 3, 26, 10)) == 1
    warned = notifications()
    assert warned and {e for _, e in warned} == set(
        db.session.execute(
            select(CaseEvent.id).where(
                CaseEvent.case_id == first.id, CaseEvent.type == "sla.warning"
            )
        ).scalars()
    )

    # The job is accepted and then lost (worker killed, Redis flushed): nothing is written ...
    monkeypatch.setattr(sla_sweep, "enqueue_now", lambda *a, **k: True)
    assert sweep(wib(2026, 3, 27, 14)) == 3
    assert notifications() == warned
    # ... until the periodic safety net notifies the recent SLA events that lack them.
    notify_recent_sla_events(wib(2026, 3, 27, 14, 10))
    repaired = notifications()
    breach_id = db.session.execute(
        select(CaseEvent.id).where(CaseEvent.case_id == first.id, CaseEvent.type == "sla.breached")
    ).scalar_one()
    assert (manager.id, breach_id) in repaired
    assert len(repaired) > len(warned)
    # Every fan-out is idempotent: running any of them again writes nothing new.
    notify_recent_sla_events(wib(2026, 3, 27, 14, 20))
    with unit_of_work():
        notify_sla_events([e for _, e in repaired], wib(2026, 3, 27, 14, 30))
    assert notifications() == repaired
    # The same notifications as the inline fan-out writes in the sweep's own transaction.
    second = make_case(world, at=wib(2026, 3, 17, 14))
    assert sweep(wib(2026, 3, 27, 14, 1), notify="inline") == 4  # 3 warnings and the breach
    inline = {e for _, e in notifications() if e not in {e for _, e in repaired}}
    assert inline == set(
        db.session.execute(
            select(CaseEvent.id).where(
                CaseEvent.case_id == second.id, CaseEvent.type.in_(("sla.warning", "sla.breached"))
            )
        ).scalars()
    )


def test_sla_events_are_published_to_subscribers(world, at_nyepi_week, monkeypatch):  # type: ignore[no-untyped-def]
    from coord.services import events as event_service

    seen: list = []
    monkeypatch.setattr(
        event_service, "EVENT_SUBSCRIBERS", [*event_service.EVENT_SUBSCRIBERS, seen.extend]
    )
    case = make_case(world)
    seen.clear()
    assert sweep(wib(2026, 3, 27, 14)) == 4  # 3 warnings and the response breach
    rows = db.session.execute(
        select(CaseEvent.id, CaseEvent.type, CaseEvent.at, CaseEvent.case_version)
        .where(CaseEvent.case_id == case.id, CaseEvent.type != "case.created")
        .order_by(CaseEvent.id)
    ).all()
    assert sorted(r.type for r in rows) == [
        "case.escalated",
        "sla.breached",
        "sla.warning",
        "sla.warning",
        "sla.warning",
    ]
    assert [(e.event_id, e.type, e.at, e.case_version) for e in seen] == [tuple(r) for r in rows]
    # One version bump for the breach, carried by every event of the batch.
    assert {r.case_version for r in rows} == {db.session.get(Case, case.id).version}

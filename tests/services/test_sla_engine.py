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
from coord.services import case_intake
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
    exactly those counted from the clock's start (the calendar's ``add`` is additive), also
    after holds that are not whole minutes."""
    import random

    from coord.domain.calendar import ALWAYS_OPEN
    from coord.services.sla_schedule import next_threshold_after, share_of, threshold_percents

    rng = random.Random(20260317)
    base = wib(2025, 12, 1, 0)
    compared = 0
    for _ in range(150):
        calendar = rng.choice([DEFAULT_CALENDAR, ALWAYS_OPEN])
        started = base + timedelta(minutes=rng.randrange(0, 400 * 1440), seconds=rng.randrange(60))
        target = rng.choice([45, 60, 120, 480, 1440, 2400, 7200, 43200])
        held = rng.choice([timedelta(0), timedelta(0), timedelta(seconds=rng.randrange(1, 300000))])
        percents = threshold_percents(rng.choice([[50, 80], [25, 50, 75], [80], [33, 66]]))

        def full(p: int) -> datetime:
            return calendar.add(started, share_of(target, p) + held)  # noqa: B023

        for after, nxt in zip(percents, percents[1:], strict=False):
            got = next_threshold_after(
                calendar,
                target_minutes=target,
                percents=percents,
                after=after,
                after_at=full(after),
            )
            assert got == (nxt, full(nxt)), (calendar.always_open, started, target, held, after)
            compared += 1
        assert next_threshold_after(
            calendar, target_minutes=target, percents=percents, after=100, after_at=full(100)
        ) == (None, None)
    assert compared > 150


def test_lost_notification_jobs_are_made_up_for(world, at_nyepi_week, monkeypatch):  # type: ignore[no-untyped-def]
    from coord import jobs
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
    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: False)
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
    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: True)
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


# -- a deadline passed before any sweep saw it: recorded exactly as the sweep would ----------


def test_late_first_response_records_the_breach_the_sweep_missed(world, at_nyepi_week, run_worker):  # type: ignore[no-untyped-def]
    # Worker outage: no sweep ran between the case's creation and its late first action.
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 3, 30, 10))
    response = clock_of(case.id, "response")
    assert response.state == "breached"
    assert response.breached_at == wib(2026, 3, 27, 14)  # the due instant, not the action
    assert response.minutes_over == 4 * 60  # Friday 14-16 and Monday 08-10
    # The same events as the sweep writes, at the same instants.
    assert [e for e in sla_events(case.id) if e[2] == "response"] == [
        ("sla.warning", wib(2026, 3, 26, 10), "response", 50),
        ("sla.warning", wib(2026, 3, 27, 9, 12), "response", 80),
        ("sla.breached", wib(2026, 3, 27, 14), "response", 100),
    ]
    escalated = db.session.execute(
        select(CaseEvent.at, CaseEvent.changes).where(
            CaseEvent.case_id == case.id, CaseEvent.type == "case.escalated"
        )
    ).one()
    assert escalated.at == wib(2026, 3, 27, 14)
    assert escalated.changes["escalated_to"] == "camat-a"
    assert db.session.get(Case, case.id).breached is True
    # The managers hear of it through the same fan-out job, enqueued after the commit.
    run_worker()
    manager = world.user("camat-a", "manager")
    feed = attention_feed(manager, wib(2026, 3, 30, 10, 5))
    assert [n.kind for n in feed["notifications"]] == ["sla.breached"]
    assert [c["id"] for c in feed["breached_cases"]] == [case.id]
    # A later sweep does not fire the response clock's thresholds again.
    sweep(wib(2026, 3, 30, 10, 1))
    assert len([e for e in sla_events(case.id) if e[2] == "response"]) == 3


def test_late_resolution_and_late_acknowledgement_record_their_breaches(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            staff, case.id, "assist", "dinas-pu", "bantu", wib(2026, 3, 17, 14)
        )
    with unit_of_work():
        handoff_service.accept_handoff(
            world.user("dinas-pu", "liaison"), handoff.id, wib(2026, 3, 26, 9)
        )
    with unit_of_work():
        handoff_service.complete_handoff(
            world.user("dinas-pu", "liaison"), handoff.id, "sudah", wib(2026, 3, 26, 9, 30)
        )
    with unit_of_work():
        case_service.resolve_case(staff, case.id, "selesai", wib(2026, 4, 1, 10))
    breaches = [(e[2], e[1]) for e in sla_events(case.id) if e[0] == "sla.breached"]
    # (Asking for assistance was the first response, in time.)
    assert breaches == [
        ("handoff_ack", wib(2026, 3, 25, 14)),
        ("resolution", wib(2026, 3, 31, 14)),
    ]
    resolution = clock_of(case.id, "resolution")
    assert (resolution.state, resolution.breached_at) == ("breached", resolution.due_at)
    assert db.session.get(type(handoff), handoff.id).breached is True
    assert sweep(wib(2026, 5, 1, 9)) == 0


def test_hold_records_thresholds_that_passed_before_it(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    # A warning due before the hold that no sweep saw yet is recorded at its instant, not
    # moved past the hold.
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 3, 17, 14, 30))
    with unit_of_work():
        case_service.hold_case(staff, case.id, "menunggu warga", wib(2026, 3, 27, 11))
    assert [e for e in sla_events(case.id) if e[2] == "resolution"] == [
        ("sla.warning", wib(2026, 3, 27, 10), "resolution", 50)
    ]


@pytest.mark.parametrize("held_seconds", [40, 90])
def test_short_hold_moves_deadlines_by_exactly_the_time_held(world, at_nyepi_week, held_seconds):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 3, 17, 14, 30))
    before = clock_of(case.id, "resolution").due_at
    # The resolution clock's 50% warning falls at 27 March 10:00; hold across it.
    held_from = wib(2026, 3, 27, 10) - timedelta(seconds=held_seconds // 2)
    held_until = held_from + timedelta(seconds=held_seconds)
    with unit_of_work():
        case_service.hold_case(staff, case.id, "menunggu warga", held_from)
    with unit_of_work():
        case_service.resume_case(staff, case.id, held_until)
    after = clock_of(case.id, "resolution")
    assert after.due_at == before + timedelta(seconds=held_seconds)
    assert db.session.get(Case, case.id).resolution_due_at == after.due_at
    # Shown in whole minutes, rounded down; never read back to count deadlines.
    assert after.paused_minutes == held_seconds // 60
    sweep(wib(2026, 4, 30, 9))
    instants = [e[1] for e in sla_events(case.id) if e[2] == "resolution"]
    assert instants[0] == wib(2026, 3, 27, 10) + timedelta(seconds=held_seconds)
    assert not [t for t in instants if held_from <= t < held_until]
    assert instants[-1] == after.due_at.astimezone(WIB)


def test_a_second_hold_adds_to_the_first_exactly(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 3, 17, 14, 30))
    before = clock_of(case.id, "resolution").due_at
    for start in (wib(2026, 3, 26, 9), wib(2026, 3, 26, 11)):
        with unit_of_work():
            case_service.hold_case(staff, case.id, "menunggu warga", start)
        with unit_of_work():
            case_service.resume_case(staff, case.id, start + timedelta(seconds=50))
    after = clock_of(case.id, "resolution")
    assert after.due_at == before + timedelta(seconds=100)
    assert after.paused_minutes == 1


def test_reopening_after_the_deadline_records_the_breach_at_once(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.resolve_case(staff, case.id, "sudah", wib(2026, 3, 18, 9))
    with unit_of_work():
        case_service.reopen_case(staff, case.id, "warga: belum beres", wib(2026, 4, 2, 9))
    resolution = clock_of(case.id, "resolution")
    assert (resolution.state, resolution.breached_at) == ("breached", resolution.due_at)
    assert db.session.get(Case, case.id).breached is True
    assert ("sla.breached", wib(2026, 3, 31, 14), "resolution", 100) in sla_events(case.id)
    assert sweep(wib(2026, 4, 2, 9, 1)) == 0


def test_hold_beginning_at_a_threshold_records_it_then_not_inside_the_hold(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    # The resolution clock's 80% warning falls at Monday 30 March 14:00. Held from exactly then
    # to 08:00 the next morning (2 working hours): the warning is not moved to 16:00 Monday,
    # inside the hold; it was reached as the hold began and is recorded at that instant.
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff, case.id, wib(2026, 3, 17, 14, 30))
    sweep(wib(2026, 3, 30, 13))  # the 50% warning
    with unit_of_work():
        case_service.hold_case(staff, case.id, "menunggu warga", wib(2026, 3, 30, 14))
    with unit_of_work():
        case_service.resume_case(staff, case.id, wib(2026, 3, 31, 8))
    sweep(wib(2026, 4, 30, 9))
    instants = [e[1] for e in sla_events(case.id) if e[2] == "resolution"]
    assert instants[:2] == [wib(2026, 3, 27, 10), wib(2026, 3, 30, 14)]
    assert not [t for t in instants if wib(2026, 3, 30, 14) < t < wib(2026, 3, 31, 8)]
    assert instants[2] == clock_of(case.id, "resolution").due_at.astimezone(WIB)


def test_changing_priority_after_a_missed_deadline_keeps_the_breach(world, at_nyepi_week):  # type: ignore[no-untyped-def]
    # The response deadline (27 March 14:00) passed unseen; a priority change on 30 March
    # to a priority with a longer target records it first, under the target it passed, and
    # the breached clock keeps its deadline.
    from coord.services.configuration import publish_policy

    case = make_case(world)
    with unit_of_work():
        publish_policy(
            world.user("pemkot", "admin"),
            "jalan-rusak",
            {
                "priority": "low",
                "response_minutes": 10 * DAY,
                "resolution_minutes": 20 * DAY,
                "handoff_ack_minutes": DAY,
                "warning_percents": [50, 80],
                "clock": "business",
            },
            wib(2026, 3, 17, 15),
        )
    with unit_of_work():
        case_intake.edit_case(
            world.user("kel-a1", "staff"),
            case.id,
            {"priority": "low"},
            wib(2026, 3, 30, 9),
            expected_version=None,
        )
    response = clock_of(case.id, "response")
    assert (response.state, response.breached_at) == ("breached", wib(2026, 3, 27, 14))
    assert response.due_at == wib(2026, 3, 27, 14)
    assert ("sla.breached", wib(2026, 3, 27, 14), "response", 100) in sla_events(case.id)
    assert db.session.get(Case, case.id).breached is True
    # The resolution clock, not yet due, takes the new target.
    assert clock_of(case.id, "resolution").target_minutes == 20 * DAY


def test_redis_refusing_the_job_of_a_late_entry_still_tells_the_managers(
    world, at_nyepi_week, monkeypatch
):  # type: ignore[no-untyped-def]
    # As with the sweep: if Redis refuses the notification job at the command's commit, the
    # notifications are written right after it (the safety net would not look weeks back).
    from coord import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: False)
    case = make_case(world, received_at=wib(2026, 2, 23, 9))
    db.session.rollback()  # a fresh read
    manager = world.user("camat-a", "manager")
    kinds = (
        db.session.execute(
            select(Notification.kind).where(
                Notification.user_id == manager.id, Notification.case_id == case.id
            )
        )
        .scalars()
        .all()
    )
    assert kinds == ["sla.breached", "sla.breached"]

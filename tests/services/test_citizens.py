"""Citizens through the services: the public view leaks nothing private, tokens guard feedback
and disputes, feedback is once per resolution, disputes respect the window, and resolved cases
close automatically once it has passed (on a real RQ worker too)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from coord import clock, jobs
from coord.extensions import db
from coord.models import Case, CaseEvent, Feedback
from coord.services import cases as case_service
from coord.services import citizens
from coord.services import handoffs as handoff_service
from coord.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status, make_case

WIB = ZoneInfo("Asia/Jakarta")
# Wednesday 2026-03-04 10:00 WIB
T0 = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)

# Everything below must never reach a public view (tracking JSON, history page or PDF).
SECRETS = {
    "reporter_name": "Siti Rahasiawati",
    "reporter_phone": "081299887766",
    "reporter_email": "siti.rahasia@example.com",
    "reporter_nik": "1271019988776655",
    "title": "Keluhan Bu Siti Rahasiawati",
    "description": "Lubang di depan rumah Bapak Rahasia Sentosa",
    "address": "Jl. Rahasia Gg. Sunyi No. 7",
    "internal_comment": "CATATAN-INTERNAL-warga-ini-sering-melapor",
    "agency_comment": "KOMENTAR-DINAS-internal-anggaran-habis",
    "transfer_note": "NOTA-PENERUSAN-internal",
    "reject_note": "ALASAN-TOLAK-internal-bukan-wewenang",
    "assist_note": "NOTA-BANTUAN-internal-tolong-cek",
    "completion_note": "LAPORAN-BANTUAN-internal-selesai",
}
# Staff members' personal names (tests.factories: "<Role> <unit>").
STAFF_NAMES = (
    "Staff kel-a1",
    "Liaison dinas-pu",
    "Staff dinas-pu",
    "Liaison dlh",
    "Manager camat-a",
)
PUBLIC_COMMENT = "Petugas akan meninjau lokasi besok pagi."
RESOLUTION_NOTE = "Lubang sudah ditambal dengan aspal."


def leaked(text: str) -> list[str]:
    """The secrets and staff names found in ``text`` (case-insensitive)."""
    lowered = text.lower()
    return [s for s in (*SECRETS.values(), *STAFF_NAMES) if s.lower() in lowered]


def sensitive_case(world: World, status: str = "resolved", *, at: datetime | None = None) -> Case:
    """A case carrying every kind of data the public must not see: reporter contact data, a
    personal description and address, internal comments of two units, a rejected transfer with
    its notes, an assist with its notes, and staff members' names on every event."""
    staff = world.user("kel-a1", "staff")
    now = at or clock.now_utc()
    case = make_case(
        world,
        at=now,
        title=SECRETS["title"],
        description=SECRETS["description"],
        address=SECRETS["address"],
        reporter_name=SECRETS["reporter_name"],
        reporter_phone=SECRETS["reporter_phone"],
        reporter_email=SECRETS["reporter_email"],
        reporter_nik=SECRETS["reporter_nik"],
    )
    steps = [
        lambda: case_service.start_case(staff, case.id, now),
        lambda: case_service.comment_on_case(
            staff, case.id, SECRETS["internal_comment"], "internal", now
        ),
        lambda: case_service.comment_on_case(staff, case.id, PUBLIC_COMMENT, "public", now),
    ]
    for step in steps:
        with unit_of_work():
            step()
    with unit_of_work():
        transfer = handoff_service.request_handoff(
            staff, case.id, "transfer", "dlh", SECRETS["transfer_note"], now
        )
    with unit_of_work():
        handoff_service.reject_handoff(
            world.user("dlh", "liaison"), transfer.id, "other", now, note=SECRETS["reject_note"]
        )
    with unit_of_work():
        assist = handoff_service.request_handoff(
            staff, case.id, "assist", "dinas-pu", SECRETS["assist_note"], now
        )
    with unit_of_work():
        handoff_service.accept_handoff(world.user("dinas-pu", "liaison"), assist.id, now)
    with unit_of_work():
        case_service.comment_on_case(
            world.user("dinas-pu", "staff"), case.id, SECRETS["agency_comment"], "internal", now
        )
    with unit_of_work():
        handoff_service.complete_handoff(
            world.user("dinas-pu", "staff"), assist.id, SECRETS["completion_note"], now
        )
    if status in ("resolved", "closed"):
        with unit_of_work():
            case_service.resolve_case(staff, case.id, RESOLUTION_NOTE, now)
    if status == "closed":
        with unit_of_work():
            case_service.close_case(staff, case.id, now)
    return fresh(case.id)


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    return case


def events(case_id: int) -> list[CaseEvent]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).scalars()
    )


def scores(value: int = 3, **overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {f"u{i}": value for i in range(1, 10)}
    answers.update(overrides)
    return answers


@pytest.fixture
def at_t0() -> Iterator[datetime]:
    clock.set_frozen(T0)
    yield T0
    clock.set_frozen(None)


# -- the public view ----------------------------------------------------------------------


def test_tracking_view_shows_the_public_timeline_and_nothing_private(
    world: World, at_t0: datetime
) -> None:
    case = sensitive_case(world)
    view = citizens.tracking_view(case, at_t0)

    assert leaked(json.dumps(view, default=str)) == []
    assert view["tracking_code"] == f"{case.tracking_code[:4]}-{case.tracking_code[4:]}"
    assert view["status"] == "resolved" and view["status_label"] == "Selesai ditangani"
    assert view["unit"] == {"code": "kel-a1", "name": "Kantor Lurah A1"}
    assert view["category"] == {"code": "jalan-rusak", "name": "Jalan-Rusak"}
    assert view["due_at"] == case.resolution_due_at and view["due_at"] is not None
    assert view["dispute_until"] == at_t0 + timedelta(days=7)
    assert view["can_dispute"] is True and view["can_give_feedback"] is True
    # Public events only, each with its acting unit (never a person) and its public text.
    timeline = [(e["type"], e["unit"], e["note"]) for e in view["timeline"]]
    assert timeline == [
        ("case.created", "Kantor Lurah A1", None),
        ("case.started", "Kantor Lurah A1", None),
        ("case.commented", "Kantor Lurah A1", PUBLIC_COMMENT),
        ("handoff.accepted", "Dinas PU", None),
        ("case.resolved", "Kantor Lurah A1", RESOLUTION_NOTE),
    ]
    internal = [e.type for e in events(case.id) if e.visibility == "internal"]
    assert {"handoff.requested", "handoff.rejected", "handoff.completed", "case.commented"} <= set(
        internal
    )


def test_tracking_code_is_typed_loosely_and_unknown_codes_look_alike(
    world: World, at_t0: datetime
) -> None:
    case = make_case(world)
    case.tracking_code = "0123ABCD"
    db.session.commit()
    for typed in ("0123ABCD", "0123-abcd", " o123-abcd ", "O123ABCD", "0123 ABCD"):
        assert citizens.find_case_by_code(typed).id == case.id, typed
    messages = set()
    for typed in ("0123ABCE", "0123", "!!!!-!!!!", "", "0123ABCDX"):
        with pytest.raises(NotFound) as refused:
            citizens.find_case_by_code(typed)
        messages.add(refused.value.message)
    assert messages == {citizens.UNKNOWN_CODE}
    # I and L read as 1.
    case.tracking_code = "1111AAAA"
    db.session.commit()
    assert citizens.find_case_by_code("iLl1-aaaa").id == case.id


# -- feedback -----------------------------------------------------------------------------


def test_feedback_is_recorded_once_per_resolution(world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "resolved")
    feedback = citizens.submit_feedback
    with unit_of_work():
        first = feedback(case.tracking_code, case.citizen_token, scores(4, u4=1), "Cepat", at_t0)
    row = db.session.get(Feedback, first.id)
    assert row is not None
    assert (row.case_id, row.resolution_number, row.unit_id) == (
        case.id,
        1,
        world.units["kel-a1"].id,
    )
    assert [getattr(row, f"u{i}") for i in range(1, 10)] == [4, 4, 4, 1, 4, 4, 4, 4, 4]
    assert row.comment == "Cepat" and row.submitted_at == at_t0
    received = [e for e in events(case.id) if e.type == "feedback.received"]
    assert len(received) == 1
    assert received[0].visibility == "internal" and received[0].actor_label == "warga"
    assert received[0].changes["resolution_number"] == 1
    assert received[0].changes["scores"]["u4"] == 1

    # The same resolution again: refused, nothing written.
    with pytest.raises(Conflict) as again, unit_of_work():
        feedback(case.tracking_code, case.citizen_token, scores(), None, at_t0)
    assert "sudah diterima" in again.value.message
    assert db.session.execute(select(func.count()).select_from(Feedback)).scalar_one() == 1

    # A new resolution (after a reopen) may be rated again, as resolution 2.
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.reopen_case(staff, case.id, "belum beres", at_t0)
    with unit_of_work():
        case_service.resolve_case(staff, case.id, "sekarang beres", at_t0)
    with unit_of_work():
        second = feedback(case.tracking_code.lower(), case.citizen_token, scores(2), None, at_t0)
    assert second.resolution_number == 2
    assert citizens.feedback_given(fresh(case.id)) is True


def test_feedback_also_on_a_closed_case(world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "closed")
    with unit_of_work():
        row = citizens.submit_feedback(
            case.tracking_code, case.citizen_token, scores(), None, at_t0
        )
    assert row.resolution_number == 1


@pytest.mark.parametrize(
    "status", ["new", "in_progress", "on_hold", "pending_transfer", "cancelled"]
)
def test_feedback_waits_for_a_resolution(world: World, at_t0: datetime, status: str) -> None:
    case = case_in_status(world, status)
    with pytest.raises(Conflict) as refused, unit_of_work():
        citizens.submit_feedback(case.tracking_code, case.citizen_token, scores(), None, at_t0)
    assert "setelah laporan selesai" in refused.value.message
    assert refused.value.errors == {"status": [status]}


@pytest.mark.parametrize("token", ["wrong-token", "", None])
def test_feedback_with_a_wrong_token_is_forbidden(
    world: World, at_t0: datetime, token: str | None
) -> None:
    case = case_in_status(world, "resolved")
    with pytest.raises(Forbidden) as refused, unit_of_work():
        citizens.submit_feedback(case.tracking_code, token, scores(), None, at_t0)
    assert refused.value.message == citizens.WRONG_TOKEN
    # Another case's token does not work either.
    other = case_in_status(world, "resolved")
    with pytest.raises(Forbidden), unit_of_work():
        citizens.submit_feedback(case.tracking_code, other.citizen_token, scores(), None, at_t0)
    assert db.session.execute(select(func.count()).select_from(Feedback)).scalar_one() == 0


@pytest.mark.parametrize(
    "answers",
    [
        {f"u{i}": 3 for i in range(1, 9)},  # u9 missing
        scores(3, u5=5),
        scores(3, u1=0),
        scores(3, u2=True),
        scores(3, u3="3"),
        scores(3, u7=None),
    ],
)
def test_feedback_needs_all_nine_elements_from_1_to_4(
    world: World, at_t0: datetime, answers: dict[str, Any]
) -> None:
    case = case_in_status(world, "resolved")
    with pytest.raises(InvalidInput) as refused:
        citizens.submit_feedback(case.tracking_code, case.citizen_token, answers, None, at_t0)
    assert len(refused.value.errors) == 1


# -- disputes -----------------------------------------------------------------------------


def test_dispute_within_the_window_reopens_the_case(world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "resolved")
    deadline = at_t0 + timedelta(days=7)
    with unit_of_work():
        citizens.dispute_case(
            case.tracking_code, case.citizen_token, "  Masih berlubang  ", deadline
        )
    case = fresh(case.id)
    assert case.status == "in_progress" and case.resolved_at is None
    last = events(case.id)[-1]
    assert (last.type, last.visibility, last.actor_label, last.body) == (
        "case.reopened",
        "public",
        "warga",
        "Masih berlubang",
    )
    assert last.actor_unit_id is None and last.actor_user_id is None
    view = citizens.tracking_view(case, deadline)
    assert view["timeline"][-1]["unit"] == "Warga (pelapor)"
    assert view["can_dispute"] is False and view["dispute_until"] is None


def test_dispute_after_the_window_is_refused_naming_the_deadline(
    world: World, at_t0: datetime
) -> None:
    case = case_in_status(world, "resolved")
    before = len(events(case.id))
    with pytest.raises(Conflict) as refused, unit_of_work():
        citizens.dispute_case(
            case.tracking_code,
            case.citizen_token,
            "masih rusak",
            at_t0 + timedelta(days=7, minutes=1),
        )
    message = refused.value.message
    assert (
        "Masa sanggahan 7 hari sudah berakhir pada Rabu, 11 Maret 2026 pukul 10.00 WIB" in message
    )
    assert refused.value.errors == {"dispute_deadline": ["2026-03-11T10:00:00+07:00"]}
    assert fresh(case.id).status == "resolved" and len(events(case.id)) == before


def test_dispute_window_follows_the_setting(app: Any, world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "resolved")
    app.config["COORD_DISPUTE_DAYS"] = 2
    try:
        with pytest.raises(Conflict) as refused, unit_of_work():
            citizens.dispute_case(
                case.tracking_code, case.citizen_token, "x", at_t0 + timedelta(days=2, seconds=1)
            )
        assert "Masa sanggahan 2 hari" in refused.value.message
        with unit_of_work():
            citizens.dispute_case(
                case.tracking_code, case.citizen_token, "x", at_t0 + timedelta(days=2)
            )
    finally:
        app.config["COORD_DISPUTE_DAYS"] = 7
    assert fresh(case.id).status == "in_progress"


@pytest.mark.parametrize(
    "status,words",
    [
        ("closed", "sudah ditutup"),
        ("in_progress", "hanya dapat diajukan untuk laporan yang sudah"),
        ("new", "hanya dapat diajukan"),
        ("cancelled", "hanya dapat diajukan"),
    ],
)
def test_dispute_needs_a_resolved_case(
    world: World, at_t0: datetime, status: str, words: str
) -> None:
    case = case_in_status(world, status)
    with pytest.raises(Conflict) as refused, unit_of_work():
        citizens.dispute_case(case.tracking_code, case.citizen_token, "alasan", at_t0)
    assert words in refused.value.message


def test_dispute_with_a_wrong_token_is_forbidden(world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "resolved")
    with pytest.raises(Forbidden), unit_of_work():
        citizens.dispute_case(case.tracking_code, case.citizen_token.upper() + "x", "alasan", at_t0)
    with pytest.raises(InvalidInput):
        citizens.dispute_case(case.tracking_code, case.citizen_token, "   ", at_t0)
    assert fresh(case.id).status == "resolved"


# -- automatic closing --------------------------------------------------------------------


def resolved_at(world: World, when: datetime) -> Case:
    with clock.freeze(when):
        return case_in_status(world, "resolved")


def test_auto_close_closes_exactly_the_expired_resolutions(world: World, at_t0: datetime) -> None:
    now = at_t0 + timedelta(days=30)
    expired = resolved_at(world, now - timedelta(days=8))
    boundary = resolved_at(world, now - timedelta(days=7))
    recent = resolved_at(world, now - timedelta(days=7) + timedelta(minutes=1))
    disputed = resolved_at(world, now - timedelta(days=9))
    with unit_of_work():
        citizens.dispute_case(
            disputed.tracking_code, disputed.citizen_token, "belum", now - timedelta(days=8)
        )
    with clock.freeze(now - timedelta(days=20)):
        closed_by_hand = case_in_status(world, "closed")
        open_case = case_in_status(world, "in_progress")

    assert citizens.close_expired_resolutions(now, batch_size=1) == 2

    statuses = {
        c.id: fresh(c.id).status
        for c in (expired, boundary, recent, disputed, closed_by_hand, open_case)
    }
    assert statuses == {
        expired.id: "closed",
        boundary.id: "closed",
        recent.id: "resolved",
        disputed.id: "in_progress",
        closed_by_hand.id: "closed",
        open_case.id: "in_progress",
    }
    closing = events(expired.id)[-1]
    assert (closing.type, closing.actor_label, closing.visibility, closing.at) == (
        "case.closed",
        "system",
        "public",
        now,
    )
    assert "masa sanggahan 7 hari" in (closing.body or "")
    assert fresh(expired.id).closed_at == now

    # Idempotent: a second run (or an overlapping one) closes nothing and writes nothing.
    total = db.session.execute(select(func.count()).select_from(CaseEvent)).scalar_one()
    assert citizens.close_expired_resolutions(now) == 0
    assert db.session.execute(select(func.count()).select_from(CaseEvent)).scalar_one() == total


def test_auto_close_job_runs_on_a_real_worker(
    world: World, at_t0: datetime, run_worker: Any
) -> None:
    expired = resolved_at(world, at_t0 - timedelta(days=10))
    recent = resolved_at(world, at_t0 - timedelta(days=1))
    assert jobs.enqueue(jobs.CLOSE_EXPIRED_RESOLUTIONS)
    run_worker([jobs.CLOSE_EXPIRED_RESOLUTIONS.queue])
    assert fresh(expired.id).status == "closed"
    assert fresh(recent.id).status == "resolved"

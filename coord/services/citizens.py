"""Citizens: the public view of a case by its tracking code, SKM feedback, disputes, and the
automatic closing of resolved cases once the dispute window has passed.

What a citizen sees is built here and nowhere else, so the privacy rule lives in one place:
the public view carries the status, the category, the unit that holds the case, the due date
and the *public* events (their type, time, the acting unit's name and their public text). It
never carries the title, description, address or anything about the reporter, never a staff
member's name, never an internal event or comment.

Citizens act through ``CITIZEN`` (a ``SystemActor`` labelled ``warga``) and prove who they are
with the token printed on their receipt (``Case.citizen_token``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import exists, select

from coord.domain.states import CaseStatus
from coord.domain.tracking import format_tracking_code, normalise_tracking_code
from coord.extensions import db
from coord.models import SKM_ELEMENTS, Case, CaseEvent, Feedback, Visibility
from coord.services.case_records import get_case_for_update
from coord.services.cases import close_case, reopen_case
from coord.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from coord.services.events import record_event
from coord.services.policy import SYSTEM, SystemActor
from coord.services.uow import unit_of_work

log = logging.getLogger(__name__)

WIB = ZoneInfo("Asia/Jakarta")

# The actor of everything a citizen does on the public pages.
CITIZEN = SystemActor(label="warga")

UNKNOWN_CODE = "Kode pelacakan tidak ditemukan. Periksa kembali kode pada tanda terima Anda."
WRONG_TOKEN = (
    "Token tidak cocok dengan laporan ini. Gunakan token yang tercetak pada tanda terima "
    "laporan Anda (huruf besar dan kecil dibedakan)."
)

STATUS_LABELS: dict[str, str] = {
    CaseStatus.NEW.value: "Diterima, menunggu tindak lanjut",
    CaseStatus.IN_PROGRESS.value: "Sedang ditangani",
    CaseStatus.PENDING_TRANSFER.value: "Sedang dialihkan ke unit lain",
    CaseStatus.ON_HOLD.value: "Ditunda sementara",
    CaseStatus.RESOLVED.value: "Selesai ditangani",
    CaseStatus.CLOSED.value: "Ditutup",
    CaseStatus.CANCELLED.value: "Dibatalkan",
}

EVENT_LABELS: dict[str, str] = {
    "case.created": "Laporan diterima",
    "case.started": "Mulai ditangani",
    "case.assigned": "Petugas ditunjuk",
    "case.updated": "Data laporan diperbarui",
    "case.held": "Penanganan ditunda",
    "case.resumed": "Penanganan dilanjutkan",
    "case.resolved": "Selesai ditangani",
    "case.reopened": "Dibuka kembali",
    "case.closed": "Ditutup",
    "case.cancelled": "Dibatalkan",
    "case.reassigned": "Dialihkan oleh pimpinan",
    "case.commented": "Tanggapan petugas",
    "handoff.requested": "Diteruskan ke unit lain",
    "handoff.accepted": "Diterima oleh unit tujuan",
    "handoff.rejected": "Penerusan ditolak",
    "handoff.recalled": "Penerusan ditarik kembali",
    "handoff.completed": "Bantuan unit lain selesai",
    "feedback.received": "Penilaian warga diterima",
}

CHANNEL_LABELS: dict[str, str] = {
    "walk_in": "Datang langsung",
    "phone": "Telepon",
    "whatsapp": "WhatsApp",
    "letter": "Surat",
    "web": "Situs web",
    "lapor": "SP4N-LAPOR!",
    "open311": "Aplikasi (Open311)",
    "other": "Lainnya",
}

_MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


# -- formatting shared by the public JSON, pages, PDFs and messages ------------------------


def format_wib(at: datetime | None, *, weekday: bool = True) -> str:
    """``Rabu, 4 Maret 2026 pukul 10.00 WIB`` (Indonesian, Asia/Jakarta); ``-`` for none."""
    if at is None:
        return "-"
    local = at.astimezone(WIB)
    day = f"{_DAYS[local.weekday()]}, " if weekday else ""
    return (
        f"{day}{local.day} {_MONTHS[local.month - 1]} {local.year} "
        f"pukul {local.hour:02d}.{local.minute:02d} WIB"
    )


def dispute_days() -> int:
    return int(current_app.config.get("COORD_DISPUTE_DAYS", 7))


def public_base_url() -> str:
    return str(current_app.config.get("COORD_PUBLIC_BASE_URL", "")).rstrip("/")


def tracking_urls(case: Case) -> dict[str, str]:
    """Where a citizen (the /lacak page, the printable history) or an app (JSON) follows the
    case; none of them needs the token."""
    code = format_tracking_code(case.tracking_code)
    base = f"{public_base_url()}/public/v1/track/{code}"
    return {
        "page": f"{public_base_url()}/lacak/{code}",
        "json": base,
        "history": f"{base}/history",
        "history_pdf": f"{base}/history.pdf",
    }


# -- finding a case and checking the token ------------------------------------------------


def find_case_by_code(text: str, *, for_update: bool = False) -> Case:
    """The case whose tracking code the citizen typed (any case, dashes optional, O->0,
    I/L->1). One message for a malformed and an unknown code, so probing learns nothing."""
    code = normalise_tracking_code(text or "")
    if code is None:
        raise NotFound(UNKNOWN_CODE)
    case_id = db.session.execute(
        select(Case.id).where(Case.tracking_code == code)
    ).scalar_one_or_none()
    if case_id is None:
        raise NotFound(UNKNOWN_CODE)
    case = get_case_for_update(case_id) if for_update else db.session.get(Case, case_id)
    if case is None:
        raise NotFound(UNKNOWN_CODE)
    return case


def check_token(case: Case, token: str | None) -> None:
    """Forbidden unless ``token`` is the case's citizen token (compared in constant time)."""
    expected = case.citizen_token
    if (
        not expected
        or not token
        or not secrets.compare_digest(
            token.strip().encode("utf-8", "surrogatepass"), expected.encode()
        )
    ):
        raise Forbidden(WRONG_TOKEN)


def case_for_citizen(code: str, token: str | None, *, for_update: bool = False) -> Case:
    case = find_case_by_code(code, for_update=for_update)
    check_token(case, token)
    return case


# -- the public view ----------------------------------------------------------------------


def public_events(case_id: int) -> list[CaseEvent]:
    return list(
        db.session.execute(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.visibility == Visibility.PUBLIC.value)
            .order_by(CaseEvent.at, CaseEvent.id)
        ).scalars()
    )


def acting_unit_name(event: CaseEvent) -> str:
    """The unit that acted, never a person: staff act for their unit; the rest are the
    citizen, an Open311 app or the system."""
    if event.actor_unit is not None:
        return event.actor_unit.name
    if event.actor_label == CITIZEN.label:
        return "Warga (pelapor)"
    if event.actor_label.startswith("open311:"):
        return "Aplikasi pelaporan (Open311)"
    return "Sistem"


# Events whose text is written for the citizen: public comments, the resolution note, the
# hold reason (what the office waits for), the cancellation note and the citizen's own dispute.
# Other public events (an accepted handoff, say) show on the timeline without the staff's note.
NOTE_SHOWN = frozenset(
    {
        "case.commented",
        "case.resolved",
        "case.held",
        "case.reopened",
        "case.cancelled",
        "case.attachment_added",
    }
)


def public_event_view(event: CaseEvent) -> dict[str, Any]:
    return {
        "type": event.type,
        "label": EVENT_LABELS.get(event.type, event.type),
        "at": event.at,
        "unit": acting_unit_name(event),
        "note": (event.body or None) if event.type in NOTE_SHOWN else None,
    }


def dispute_deadline(case: Case) -> datetime | None:
    """Until when a resolved case may be disputed (``COORD_DISPUTE_DAYS`` after resolution)."""
    if case.status != CaseStatus.RESOLVED.value or case.resolved_at is None:
        return None
    return case.resolved_at + timedelta(days=dispute_days())


def feedback_given(case: Case) -> bool:
    """Whether the current resolution has been rated already."""
    if case.resolution_count < 1:
        return False
    return bool(
        db.session.execute(
            select(
                exists().where(
                    Feedback.case_id == case.id, Feedback.resolution_number == case.resolution_count
                )
            )
        ).scalar()
    )


def tracking_view(case: Case, now: datetime) -> dict[str, Any]:
    """What anybody holding the tracking code may see (see the module docstring)."""
    deadline = dispute_deadline(case)
    rateable = case.status in (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
    return {
        "tracking_code": format_tracking_code(case.tracking_code),
        "status": case.status,
        "status_label": STATUS_LABELS.get(case.status, case.status),
        "category": {"code": case.category.code, "name": case.category.name_id},
        "unit": {"code": case.owner_unit.code, "name": case.owner_unit.name},
        "received_at": case.received_at,
        "due_at": case.resolution_due_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "dispute_until": deadline,
        "can_dispute": deadline is not None and now <= deadline,
        "can_give_feedback": rateable and case.resolution_count >= 1 and not feedback_given(case),
        "timeline": [public_event_view(e) for e in public_events(case.id)],
        "links": tracking_urls(case),
    }


# -- commands -----------------------------------------------------------------------------


def _validated_scores(answers: Mapping[str, Any]) -> dict[str, int]:
    errors: dict[str, list[str]] = {}
    scores: dict[str, int] = {}
    for element in SKM_ELEMENTS:
        value = answers.get(element)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
            errors[element] = ["wajib diisi dengan nilai 1 sampai 4"]
        else:
            scores[element] = value
    if errors:
        raise InvalidInput("Kesembilan unsur SKM (u1 sampai u9) wajib dinilai 1 sampai 4.", errors)
    return scores


def submit_feedback(
    code: str, token: str | None, answers: Mapping[str, Any], comment: str | None, now: datetime
) -> Feedback:
    """Record the citizen's SKM survey for the current resolution of the case.

    Checked: the code exists (404), the token matches (403), the case is resolved or closed
    and this resolution has not been rated yet (409). Writes a ``Feedback`` row for the unit
    that owns (resolved) the case and an internal ``feedback.received`` event.
    """
    scores = _validated_scores(answers)
    case = case_for_citizen(code, token, for_update=True)
    if (
        case.status not in (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
        or case.resolution_count < 1
    ):
        raise Conflict(
            "Penilaian (SKM) baru dapat diberikan setelah laporan selesai ditangani; status "
            f"laporan sekarang: {STATUS_LABELS.get(case.status, case.status)}.",
            {"status": [case.status]},
        )
    if feedback_given(case):
        raise Conflict(
            "Penilaian untuk penyelesaian laporan ini sudah diterima; setiap penyelesaian "
            "hanya dapat dinilai satu kali.",
            {"resolution_number": [str(case.resolution_count)]},
        )
    feedback = Feedback(
        case_id=case.id,
        resolution_number=case.resolution_count,
        unit_id=case.owner_unit_id,
        submitted_at=now,
        comment=comment or None,
        **scores,
    )
    db.session.add(feedback)
    db.session.flush()
    # Internal: SKM answers are anonymous to the public; the office reads them.
    record_event(
        case,
        "feedback.received",
        CITIZEN,
        now,
        body=comment or None,
        visibility=Visibility.INTERNAL,
        changes={
            "feedback_id": feedback.id,
            "resolution_number": case.resolution_count,
            "unit_id": case.owner_unit_id,
            "scores": scores,
        },
    )
    return feedback


def dispute_case(code: str, token: str | None, reason: str, now: datetime) -> Case:
    """The citizen disputes the resolution: a resolved case reopens (``in_progress``) if the
    dispute comes within ``COORD_DISPUTE_DAYS`` of ``resolved_at``.

    Checked: code (404), token (403), status resolved and the window still open (409, the
    message names the deadline). Writes a public ``case.reopened`` event with the reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.field("reason", "tuliskan alasan sanggahan")
    case = case_for_citizen(code, token, for_update=True)
    if case.status == CaseStatus.CLOSED.value:
        raise Conflict(
            f"Laporan sudah ditutup pada {format_wib(case.closed_at)}; sanggahan tidak dapat "
            "diajukan lagi. Ajukan laporan baru bila masalahnya masih ada.",
            {"status": [case.status]},
        )
    if case.status != CaseStatus.RESOLVED.value:
        raise Conflict(
            "Sanggahan hanya dapat diajukan untuk laporan yang sudah diselesaikan; status "
            f"laporan sekarang: {STATUS_LABELS.get(case.status, case.status)}.",
            {"status": [case.status]},
        )
    deadline = dispute_deadline(case)
    assert deadline is not None
    if now > deadline:
        raise Conflict(
            f"Masa sanggahan {dispute_days()} hari sudah berakhir pada {format_wib(deadline)}; "
            "laporan tidak dapat dibuka kembali melalui sanggahan. Ajukan laporan baru bila "
            "masalahnya masih ada.",
            {"dispute_deadline": [deadline.astimezone(WIB).isoformat(timespec="seconds")]},
        )
    return reopen_case(CITIZEN, case.id, reason, now)


def close_expired_resolutions(now: datetime, *, batch_size: int = 100) -> int:
    """Close (as the system) every resolved case whose dispute window ended; returns how many.

    Each case closes in its own small transaction under its row lock, after checking again
    that it is still resolved and still expired (a dispute or a new resolution in between
    wins), so running it twice or concurrently closes nothing twice.
    """
    cutoff = now - timedelta(days=dispute_days())
    note = (
        f"Ditutup otomatis oleh sistem: masa sanggahan {dispute_days()} hari setelah "
        "penyelesaian sudah berakhir."
    )
    closed = 0
    after_id = 0
    while True:
        ids = list(
            db.session.execute(
                select(Case.id)
                .where(
                    Case.status == CaseStatus.RESOLVED.value,
                    Case.resolved_at <= cutoff,
                    Case.id > after_id,
                )
                .order_by(Case.id)
                .limit(batch_size)
            ).scalars()
        )
        db.session.rollback()  # end the read; each close below is its own transaction
        if not ids:
            return closed
        for case_id in ids:
            try:
                with unit_of_work():
                    case = get_case_for_update(case_id)
                    if (
                        case is None
                        or case.status != CaseStatus.RESOLVED.value
                        or case.resolved_at is None
                        or case.resolved_at > cutoff
                    ):
                        continue
                    close_case(SYSTEM, case_id, now, note=note)
                closed += 1
            except Conflict:
                log.info(
                    "auto-close skipped a case changed concurrently", extra={"case_id": case_id}
                )
        after_id = ids[-1]

"""Jinja filters: WIB times, countdowns, labels for statuses and event types."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import lazy_gettext as _l

from coord.clock import now_utc
from coord.domain.tracking import format_tracking_code

WIB = ZoneInfo("Asia/Jakarta")

STATUS_LABELS = {
    "new": _l("Baru"),
    "in_progress": _l("Sedang ditangani"),
    "pending_transfer": _l("Menunggu diterima unit lain"),
    "on_hold": _l("Ditunda"),
    "resolved": _l("Selesai ditangani"),
    "closed": _l("Ditutup"),
    "cancelled": _l("Dibatalkan"),
    "pending": _l("Menunggu jawaban"),
    "accepted": _l("Diterima"),
    "rejected": _l("Ditolak"),
    "recalled": _l("Ditarik kembali"),
    "completed": _l("Selesai dibantu"),
    "running": _l("Berjalan"),
    "paused": _l("Dihentikan sementara"),
    "met": _l("Tepat waktu"),
    "breached": _l("Terlambat"),
    "stopped": _l("Tidak berlaku"),
}

EVENT_LABELS = {
    "case.created": _l("Kasus dicatat"),
    "case.updated": _l("Data kasus diubah"),
    "case.started": _l("Mulai ditangani"),
    "case.assigned": _l("Ditugaskan"),
    "case.reassigned": _l("Dipindahkan oleh pimpinan"),
    "case.held": _l("Ditunda"),
    "case.resumed": _l("Dilanjutkan"),
    "case.resolved": _l("Selesai ditangani"),
    "case.reopened": _l("Dibuka kembali"),
    "case.closed": _l("Ditutup"),
    "case.cancelled": _l("Dibatalkan"),
    "case.commented": _l("Catatan"),
    "case.bounced": _l("Berpindah-pindah unit"),
    "case.escalated": _l("Dieskalasi ke pimpinan"),
    "handoff.requested": _l("Disposisi dikirim"),
    "handoff.accepted": _l("Disposisi diterima"),
    "handoff.rejected": _l("Disposisi ditolak"),
    "handoff.recalled": _l("Disposisi ditarik"),
    "handoff.completed": _l("Bantuan selesai"),
    "sla.warning": _l("Peringatan batas waktu"),
    "sla.breached": _l("Batas waktu terlewati"),
    "feedback.received": _l("Survei kepuasan diterima"),
    "case.attachment_added": _l("Lampiran ditambahkan"),
}

ACTION_LABELS = {
    "start": _l("Mulai tangani"),
    "assign": _l("Tugaskan"),
    "hold": _l("Tunda"),
    "resume": _l("Lanjutkan"),
    "resolve": _l("Selesaikan"),
    "reopen": _l("Buka kembali"),
    "close": _l("Tutup"),
    "cancel": _l("Batalkan"),
    "reassign": _l("Tetapkan unit pemilik"),
}

CLOCK_LABELS = {
    "response": _l("Respons pertama"),
    "resolution": _l("Penyelesaian"),
    "handoff_ack": _l("Tanggapan disposisi"),
}


def wib(value: datetime | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    if value is None:
        return "–"
    return value.astimezone(WIB).strftime(fmt) + " WIB"


def countdown(due: datetime | None) -> str:
    """'2 hari 3 jam lagi' or 'lewat 5 jam' (wall-clock, for a quick read)."""
    if due is None:
        return ""
    delta = due - now_utc()
    late = delta.total_seconds() < 0
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(str(_l("%(n)s hari", n=days)))
    if hours:
        parts.append(str(_l("%(n)s jam", n=hours)))
    if not days and minutes:
        parts.append(str(_l("%(n)s menit", n=minutes)))
    text = " ".join(parts) or str(_l("sekarang"))
    return str(_l("lewat %(t)s", t=text)) if late else str(_l("%(t)s lagi", t=text))


def urgency(due: datetime | None, breached: bool = False) -> str:
    """A CSS class: late, soon (within 8 hours), ok."""
    if breached:
        return "late"
    if due is None:
        return "ok"
    left = (due - now_utc()).total_seconds()
    if left < 0:
        return "late"
    if left < 8 * 3600:
        return "soon"
    return "ok"


def register(app: Flask) -> None:
    from coord.web.paging import page_url

    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.filters.update(
        wib=wib,
        countdown=countdown,
        urgency=urgency,
        code=format_tracking_code,
        status_label=lambda s: STATUS_LABELS.get(s, s),
        event_label=lambda s: EVENT_LABELS.get(s, s),
        action_label=lambda s: ACTION_LABELS.get(s, s),
        clock_label=lambda s: CLOCK_LABELS.get(s, s),
    )

"""What people read instead of the codes the database stores: one place for every label.

Each map turns a stored code (a priority, a channel, a case or handoff status, an event type,
a rejection reason...) into a message of the translation catalogue (Indonesian source, English
in ``coord/translations/en``), evaluated when shown. The pages use them through the Jinja
filters of ``coord.web.filters``; the dashboard's CSV downloads and the printed documents use
``label`` directly. A code with no label is shown as itself, so a new code is visible rather
than hidden.

Names that live in the database (categories, units, regions) are not here: show ``name_id`` /
``name``, with the code at most as secondary text (``<span class="code">``).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

PRIORITY = {
    "low": _l("Rendah"),
    "normal": _l("Biasa"),
    "high": _l("Tinggi"),
    "urgent": _l("Darurat"),
}

CHANNEL = {
    "walk_in": _l("Datang langsung"),
    "phone": _l("Telepon"),
    "whatsapp": _l("WhatsApp"),
    "letter": _l("Surat"),
    "web": _l("Situs web"),
    "lapor": _l("SP4N-LAPOR!"),
    "open311": _l("Aplikasi (Open311)"),
    "other": _l("Lainnya"),
}

REJECT_REASON = {
    "not_our_jurisdiction": _l("Bukan kewenangan kami"),
    "incomplete_information": _l("Informasi kurang lengkap"),
    "duplicate": _l("Duplikat"),
    "other": _l("Lainnya"),
}

CANCEL_REASON = {
    "invalid": _l("Tidak valid"),
    "spam": _l("Spam"),
    "duplicate": _l("Duplikat"),
}

HANDOFF_KIND = {
    "transfer": _l("Pemindahan"),
    "assist": _l("Permintaan bantuan"),
}

STATUS = {
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

EVENT = {
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

ACTION = {
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

CLOCK = {
    "response": _l("Respons pertama"),
    "resolution": _l("Penyelesaian"),
    "handoff_ack": _l("Tanggapan disposisi"),
}

ROLE = {
    "staff": _l("Petugas"),
    "liaison": _l("Penghubung"),
    "manager": _l("Pimpinan"),
    "admin": _l("Admin"),
}

UNIT_KIND = {
    "kelurahan": _l("Kelurahan"),
    "camat_office": _l("Kantor camat"),
    "agency": _l("Dinas / instansi"),
    "city_office": _l("Pemerintah kota"),
}

CLOCK_KIND = {
    "business": _l("Hari dan jam kerja"),
    "calendar": _l("Hari kalender"),
}

MAPS: dict[str, Mapping[str, LazyString]] = {
    "priority": PRIORITY,
    "channel": CHANNEL,
    "reject_reason": REJECT_REASON,
    "cancel_reason": CANCEL_REASON,
    "handoff_kind": HANDOFF_KIND,
    "status": STATUS,
    "event": EVENT,
    "action": ACTION,
    "clock": CLOCK,
    "role": ROLE,
    "unit_kind": UNIT_KIND,
    "clock_kind": CLOCK_KIND,
}


def label(kind: str, code: str | None) -> str:
    """The label of ``code`` among the ``kind`` codes, in the current language; the code
    itself when it has none (and '' for None)."""
    if code is None:
        return ""
    found = MAPS[kind].get(code)
    return str(found) if found is not None else code

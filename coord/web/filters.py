"""Jinja filters: WIB times, countdowns, numbers in the page's language (``coord.formatting``)
and the labels of stored codes (``coord.labels``)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l

from coord import formatting, labels
from coord.clock import now_utc
from coord.domain.tracking import format_tracking_code

WIB = ZoneInfo("Asia/Jakarta")


def _locale() -> str:
    return str(get_locale() or "id")


def number(value: float | int | None, digits: int = 1) -> str:
    """A number as the page's language writes it (4,5 and 1.234 in Indonesian)."""
    return formatting.number(value, _locale(), digits)


def percent(share: float | None) -> str:
    return formatting.percent(share, _locale())


def work_time(minutes: float | None) -> str:
    """Working minutes in the largest sensible unit: '45 menit kerja', '4,5 jam kerja',
    '3 hari kerja'."""
    if minutes is None:
        return "–"
    amount, unit = formatting.work_duration(minutes)
    text = formatting.number(amount, _locale(), 1)
    if unit == "minutes":
        return ngettext("%(n)s menit kerja", "%(n)s menit kerja", int(amount), n=text)
    if unit == "hours":
        return ngettext("%(n)s jam kerja", "%(n)s jam kerja", 1 if amount == 1 else 2, n=text)
    return ngettext("%(n)s hari kerja", "%(n)s hari kerja", 1 if amount == 1 else 2, n=text)


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
        number=number,
        percent=percent,
        work_time=work_time,
        # status_label, priority_label, ...: one filter per label map (coord/labels.py)
        **{f"{kind}_label": partial(labels.label, kind) for kind in labels.MAPS},
    )

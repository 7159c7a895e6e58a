"""The arguments of a GeoReport v2 ``GET requests`` read into the filters the request
queries take (``RequestFilters`` of ``coord.services.open311.queries``): W3C date-times,
comma-separated lists, the open/closed status and the 90-day span. A bad value is a 400
naming the argument.
"""

from __future__ import annotations

from datetime import datetime

from coord.services.errors import InvalidInput
from coord.services.open311.jurisdiction import WIB
from coord.services.open311.queries import DEFAULT_SPAN, MAX_REQUESTS, RequestFilters


def parse_datetime(name: str, raw: str) -> datetime:
    """W3C date-time (``2010-01-01T00:00:00Z``, an offset, or none = WIB) or a date."""
    text = raw.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field(name, "use ISO 8601, e.g. 2026-03-01T00:00:00+07:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=WIB)
    if not 2000 <= parsed.year < 2100:
        raise InvalidInput.field(name, "must be between 2000 and 2100")
    return parsed


def _comma_list(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return items or None


def filters_from_args(args: dict[str, str | None]) -> RequestFilters:
    """Read the GET requests arguments; bad values are 400s naming the argument."""
    statuses = _comma_list(args.get("status"))
    if statuses is not None:
        unknown = [s for s in statuses if s not in ("open", "closed")]
        if unknown:
            raise InvalidInput.field("status", "open, closed or both (comma-separated)")
    raw_start, raw_end = args.get("start_date"), args.get("end_date")
    start = parse_datetime("start_date", raw_start) if raw_start else None
    end = parse_datetime("end_date", raw_end) if raw_end else None
    if start is not None and end is not None:
        if end < start:
            raise InvalidInput.field("end_date", "must not be before start_date")
        if end - start > DEFAULT_SPAN:
            raise InvalidInput.field(
                "end_date", "start_date and end_date may not span more than 90 days"
            )
    ids = _comma_list(args.get("service_request_id"))
    return RequestFilters(
        service_request_ids=ids[:MAX_REQUESTS] if ids else None,
        service_codes=_comma_list(args.get("service_code")),
        start_date=start,
        end_date=end,
        statuses=statuses,
    )

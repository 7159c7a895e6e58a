"""Reports, computed by the database (aggregates), never by loading cases into Python.

One module per report: ``sla`` (SLA compliance), ``handoffs`` (handoffs and bounced cases),
``backlog`` (open cases by age), ``breach_list`` (the breach list), ``ikm`` (the SKM survey
index) and ``public`` (the public statistics); they share ``filters`` (``ReportFilters``, the
WIB periods, unit and category lookups), ``scope`` (who may read reports, which cases a report
reads, the cancelled-case rule) and ``sql`` (the SQL helpers: WIB period functions, portable
percentiles, ``_aggregate``).

Callers write ``from coord.services import reports`` and ``reports.sla_report(...)``: this
package re-exports the public functions and types its callers use, listed in ``__all__``:
``ReportFilters``, ``PERIODS``, ``month_range``, ``require_report_reader``, the reports
(``sla_report`` and ``sla_reports``, ``handoff_report``, ``backlog_report``, ``breaches``,
``ikm_report``, ``public_stats``), ``ikm_weight``, ``weight_label``, ``default_public_range``,
the CSV columns of each report (``*_COLUMNS``) and the backlog's ``AGE_BUCKETS``.
"""

from __future__ import annotations

from coord.services.reports.backlog import AGE_BUCKETS, BACKLOG_COLUMNS, backlog_report
from coord.services.reports.breach_list import BREACH_COLUMNS, breaches
from coord.services.reports.filters import PERIODS, ReportFilters, month_range, names_by_code
from coord.services.reports.handoffs import BOUNCED_COLUMNS, HANDOFF_COLUMNS, handoff_report
from coord.services.reports.ikm import IKM_COLUMNS, ikm_report, ikm_weight, weight_label
from coord.services.reports.public import default_public_range, public_stats
from coord.services.reports.scope import require_report_reader
from coord.services.reports.sla import SLA_COLUMNS, sla_report, sla_reports

__all__ = [
    "AGE_BUCKETS",
    "BACKLOG_COLUMNS",
    "BOUNCED_COLUMNS",
    "BREACH_COLUMNS",
    "HANDOFF_COLUMNS",
    "IKM_COLUMNS",
    "PERIODS",
    "SLA_COLUMNS",
    "ReportFilters",
    "backlog_report",
    "breaches",
    "handoff_report",
    "ikm_report",
    "ikm_weight",
    "default_public_range",
    "month_range",
    "names_by_code",
    "public_stats",
    "require_report_reader",
    "sla_report",
    "sla_reports",
    "weight_label",
]

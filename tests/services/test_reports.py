"""Manager reports (SLA compliance, handoffs, backlog, IKM) over a small data set built through
the services with a frozen clock and SLA sweeps; every figure is worked out by hand below.

Calendar: the default one (Monday-Friday 08:00-16:00 WIB; 16 and 17 February 2026 are
national holidays). One working day = 480 minutes. Policies of the test world: response 1440
(3 days), resolution 2400 (5 days), handoff acknowledgement 480 (1 day), on business time.
All times below are WIB.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from coord import clock
from coord.extensions import db
from coord.models import Case, Feedback, Handoff, SlaClock
from coord.services import case_intake, reports
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.errors import Forbidden
from coord.services.policy import readable_cases
from coord.services.reports.scope import OPEN_STATUS_VALUES
from coord.services.sla_calendars import calendar_of
from coord.services.sla_sweep import sweep
from coord.services.uow import unit_of_work
from tests.conftest import is_postgres
from tests.factories import World, case_in_status, new_case_data

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 13, 10, 0, tzinfo=WIB)  # Friday: when the reports are read
ALL = reports.ReportFilters()


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


@dataclass
class Dataset:
    world: World
    cases: dict[str, Case] = field(default_factory=dict)
    handoffs: dict[str, int] = field(default_factory=dict)

    def staff(self, unit: str) -> Any:
        return self.world.user(unit, "staff")

    def liaison(self, unit: str) -> Any:
        return self.world.user(unit, "liaison")

    def run(self, when: datetime, command: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one service command at ``when`` (clock frozen there) in its own transaction."""
        clock.set_frozen(when)
        with unit_of_work():
            return command(*args, **kwargs)

    def create(
        self,
        name: str,
        when: datetime,
        unit: str = "kel-a1",
        *,
        received_at: datetime | None = None,
        **fields: Any,
    ) -> Case:
        fields.setdefault("region_code", "12.71.01.1001")
        data = new_case_data(received_at=received_at or when, **fields)
        case, _ = self.run(when, case_intake.create_case, self.staff(unit), data, when)
        self.cases[name] = case
        return case

    def id(self, name: str) -> int:
        return self.cases[name].id

    def forward(
        self, name: str, when: datetime, sender: str, to: str, kind: str = "transfer"
    ) -> int:
        handoff = self.run(
            when,
            handoff_service.request_handoff,
            self.staff(sender),
            self.id(name),
            kind,
            to,
            "mohon ditindaklanjuti",
            when,
        )
        return int(handoff.id)

    def feedback(
        self, name: str, unit: str, submitted: datetime, answers: list[int | None], number: int = 1
    ) -> None:
        with unit_of_work():
            db.session.add(
                Feedback(
                    case_id=self.id(name),
                    resolution_number=number,
                    unit_id=self.world.units[unit].id,
                    submitted_at=submitted,
                    **{f"u{i + 1}": a for i, a in enumerate(answers)},
                )
            )


def build_dataset(world: World) -> Dataset:
    """The thirteen cases C1..C13 (C11 in kecamatan B), in time order; see each comment."""
    d = Dataset(world)
    cs, hs = case_service, handoff_service
    # C1 jalan-rusak, kel-a1: received Mon 2 Feb 09:00, started 11:00 (response 120 min),
    # resolved Wed 4 Feb 15:00: 420 (2 Feb 09-16) + 480 (3 Feb) + 420 (4 Feb 08-15) = 1320 min,
    # due Mon 9 Feb 09:00 -> met.
    d.create("C1", wib(2026, 2, 2, 9))
    d.run(wib(2026, 2, 2, 11), cs.start_case, d.staff("kel-a1"), d.id("C1"), wib(2026, 2, 2, 11))
    # C2: received Tue 3 Feb 08:00; response due Thu 5 Feb 16:00 (3 x 480), breached by the
    # sweep of 6 Feb; started Fri 6 Feb 10:00: 3 x 480 + 120 = 1560 min. Resolution due Mon 9
    # Feb 16:00 (5 x 480); resolved Wed 11 Feb 09:00: 2400 + 480 (10 Feb) + 60 = 2940, late.
    d.create("C2", wib(2026, 2, 3, 8))
    # C11 in kecamatan B (kel-b1), resolved from new Wed 4 Feb 09:00: 480 min for both clocks.
    d.create("C11", wib(2026, 2, 3, 9), "kel-b1", region_code="12.71.02.1001")
    d.run(
        wib(2026, 2, 4, 9),
        cs.resolve_case,
        d.staff("kel-b1"),
        d.id("C11"),
        "selesai",
        wib(2026, 2, 4, 9),
    )
    # C3: received Wed 4 Feb 10:00, started 10:30 (response 30); held Thu 5 Feb 10:00 after
    # 360 + 120 = 480 working minutes, resumed Tue 10 Feb 10:00 (360 + 480 + 480 + 120 = 1440
    # paused, so due moves from 11 Feb 10:00 to 18 Feb 10:00); resolved Wed 11 Feb 12:00:
    # 480 + 360 (10 Feb 10-16) + 240 (11 Feb 08-12) = 1080 counted minutes, met.
    d.create("C3", wib(2026, 2, 4, 10))
    d.run(
        wib(2026, 2, 4, 10, 30),
        cs.start_case,
        d.staff("kel-a1"),
        d.id("C3"),
        wib(2026, 2, 4, 10, 30),
    )
    d.run(
        wib(2026, 2, 4, 15),
        cs.resolve_case,
        d.staff("kel-a1"),
        d.id("C1"),
        "sudah ditambal",
        wib(2026, 2, 4, 15),
    )
    d.run(
        wib(2026, 2, 5, 10),
        cs.hold_case,
        d.staff("kel-a1"),
        d.id("C3"),
        "menunggu warga",
        wib(2026, 2, 5, 10),
    )
    # C4 sampah: received Thu 5 Feb 14:00, forwarded to dinas-pu 14:30 (response 30), accepted
    # Fri 6 Feb 09:30 (ack 90 + 90 = 180, due 6 Feb 14:30: met); dinas-pu resolves Mon 9 Feb
    # 15:00: 120 + 480 + 420 = 1020, met.
    d.create("C4", wib(2026, 2, 5, 14), category="sampah")
    d.handoffs["C4"] = d.forward("C4", wib(2026, 2, 5, 14, 30), "kel-a1", "dinas-pu")
    sweep(wib(2026, 2, 6, 9))  # C2's response deadline (5 Feb 16:00) has passed: breached
    d.run(
        wib(2026, 2, 6, 9, 30),
        hs.accept_handoff,
        d.liaison("dinas-pu"),
        d.handoffs["C4"],
        wib(2026, 2, 6, 9, 30),
    )
    d.run(wib(2026, 2, 6, 10), cs.start_case, d.staff("kel-a1"), d.id("C2"), wib(2026, 2, 6, 10))
    # C5 ping-pong: received Mon 9 Feb 09:00; kel-a1 -> dinas-pu (09:30, accepted 10:00: ack 30;
    # response 30) -> dlh (10:30, accepted 11:00: ack 30) -> kel-a2 (11:30, accepted Tue 10 Feb
    # 09:00: 270 + 60 = 330) = third move: bounced. Resolution due Wed 18 Feb 09:00 (16-17 Feb
    # are holidays); still open: overdue, breached by the sweep of 20 Feb.
    d.create("C5", wib(2026, 2, 9, 9))
    d.handoffs["C5.1"] = d.forward("C5", wib(2026, 2, 9, 9, 30), "kel-a1", "dinas-pu")
    d.run(
        wib(2026, 2, 9, 10),
        hs.accept_handoff,
        d.liaison("dinas-pu"),
        d.handoffs["C5.1"],
        wib(2026, 2, 9, 10),
    )
    d.handoffs["C5.2"] = d.forward("C5", wib(2026, 2, 9, 10, 30), "dinas-pu", "dlh")
    d.run(
        wib(2026, 2, 9, 11),
        hs.accept_handoff,
        d.liaison("dlh"),
        d.handoffs["C5.2"],
        wib(2026, 2, 9, 11),
    )
    d.handoffs["C5.3"] = d.forward("C5", wib(2026, 2, 9, 11, 30), "dlh", "kel-a2")
    d.run(
        wib(2026, 2, 9, 15),
        cs.resolve_case,
        d.staff("dinas-pu"),
        d.id("C4"),
        "sudah diangkut",
        wib(2026, 2, 9, 15),
    )
    d.run(
        wib(2026, 2, 10, 9),
        hs.accept_handoff,
        d.liaison("kel-a2"),
        d.handoffs["C5.3"],
        wib(2026, 2, 10, 9),
    )
    # C6: received Tue 10 Feb 09:00; forwarded to dinas-pu 09:15 (response 15), rejected 10:15
    # "not_our_jurisdiction" (ack 60, met); forwarded to dlh 10:30, rejected Wed 11 Feb 15:00
    # "incomplete_information" (ack 330 + 420 = 750 > 480: breached). Back to new with kel-a1;
    # resolution due Thu 19 Feb 09:00: overdue, breached by the sweep of 20 Feb.
    d.create("C6", wib(2026, 2, 10, 9))
    d.handoffs["C6.1"] = d.forward("C6", wib(2026, 2, 10, 9, 15), "kel-a1", "dinas-pu")
    d.run(wib(2026, 2, 10, 10), cs.resume_case, d.staff("kel-a1"), d.id("C3"), wib(2026, 2, 10, 10))
    d.run(
        wib(2026, 2, 10, 10, 15),
        hs.reject_handoff,
        d.liaison("dinas-pu"),
        d.handoffs["C6.1"],
        "not_our_jurisdiction",
        wib(2026, 2, 10, 10, 15),
    )
    d.handoffs["C6.2"] = d.forward("C6", wib(2026, 2, 10, 10, 30), "kel-a1", "dlh")
    # C7: received Wed 11 Feb 09:00, cancelled by the camat manager at 10:00 (clocks stopped).
    d.create("C7", wib(2026, 2, 11, 9))
    d.run(
        wib(2026, 2, 11, 9),
        cs.resolve_case,
        d.staff("kel-a1"),
        d.id("C2"),
        "sudah ditambal",
        wib(2026, 2, 11, 9),
    )
    d.run(
        wib(2026, 2, 11, 10),
        cs.cancel_case,
        world.user("camat-a", "manager"),
        d.id("C7"),
        "invalid",
        wib(2026, 2, 11, 10),
    )
    d.run(
        wib(2026, 2, 11, 12),
        cs.resolve_case,
        d.staff("kel-a1"),
        d.id("C3"),
        "sudah ditambal",
        wib(2026, 2, 11, 12),
    )
    d.run(
        wib(2026, 2, 11, 15),
        hs.reject_handoff,
        d.liaison("dlh"),
        d.handoffs["C6.2"],
        "incomplete_information",
        wib(2026, 2, 11, 15),
    )
    sweep(wib(2026, 2, 20, 10))  # C5 (due 18 Feb) and C6 (due 19 Feb) breach
    # C12 sampah, recorded and owned by kel-a2 in kelurahan 1002: received Wed 25 Feb 09:00,
    # left new: response due Mon 2 Mar 09:00, resolution due Wed 4 Mar 09:00: both breached.
    d.create("C12", wib(2026, 2, 25, 9), "kel-a2", category="sampah", region_code="12.71.01.1002")
    # C8: received Sunday 1 Mar 00:30 WIB (28 Feb 17:30 UTC: March in WIB, February in UTC),
    # recorded Mon 2 Mar 09:00; counting starts at 08:00, started 09:10 (response 70); forwarded
    # to dinas-pu 09:20 and recalled 09:25; on hold since 09:30: its clock is paused, so its
    # stored due time (Mon 9 Mar 08:00) is not "overdue".
    d.create("C8", wib(2026, 3, 2, 9), received_at=wib(2026, 3, 1, 0, 30))
    d.run(
        wib(2026, 3, 2, 9, 10), cs.start_case, d.staff("kel-a1"), d.id("C8"), wib(2026, 3, 2, 9, 10)
    )
    d.handoffs["C8"] = d.forward("C8", wib(2026, 3, 2, 9, 20), "kel-a1", "dinas-pu")
    d.run(
        wib(2026, 3, 2, 9, 25),
        hs.recall_handoff,
        d.staff("kel-a1"),
        d.handoffs["C8"],
        wib(2026, 3, 2, 9, 25),
    )
    d.run(
        wib(2026, 3, 2, 9, 30),
        cs.hold_case,
        d.staff("kel-a1"),
        d.id("C8"),
        "menunggu PLN",
        wib(2026, 3, 2, 9, 30),
    )
    # C10: received Mon 2 Mar 10:00, resolved from new Tue 3 Mar 11:00: 360 + 180 = 540 for
    # both clocks, met; closed Wed 4 Mar 10:00 (closed counts as resolved).
    d.create("C10", wib(2026, 3, 2, 10))
    d.run(
        wib(2026, 3, 3, 11),
        cs.resolve_case,
        d.staff("kel-a1"),
        d.id("C10"),
        "sudah ditambal",
        wib(2026, 3, 3, 11),
    )
    d.run(wib(2026, 3, 4, 10), cs.close_case, d.staff("kel-a1"), d.id("C10"), wib(2026, 3, 4, 10))
    # C13 sampah: received Mon 9 Mar 14:00, left new: response due Thu 12 Mar 14:00 (breached by
    # the last sweep), resolution due Mon 16 Mar 14:00 (not yet).
    d.create("C13", wib(2026, 3, 9, 14), category="sampah")
    # C9: received Wed 11 Mar 09:00; asks dlh for assistance Thu 12 Mar 09:00, which counts as
    # the first response (420 + 60 = 480); the assist is still pending and its acknowledgement
    # (due Fri 13 Mar 09:00) breaches in the last sweep.
    d.create("C9", wib(2026, 3, 11, 9))
    d.handoffs["C9"] = d.forward("C9", wib(2026, 3, 12, 9), "kel-a1", "dlh", kind="assist")
    sweep(NOW)
    clock.set_frozen(NOW)
    # SKM answers (u1..u9), inserted directly: C1-C3 for kel-a1 in February, C4 for dinas-pu,
    # C10 for kel-a1 in March, C11 for kel-b1.
    d.feedback("C1", "kel-a1", wib(2026, 2, 12, 10), [4, 4, 3, 4, 3, 4, 4, 3, 4])
    d.feedback("C2", "kel-a1", wib(2026, 2, 12, 11), [3, 2, 2, 4, 3, 3, 2, 2, 3])
    d.feedback("C3", "kel-a1", wib(2026, 2, 12, 12), [4, 3, 3, 4, 4, 4, 3, 3, None])
    d.feedback("C4", "dinas-pu", wib(2026, 2, 10, 10), [4] * 9)
    d.feedback("C10", "kel-a1", wib(2026, 3, 4, 11), [2] * 9)
    d.feedback("C11", "kel-b1", wib(2026, 2, 5, 10), [3] * 9)
    return d


@pytest.fixture
def dataset(world: World) -> Any:
    yield build_dataset(world)
    clock.set_frozen(None)


def manager(world: World, unit: str = "camat-a") -> Any:
    return world.user(unit, "manager")


def strip(rows: list[dict[str, Any]], *drop: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


# Expected SLA rows for the camat-a manager (every case but C11), by unit, category, month.
# Percentiles: percentile_cont, i.e. position h = p (n - 1) in the sorted values, interpolated.
SLA_EXPECTED = [
    # C4 alone: response 30, resolution 1020; on time 1 / (1 resolved + 0 overdue) = 1.0
    {
        "unit": "dinas-pu",
        "category": "sampah",
        "month": "2026-02",
        "cases": 1,
        "open": 0,
        "resolved": 1,
        "resolved_on_time": 1,
        "breached": 0,
        "open_overdue": 0,
        "on_time_share": 1.0,
        "response_minutes_median": 30.0,
        "response_minutes_p90": 30.0,
        "resolution_minutes_median": 1020.0,
        "resolution_minutes_p90": 1020.0,
    },
    # C1, C2, C3, C6, C7. open: C6. resolved: C1, C2, C3; on time C1, C3. breached: C2 (both
    # clocks), C6 (resolution, swept). overdue: C6. share = 2 / (3 + 1) = 0.5.
    # response: C6 15, C3 30, C1 120, C2 1560 (C7's clock stopped): n = 4,
    #   median h = 1.5 -> 30 + 0.5 * (120 - 30) = 75; p90 h = 2.7 -> 120 + 0.7 * 1440 = 1128.
    # resolution: C3 1080, C1 1320, C2 2940: median = 1320; p90 h = 1.8 -> 1320 + 0.8 * 1620
    #   = 2616.
    {
        "unit": "kel-a1",
        "category": "jalan-rusak",
        "month": "2026-02",
        "cases": 5,
        "open": 1,
        "resolved": 3,
        "resolved_on_time": 2,
        "breached": 2,
        "open_overdue": 1,
        "on_time_share": 0.5,
        "response_minutes_median": 75.0,
        "response_minutes_p90": 1128.0,
        "resolution_minutes_median": 1320.0,
        "resolution_minutes_p90": 2616.0,
    },
    # C8 (on hold: not overdue), C9 (due 18 Mar), C10 (closed, on time): share 1 / (1 + 0).
    # response: C8 70, C9 480, C10 540: median 480; p90 h = 1.8 -> 480 + 0.8 * 60 = 528.
    {
        "unit": "kel-a1",
        "category": "jalan-rusak",
        "month": "2026-03",
        "cases": 3,
        "open": 2,
        "resolved": 1,
        "resolved_on_time": 1,
        "breached": 0,
        "open_overdue": 0,
        "on_time_share": 1.0,
        "response_minutes_median": 480.0,
        "response_minutes_p90": 528.0,
        "resolution_minutes_median": 540.0,
        "resolution_minutes_p90": 540.0,
    },
    # C13: response breached, resolution not due: breached 1, share 0 / (0 + 0) = null.
    {
        "unit": "kel-a1",
        "category": "sampah",
        "month": "2026-03",
        "cases": 1,
        "open": 1,
        "resolved": 0,
        "resolved_on_time": 0,
        "breached": 1,
        "open_overdue": 0,
        "on_time_share": None,
        "response_minutes_median": None,
        "response_minutes_p90": None,
        "resolution_minutes_median": None,
        "resolution_minutes_p90": None,
    },
    # C5 (now owned by kel-a2): response 30 (kel-a1 forwarded it); overdue: 0 / (0 + 1) = 0.
    {
        "unit": "kel-a2",
        "category": "jalan-rusak",
        "month": "2026-02",
        "cases": 1,
        "open": 1,
        "resolved": 0,
        "resolved_on_time": 0,
        "breached": 1,
        "open_overdue": 1,
        "on_time_share": 0.0,
        "response_minutes_median": 30.0,
        "response_minutes_p90": 30.0,
        "resolution_minutes_median": None,
        "resolution_minutes_p90": None,
    },
    # C12: both clocks breached, open and overdue.
    {
        "unit": "kel-a2",
        "category": "sampah",
        "month": "2026-02",
        "cases": 1,
        "open": 1,
        "resolved": 0,
        "resolved_on_time": 0,
        "breached": 1,
        "open_overdue": 1,
        "on_time_share": 0.0,
        "response_minutes_median": None,
        "response_minutes_p90": None,
        "resolution_minutes_median": None,
        "resolution_minutes_p90": None,
    },
]
SLA_KECAMATAN_B = [
    {
        "unit": "kel-b1",
        "category": "jalan-rusak",
        "month": "2026-02",
        "cases": 1,
        "open": 0,
        "resolved": 1,
        "resolved_on_time": 1,
        "breached": 0,
        "open_overdue": 0,
        "on_time_share": 1.0,
        "response_minutes_median": 480.0,
        "response_minutes_p90": 480.0,
        "resolution_minutes_median": 480.0,
        "resolution_minutes_p90": 480.0,
    },
]


def test_sla_report_every_figure(dataset: Dataset) -> None:
    rows = reports.sla_report(manager(dataset.world), ALL, NOW)
    assert strip(rows, "unit_name") == SLA_EXPECTED
    assert rows[0]["unit_name"] == "Dinas PU"


def test_sla_report_filters(dataset: Dataset) -> None:
    boss = manager(dataset.world)
    march = reports.ReportFilters(*reports.month_range("2026-03"))
    # C8 was received 1 Mar 00:30 WIB: in March although it is still February in UTC.
    assert strip(reports.sla_report(boss, march, NOW), "unit_name") == SLA_EXPECTED[2:4]
    assert (
        strip(reports.sla_report(boss, reports.ReportFilters(unit="kel-a2"), NOW), "unit_name")
        == SLA_EXPECTED[4:]
    )
    assert strip(
        reports.sla_report(boss, reports.ReportFilters(category="sampah"), NOW), "unit_name"
    ) == [SLA_EXPECTED[0], SLA_EXPECTED[3], SLA_EXPECTED[5]]
    # since/until: received from 10 Feb to before 1 Mar WIB: C6, C7 (kel-a1), C12 (kel-a2).
    window = reports.ReportFilters(since=wib(2026, 2, 10), until=wib(2026, 3, 1))
    assert [
        (r["unit"], r["category"], r["cases"], r["open_overdue"])
        for r in reports.sla_report(boss, window, NOW)
    ] == [("kel-a1", "jalan-rusak", 2, 1), ("kel-a2", "sampah", 1, 1)]
    assert reports.sla_report(boss, reports.ReportFilters(unit="no-such-unit"), NOW) == []


def test_sla_report_follows_a_reopened_case(dataset: Dataset) -> None:
    """The report reads each closed clock's figures from the case (written when the clock
    closes or reopens): reopening C1 takes its resolution back out of the figures, resolving
    it again puts the new measurement in."""
    boss = manager(dataset.world)
    feb = reports.ReportFilters(*reports.month_range("2026-02"))
    kel_a1 = {"unit": "kel-a1", "category": "jalan-rusak", "month": "2026-02"}

    def row(at: datetime = NOW) -> dict[str, Any]:
        rows = strip(reports.sla_report(boss, feb, at), "unit_name")
        return next(r for r in rows if all(r[k] == v for k, v in kel_a1.items()))

    assert row() == SLA_EXPECTED[1]
    staff = dataset.staff("kel-a1")
    dataset.run(NOW, case_service.reopen_case, staff, dataset.id("C1"), "belum beres", NOW)
    # C1 is open again, its resolution clock running past its due time (Mon 9 Feb 09:00):
    # overdue, and breached (the reopening records the breach no sweep saw, docs/sla.md).
    # Resolution times left: C3 1080, C2 2940: median 2010, p90 h = 0.9 -> 1080 + 0.9 x 1860
    # = 2754. Share 1 / (2 resolved + 2 overdue).
    assert row() == {
        **SLA_EXPECTED[1],
        "breached": 3,
        "open": 2,
        "resolved": 2,
        "resolved_on_time": 1,
        "open_overdue": 2,
        "on_time_share": 0.25,
        "resolution_minutes_median": 2010.0,
        "resolution_minutes_p90": 2754.0,
    }
    # Resolved again Fri 13 Mar 12:00, measured from its receipt (Mon 2 Feb 09:00): 420 + 1920
    # (3-6 Feb) + 2400 (9-13 Feb) + 1440 (18-20 Feb; 16-17 are holidays) + 2400 + 2400 (23 Feb
    # - 6 Mar) + 1920 (9-12 Mar) + 240 = 13140 minutes, late: breached. Values 1080, 2940,
    # 13140: median 2940, p90 h = 1.8 -> 2940 + 0.8 x 10200 = 11100.
    later = wib(2026, 3, 13, 12)
    dataset.run(later, case_service.resolve_case, staff, dataset.id("C1"), "sudah", later)
    assert row(later) == {
        **SLA_EXPECTED[1],
        "resolved_on_time": 1,
        "breached": 3,
        "on_time_share": 0.25,
        "resolution_minutes_median": 2940.0,
        "resolution_minutes_p90": 11100.0,
    }
    assert reports.sla_report(boss, feb, later, portable=True) == reports.sla_report(
        boss, feb, later
    )


def test_overdue_through_a_hold(dataset: Dataset) -> None:
    """On hold, a case is overdue only if its resolution clock had breached before the hold
    (C8, whose clock was paused, is not: see SLA_EXPECTED): C5, breached on 20 Feb, stays
    overdue while on hold and after it resumes."""
    boss = manager(dataset.world)
    kel_a2 = ("kel-a2", "jalan-rusak", "2026-02")

    def overdue(at: datetime) -> dict[tuple[str, str, str], int]:
        rows = reports.sla_report(boss, ALL, at)
        return {(r["unit"], r["category"], r["month"]): r["open_overdue"] for r in rows}

    before = overdue(NOW)
    assert before[kel_a2] == 1
    staff = dataset.staff("kel-a2")
    dataset.run(NOW, case_service.hold_case, staff, dataset.id("C5"), "menunggu", NOW)
    assert overdue(NOW) == before
    later = wib(2026, 3, 16, 10)
    dataset.run(later, case_service.resume_case, staff, dataset.id("C5"), later)
    assert overdue(later)[kel_a2] == 1


def test_scope_and_roles(dataset: Dataset) -> None:
    world = dataset.world
    # The other kecamatan's manager sees only C11, nothing of kecamatan A.
    assert (
        strip(reports.sla_report(manager(world, "camat-b"), ALL, NOW), "unit_name")
        == SLA_KECAMATAN_B
    )
    assert reports.handoff_report(manager(world, "camat-b"), ALL) == {"rows": [], "bounced": []}
    assert reports.backlog_report(manager(world, "camat-b"), ALL, NOW) == []
    assert [r["unit"] for r in reports.ikm_report(manager(world, "camat-b"), ALL)] == ["kel-b1"]
    # A city agency's manager has the whole city (12.71) in its jurisdiction: both kecamatan.
    city = reports.sla_report(manager(world, "dinas-pu"), ALL, NOW)
    assert sum(r["cases"] for r in city) == 13
    # Staff, liaisons and admins do not get manager reports.
    for role in ("staff", "liaison", "admin"):
        with pytest.raises(Forbidden):
            reports.sla_report(world.user("camat-a", role), ALL, NOW)
        with pytest.raises(Forbidden):
            reports.ikm_report(world.user("kel-a1", role), ALL)


def test_working_minutes_identity_on_every_closed_clock(dataset: Dataset) -> None:
    """target + minutes_over is the clock's counted working time: the working minutes from
    its start to its completion, less the minutes it spent on hold."""
    clocks = (
        db.session.execute(
            select(SlaClock).where(
                SlaClock.state.in_(["met", "breached"]),
                SlaClock.completed_at.is_not(None),
            )
        )
        .scalars()
        .all()
    )
    # response: C1-C6, C8-C11 (10); resolution: C1-C4, C10, C11 (6); acknowledgements: C4,
    # C5.1-C5.3, C6.1, C6.2 (6)
    assert len(clocks) == 22
    for c in clocks:
        gross = calendar_of(c.calendar).between(c.started_at, c.completed_at)
        assert c.target_minutes + c.minutes_over == gross - c.paused_minutes, c.id
    c3 = db.session.execute(
        select(SlaClock).where(SlaClock.case_id == dataset.id("C3"), SlaClock.name == "resolution")
    ).scalar_one()
    assert (c3.target_minutes, c3.minutes_over, c3.paused_minutes) == (2400, -1320, 1440)


def test_percentiles_agree_with_percentile_cont_and_python(dataset: Dataset, app: Flask) -> None:
    boss = manager(dataset.world)
    portable = reports.sla_report(boss, ALL, NOW, portable=True)
    assert portable == reports.sla_report(boss, ALL, NOW)
    assert reports.handoff_report(boss, ALL, portable=True) == reports.handoff_report(boss, ALL)
    # The same definition as Python's statistics.quantiles(method="inclusive").
    resolution = aliased(SlaClock)
    minutes = [
        m
        for (m,) in db.session.execute(
            select(resolution.target_minutes + resolution.minutes_over)
            .join(Case, Case.id == resolution.case_id)
            .where(
                resolution.name == "resolution",
                resolution.completed_at.is_not(None),
                resolution.state.in_(["met", "breached"]),
                Case.owner_unit_id == dataset.world.units["kel-a1"].id,
                Case.category_id == dataset.world.categories["jalan-rusak"].id,
                Case.received_at < wib(2026, 3, 1),
            )
        )
    ]
    deciles = statistics.quantiles(sorted(minutes), n=10, method="inclusive")
    assert round(deciles[8], 1) == SLA_EXPECTED[1]["resolution_minutes_p90"] == 2616.0
    assert statistics.median(minutes) == SLA_EXPECTED[1]["resolution_minutes_median"]
    if is_postgres(app):
        # And PostgreSQL's own percentile_cont over the same values.
        assert db.session.execute(
            select(
                func.percentile_cont(0.9).within_group(
                    resolution.target_minutes + resolution.minutes_over
                )
            )
            .join(Case, Case.id == resolution.case_id)
            .where(
                and_(
                    resolution.name == "resolution",
                    resolution.completed_at.is_not(None),
                    resolution.state.in_(["met", "breached"]),
                    Case.owner_unit_id == dataset.world.units["kel-a1"].id,
                    Case.category_id == dataset.world.categories["jalan-rusak"].id,
                    Case.received_at < wib(2026, 3, 1),
                )
            )
        ).scalar_one() == pytest.approx(2616.0)


# Handoffs by receiving unit (requested in the period):
# dinas-pu: C4 (accepted, 180), C5.1 (accepted, 30), C6.1 (rejected not_our_jurisdiction, 60),
#   C8 (recalled: never acknowledged). Acknowledged 3, all on time; median of 30, 60, 180 = 60.
# dlh: C5.2 (accepted, 30), C6.2 (rejected incomplete_information, 750: late), C9 (assist,
#   pending). Acknowledged 2, on time 1, pending 1; median of 30, 750 = 390.
# kel-a2: C5.3 (accepted, 330). Each receiver saw the bounced C5 once.
NO_REJECTIONS = {"not_our_jurisdiction": 0, "incomplete_information": 0, "duplicate": 0, "other": 0}
HANDOFFS_EXPECTED = [
    {
        "unit": "dinas-pu",
        "handoffs": 4,
        "acknowledged": 3,
        "acknowledged_on_time": 3,
        "pending": 0,
        "ack_minutes_median": 60.0,
        "rejected": 1,
        "bounced_cases": 1,
        "rejections": {**NO_REJECTIONS, "not_our_jurisdiction": 1},
    },
    {
        "unit": "dlh",
        "handoffs": 3,
        "acknowledged": 2,
        "acknowledged_on_time": 1,
        "pending": 1,
        "ack_minutes_median": 390.0,
        "rejected": 1,
        "bounced_cases": 1,
        "rejections": {**NO_REJECTIONS, "incomplete_information": 1},
    },
    {
        "unit": "kel-a2",
        "handoffs": 1,
        "acknowledged": 1,
        "acknowledged_on_time": 1,
        "pending": 0,
        "ack_minutes_median": 330.0,
        "rejected": 0,
        "bounced_cases": 1,
        "rejections": NO_REJECTIONS,
    },
]


def handoff_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in r.items() if k != "unit_name" and not k.startswith("rejected_")}
        for r in rows
    ]


def test_handoff_report_every_figure(dataset: Dataset) -> None:
    result = reports.handoff_report(manager(dataset.world), ALL)
    assert handoff_rows(result["rows"]) == HANDOFFS_EXPECTED
    assert result["rows"][1]["rejected_incomplete_information"] == 1
    assert [
        (
            b["case_id"],
            b["tracking_code"],
            b["owner_unit"],
            b["route"],
            b["ownership_moves"],
            b["still_bounced"],
            b["bounced_at"],
        )
        for b in result["bounced"]
    ] == [
        (
            dataset.id("C5"),
            dataset.cases["C5"].tracking_code[:4] + "-" + dataset.cases["C5"].tracking_code[4:],
            "kel-a2",
            ["kel-a1", "dinas-pu", "dlh", "kel-a2"],
            3,
            True,
            wib(2026, 2, 10, 9),
        )
    ]
    # March only: C8's recalled transfer and C9's pending assist; no bounced case.
    march = reports.handoff_report(
        manager(dataset.world), reports.ReportFilters(*reports.month_range("2026-03"))
    )
    assert [
        (r["unit"], r["handoffs"], r["acknowledged"], r["pending"], r["ack_minutes_median"])
        for r in march["rows"]
    ] == [("dinas-pu", 1, 0, 0, None), ("dlh", 1, 0, 1, None)]
    assert march["bounced"] == []
    only_dlh = reports.handoff_report(manager(dataset.world), reports.ReportFilters(unit="dlh"))
    assert handoff_rows(only_dlh["rows"]) == [HANDOFFS_EXPECTED[1]]
    recorded = db.session.get(Handoff, dataset.handoffs["C6.2"])
    # Answered late: breached for good, even though no sweep ran before the answer.
    assert recorded is not None and recorded.breached is True


# Backlog at Fri 13 Mar 10:00, whole days since received: C9 (11 Mar 09:00) 2 -> 0-2;
# C13 (9 Mar 14:00) 3 -> 3-5; C8 (1 Mar 00:30) 12 -> 6-14; C6 (10 Feb 09:00) 31 -> 31+;
# kel-a2: C12 (25 Feb 09:00) 16 -> 15-30, C5 (9 Feb 09:00) 32 -> 31+.
BACKLOG_EXPECTED = [
    {
        "unit": "kel-a1",
        "open": 4,
        "age_0-2": 1,
        "age_3-5": 1,
        "age_6-14": 1,
        "age_15-30": 0,
        "age_31+": 1,
    },
    {
        "unit": "kel-a2",
        "open": 2,
        "age_0-2": 0,
        "age_3-5": 0,
        "age_6-14": 0,
        "age_15-30": 1,
        "age_31+": 1,
    },
]


def test_backlog_report(dataset: Dataset) -> None:
    boss = manager(dataset.world)
    assert strip(reports.backlog_report(boss, ALL, NOW), "unit_name") == BACKLOG_EXPECTED
    # Bucket edges: C9 is 2 days 23 h old at 12 Mar 08:00 + 1 day = 14 Mar 08:00 (still 0-2),
    # and 3 days old from 14 Mar 09:00.
    assert reports.backlog_report(boss, ALL, wib(2026, 3, 14, 8, 59))[0]["age_0-2"] == 1
    assert reports.backlog_report(boss, ALL, wib(2026, 3, 14, 9))[0]["age_0-2"] == 0
    assert strip(
        reports.backlog_report(boss, reports.ReportFilters(category="sampah"), NOW), "unit_name"
    ) == [
        {
            "unit": "kel-a1",
            "open": 1,
            "age_0-2": 0,
            "age_3-5": 1,
            "age_6-14": 0,
            "age_15-30": 0,
            "age_31+": 0,
        },
        {
            "unit": "kel-a2",
            "open": 1,
            "age_0-2": 0,
            "age_3-5": 0,
            "age_6-14": 0,
            "age_15-30": 1,
            "age_31+": 0,
        },
    ]


# IKM. kel-a1 February (C1, C2, C3): sums u1 11/3, u2 9/3, u3 8/3, u4 12/3, u5 10/3, u6 11/3,
# u7 9/3, u8 8/3, u9 7/2 (C3 skipped u9). Sum of NRR = 78/3 + 3.5 = 29.5.
#   1/9:  29.5 / 9 * 25 = 81.944 -> 81.94 (B);   0.11: 29.5 * 2.75 = 81.125 -> 81.13 (B).
# dinas-pu February (C4, all 4): 100.00 (A) / 4 * 0.99 * 25 = 99.00 (A).
# kel-a1 March (C10, all 2): 50.00 (D) / 49.50 (D).
# kel-a1 2026-Q1 (C1, C2, C3, C10): sums u1 13/4, u2 11/4, u3 10/4, u4 14/4, u5 12/4, u6 13/4,
# u7 11/4, u8 10/4, u9 9/3: sum of NRR = 94/4 + 3 = 26.5.
#   1/9: 26.5 / 9 * 25 = 73.611 -> 73.61 (C);   0.11: 26.5 * 2.75 = 72.875 -> 72.88 (C).
FEB_NRR = {
    "u1": 3.667,
    "u2": 3.0,
    "u3": 2.667,
    "u4": 4.0,
    "u5": 3.333,
    "u6": 3.667,
    "u7": 3.0,
    "u8": 2.667,
    "u9": 3.5,
}


def ikm_summary(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["unit"], r["period"], r["respondents"], r["ikm"], r["band"]) for r in rows]


def test_ikm_report_by_month_quarter_and_year(dataset: Dataset) -> None:
    boss = manager(dataset.world)
    ninth = reports.ikm_report(boss, ALL)
    assert ikm_summary(ninth) == [
        ("dinas-pu", "2026-02", 1, 100.0, "A"),
        ("kel-a1", "2026-02", 3, 81.94, "B"),
        ("kel-a1", "2026-03", 1, 50.0, "D"),
    ]
    assert ninth[1]["nrr"] == FEB_NRR and ninth[1]["band_label"] == "Baik"
    assert ninth[2]["band_label"] == "Tidak Baik"
    quarter = reports.ikm_report(boss, ALL, period="quarter")
    assert ikm_summary(quarter) == [
        ("dinas-pu", "2026-Q1", 1, 100.0, "A"),
        ("kel-a1", "2026-Q1", 4, 73.61, "C"),
    ]
    assert quarter[1]["nrr"]["u9"] == 3.0 and quarter[1]["nrr"]["u1"] == 3.25
    assert ikm_summary(reports.ikm_report(boss, ALL, period="year"))[1] == (
        "kel-a1",
        "2026",
        4,
        73.61,
        "C",
    )
    assert ikm_summary(reports.ikm_report(boss, reports.ReportFilters(unit="dinas-pu"))) == [
        ("dinas-pu", "2026-02", 1, 100.0, "A")
    ]


def test_ikm_report_with_the_worksheet_weight(
    dataset: Dataset, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "COORD_IKM_WEIGHT", "0.11")
    boss = manager(dataset.world)
    assert ikm_summary(reports.ikm_report(boss, ALL)) == [
        ("dinas-pu", "2026-02", 1, 99.0, "A"),
        ("kel-a1", "2026-02", 3, 81.13, "B"),
        ("kel-a1", "2026-03", 1, 49.5, "D"),
    ]
    assert ikm_summary(reports.ikm_report(boss, ALL, period="quarter"))[1] == (
        "kel-a1",
        "2026-Q1",
        4,
        72.88,
        "C",
    )


def band_edge_feedback(world: World) -> None:
    """Ten resolved cases of kel-a1 rated so that the sum of NRR is 31.8: u1..u8 five 4s and
    five 3s (NRR 3.5), u9 eight 4s and two 3s (NRR 3.8)."""
    clock.set_frozen(wib(2026, 3, 2, 10))
    for i in range(10):
        case = case_in_status(world, "resolved")
        answers = [4 if i < 5 else 3] * 8 + [4 if i < 8 else 3]
        with unit_of_work():
            db.session.add(
                Feedback(
                    case_id=case.id,
                    resolution_number=1,
                    unit_id=world.units["kel-a1"].id,
                    submitted_at=wib(2026, 3, 3, 9, i),
                    **{f"u{n + 1}": a for n, a in enumerate(answers)},
                )
            )


def test_ikm_band_differs_between_the_weights(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    band_edge_feedback(world)
    try:
        boss = manager(world)
        # 1/9: 31.8 * 25 / 9 = 88.333 -> 88.33 -> A Sangat Baik
        [row] = reports.ikm_report(boss, ALL)
        assert (row["respondents"], row["ikm"], row["band"], row["band_label"]) == (
            10,
            88.33,
            "A",
            "Sangat Baik",
        )
        assert row["nrr"] == {**{f"u{n}": 3.5 for n in range(1, 9)}, "u9": 3.8}
        # 0.11: 31.8 * 0.11 * 25 = 87.45 -> B Baik
        monkeypatch.setitem(app.config, "COORD_IKM_WEIGHT", "0.11")
        [row] = reports.ikm_report(boss, ALL)
        assert (row["ikm"], row["band"], row["band_label"]) == (87.45, "B", "Baik")
        assert Decimal(str(row["ikm"])) == Decimal("87.45")
    finally:
        clock.set_frozen(None)


def test_public_stats_per_unit_and_month(dataset: Dataset) -> None:
    last_year = reports.ReportFilters(*reports.default_public_range(NOW))
    assert last_year.since == wib(2025, 4, 1) and last_year.until == wib(2026, 4, 1)
    rows = reports.public_stats(last_year, NOW)
    assert [
        (
            r["unit"],
            r["month"],
            r["cases"],
            r["resolved"],
            r["on_time_share"],
            r["resolution_minutes_median"],
            r["ikm"],
            r["band"],
            r["respondents"],
        )
        for r in rows
    ] == [
        ("dinas-pu", "2026-02", 1, 1, 1.0, 1020.0, 100.0, "A", 1),
        # C1, C2, C3, C6, C7: 2 on time / (3 resolved + 1 overdue); median of 1080, 1320, 2940
        ("kel-a1", "2026-02", 5, 3, 0.5, 1320.0, 81.94, "B", 3),
        # C8, C9, C10, C13: C10 on time, nothing overdue
        ("kel-a1", "2026-03", 4, 1, 1.0, 540.0, 50.0, "D", 1),
        # C5, C12: both open and overdue: 0 / (0 + 2)
        ("kel-a2", "2026-02", 2, 0, 0.0, None, None, None, 0),
        # C11 (kecamatan B): everything is public, whoever's jurisdiction
        ("kel-b1", "2026-02", 1, 1, 1.0, 480.0, 75.0, "C", 1),
    ]


def test_shares_round_half_up_like_the_exact_fractions() -> None:
    """The shares and NRRs of large reports are rounded in integer arithmetic: the same
    numbers as rounding the exact fraction half up (coord.domain.ikm.round_half_up)."""
    from fractions import Fraction

    from coord.domain.ikm import round_half_up
    from coord.services.reports.sql import _ratio, _share

    for denominator in range(1, 90):
        for numerator in range(0, 4 * denominator + 1):
            exact = Fraction(numerator, denominator)
            assert _ratio(numerator, denominator, 3) == float(round_half_up(exact, 3))
            assert _ratio(numerator, denominator, 4) == float(round_half_up(exact, 4))
    assert _share(1, 8) == 0.125 and _share(0, 0) is None


def test_sla_reports_read_once_what_each_report_reads(dataset: Dataset) -> None:
    """The dashboard's per-unit and per-category tables (one pass over the cases on
    PostgreSQL) hold exactly what ``sla_report`` gives for each set of dimensions."""
    world = dataset.world
    sets = [("unit",), ("category",), ("unit", "category"), ("month",), ()]
    for boss in (manager(world), manager(world, "camat-b"), manager(world, "dinas-pu")):
        for filters in (ALL, reports.ReportFilters(*reports.month_range("2026-03"))):
            together = reports.sla_reports(boss, filters, NOW, sets)
            assert together == [reports.sla_report(boss, filters, NOW, by=by) for by in sets]
    units, categories = reports.sla_reports(
        manager(world), ALL, NOW, [("unit",), ("category",)], percentiles=()
    )
    # The hand-worked rows per unit, category and month, summed per unit and per category.
    per_unit: dict[str, int] = {}
    per_category: dict[str, int] = {}
    for row in SLA_EXPECTED:
        per_unit[row["unit"]] = per_unit.get(row["unit"], 0) + row["cases"]
        per_category[row["category"]] = per_category.get(row["category"], 0) + row["cases"]
    assert [(r["unit"], r["cases"]) for r in units] == sorted(per_unit.items())
    assert [(r["category"], r["cases"]) for r in categories] == sorted(per_category.items())
    assert {r["resolution_minutes_median"] for r in units + categories} == {None}


def _breach_oracle(actor: Any, filters: dict[str, Any]) -> list[tuple[int, str, Any]]:
    """Every breached clock of the cases ``actor`` may read (``readable_cases``, the rule
    itself), not cancelled, open or not per ``filters``, the latest breach first."""
    rows = db.session.execute(
        select(SlaClock.case_id, SlaClock.name, SlaClock.handoff_id, SlaClock.id)
        .join(Case, Case.id == SlaClock.case_id)
        .where(SlaClock.state == "breached", Case.status != "cancelled", readable_cases(actor))
        .where(
            *([Case.status.in_(OPEN_STATUS_VALUES) == filters["open"]] if "open" in filters else [])
        )
        .order_by(func.coalesce(SlaClock.breached_at, SlaClock.due_at).desc(), SlaClock.id.desc())
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_breach_list_scope_pages_and_totals(dataset: Dataset) -> None:
    """The breach list of each reader (a camat's and a city agency's manager, another
    kecamatan's manager, a kelurahan's staff, an agency's liaison) is every breached clock
    of the cases they may read, open or not; a page carries the list's true length, also
    a page past its end."""
    world = dataset.world
    readers = [
        manager(world),
        manager(world, "dinas-pu"),
        manager(world, "camat-b"),
        dataset.staff("kel-a1"),
        dataset.staff("kel-a2"),
        dataset.liaison("dinas-pu"),
    ]
    for reader in readers:
        for filters in ({}, {"open": True}, {"open": False}):
            rows, total = reports.breaches(reader, filters, limit=None, offset=0)
            listed = [(r["case_id"], r["clock"], r["handoff_id"]) for r in rows]
            assert listed == _breach_oracle(reader, filters), (reader.username, filters)
            assert total == len(rows)
    boss = manager(world)
    every, total = reports.breaches(boss, {}, limit=None, offset=0)
    opened = [r for r in every if r["open"]]
    assert total == len(every) >= 3 and 0 < len(opened) < total
    assert reports.breaches(boss, {}, limit=2, offset=1) == (every[1:3], total)
    assert reports.breaches(boss, {}, limit=2, offset=total + 3) == ([], total)
    assert reports.breaches(boss, {"open": True}, limit=1, offset=0) == (opened[:1], len(opened))
    assert reports.breaches(boss, {"owner_unit": "kel-a2"}, limit=None, offset=0) == (
        [r for r in every if r["owner_unit"] == "kel-a2"],
        len([r for r in every if r["owner_unit"] == "kel-a2"]),
    )

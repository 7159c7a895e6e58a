"""Search (issue #21): a tracking code typed any way, a reporter's phone in any usual form and
words of the title or description find the case, on the API and the staff search page alike,
and only among the cases the searcher may read."""

from __future__ import annotations

import json
import re

import pytest

from coord.domain.tracking import format_tracking_code
from tests.factories import make_case
from tests.web.forms import WebUser


@pytest.fixture
def cases(world):  # type: ignore[no-untyped-def]
    """Three cases of kel-a1 with distinct reporters, and one of kel-b1 (another kecamatan)."""
    return {
        "siti": make_case(world, title="Lampu jalan mati", reporter_phone="0812-3456-7890"),
        "budi": make_case(
            world,
            title="Saluran tersumbat",
            description="Air meluap ke jalan",
            reporter_phone="+62 813 1111 2222",
        ),
        "rahasia": make_case(
            world,
            title="Pungutan liar",
            reporter_privacy="confidential",
            reporter_phone="081299998888",
        ),
        "other": make_case(
            world,
            "kel-b1",
            title="Lampu jalan mati",
            reporter_phone="081234567890",
            region_code="12.71.02.1001",
        ),
    }


def api_ids(client, world, q: str, unit: str = "kel-a1", role: str = "staff") -> list[int]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/cases", query_string={"q": q}, headers=world.headers(unit, role))
    assert response.status_code == 200, response.json
    assert json.loads(response.headers["X-Pagination"])["total"] == len(response.json)
    return sorted(c["id"] for c in response.json)


def test_a_tracking_code_typed_any_way_finds_the_case(client, world, cases):  # type: ignore[no-untyped-def]
    code = cases["budi"].tracking_code
    for typed in (code.lower(), format_tracking_code(code), format_tracking_code(code).lower()):
        assert api_ids(client, world, typed) == [cases["budi"].id], typed
    # Another unit's case is not found by its code.
    assert api_ids(client, world, cases["other"].tracking_code.lower()) == []
    assert api_ids(client, world, cases["other"].tracking_code, "kel-b1") == [cases["other"].id]


@pytest.mark.parametrize("typed", ["081234567890", "+62 812-3456-7890", "62 812 3456 7890"])
def test_a_reporters_phone_in_any_form_finds_their_cases(client, world, cases, typed):  # type: ignore[no-untyped-def]
    # kel-a1's Siti gave 0812-3456-7890; kel-b1's reporter the same number, out of scope.
    assert api_ids(client, world, typed) == [cases["siti"].id]
    assert api_ids(client, world, typed, "kel-b1") == [cases["other"].id]
    assert api_ids(client, world, typed, "camat-a", "manager") == [cases["siti"].id]


def test_a_confidential_reporter_is_not_found_by_their_number(client, world, cases):  # type: ignore[no-untyped-def]
    assert api_ids(client, world, "0812-9999-8888") == []
    assert api_ids(client, world, "pungutan") == [cases["rahasia"].id]


def test_words_of_the_title_or_description_any_case(client, world, cases):  # type: ignore[no-untyped-def]
    assert api_ids(client, world, "LAMPU jalan") == [cases["siti"].id]
    assert api_ids(client, world, "meluap") == [cases["budi"].id]
    assert api_ids(client, world, "jalan") == sorted([cases["siti"].id, cases["budi"].id])
    # An eight-letter word reads as a tracking code too; no case has that code: the words.
    assert api_ids(client, world, "tersumba") == [cases["budi"].id]
    assert api_ids(client, world, "50%_") == []


def test_the_staff_search_page_finds_the_same(app, world, cases):  # type: ignore[no-untyped-def]
    clerk = WebUser(app, "kel-a1.staff")

    def found(q: str) -> list[int]:
        html = clerk.get("/web/cases", query_string={"q": q}).get_data(as_text=True)
        return sorted(int(i) for i in re.findall(r'href="/web/cases/(\d+)"', html))

    assert found(format_tracking_code(cases["siti"].tracking_code).lower()) == [cases["siti"].id]
    assert found("+62 812 3456 7890") == [cases["siti"].id]
    assert found(cases["other"].tracking_code) == []
    assert "1 kasus ditemukan" in clerk.get("/web/cases?q=meluap").get_data(as_text=True)


def test_api_lists_page_with_a_true_total(client, world, cases):  # type: ignore[no-untyped-def]
    headers = world.headers("kel-a1", "staff")
    first = client.get("/api/v1/units?page_size=3", headers=headers)
    paging = json.loads(first.headers["X-Pagination"])
    assert len(first.json) == 3
    assert paging == {
        "total": 8,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 1,
        "next_page": 2,
    }
    last = client.get("/api/v1/units?page_size=3&page=3", headers=headers)
    assert len(last.json) == 2 and "next_page" not in json.loads(last.headers["X-Pagination"])
    codes = [
        u["code"]
        for p in (1, 2, 3)
        for u in client.get(f"/api/v1/units?page_size=3&page={p}", headers=headers).json
    ]
    assert len(set(codes)) == 8

    cases_page = client.get("/api/v1/cases?page_size=2&page=2", headers=headers)
    paging = json.loads(cases_page.headers["X-Pagination"])
    assert (paging["total"], paging["last_page"], len(cases_page.json)) == (3, 2, 1)

    for path in ("/api/v1/categories", "/api/v1/categories/sampah/policies"):
        listed = client.get(f"{path}?page_size=1", headers=headers)
        assert len(listed.json) == 1 and json.loads(listed.headers["X-Pagination"])["total"] > 1
    bad = client.get("/api/v1/units?page_size=101", headers=headers)
    assert bad.status_code == 422 and "page_size" in json.dumps(bad.json)

"""Attachments: real file type checked, size limited, stored outside the database, readable
only within the case's scope."""

from __future__ import annotations

import io

import pytest

from tests.factories import make_case

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def store(app, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "COORD_ATTACHMENT_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "COORD_ATTACHMENT_MAX_BYTES", 4096)
    return tmp_path


def upload(client, headers, case_id, content, name="foto.png", visibility="internal"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/cases/{case_id}/attachments",
        headers=headers,
        data={"file": (io.BytesIO(content), name), "visibility": visibility},
        content_type="multipart/form-data",
    )


def test_upload_list_and_download(client, world, store):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.headers("kel-a1", "staff")
    created = upload(client, staff, case.id, PNG, name="../../etc/jalan.png")
    assert created.status_code == 201, created.json
    assert created.json["content_type"] == "image/png" and created.json["filename"] == "jalan.png"
    assert created.json["size"] == len(PNG)
    stored = [p for p in store.rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [PNG]
    listed = client.get(f"/api/v1/cases/{case.id}/attachments", headers=staff).json
    assert [a["id"] for a in listed] == [created.json["id"]]
    download = client.get(created.json["url"], headers=staff)
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment")
    events = client.get(f"/api/v1/cases/{case.id}/events", headers=staff).json
    assert events[-1]["type"] == "case.attachment_added"


def test_wrong_type_and_oversized_files_are_refused(client, world, store):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.headers("kel-a1", "staff")
    fake = upload(client, staff, case.id, b"<html><script>alert(1)</script>", name="foto.png")
    assert fake.status_code == 422 and "file" in fake.json["errors"]
    big = upload(client, staff, case.id, PDF + b"x" * 5000, name="surat.pdf")
    assert big.status_code == 422 and "file" in big.json["errors"]
    huge = upload(client, staff, case.id, PDF + b"x" * 200_000, name="surat.pdf")
    assert huge.status_code == 413
    missing = client.post(
        f"/api/v1/cases/{case.id}/attachments",
        headers=staff,
        data={},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    # Nothing half-written: no row, no file left behind.
    assert client.get(f"/api/v1/cases/{case.id}/attachments", headers=staff).json == []
    assert [p for p in store.rglob("*") if p.is_file()] == []


def test_attachments_stay_in_scope(client, world, store):  # type: ignore[no-untyped-def]
    case = make_case(world)
    created = upload(client, world.headers("kel-a1", "staff"), case.id, PDF, name="surat.pdf")
    outsider = world.headers("kel-b1", "staff")
    assert client.get(created.json["url"], headers=outsider).status_code == 404
    assert upload(client, outsider, case.id, PDF).status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}/attachments", headers=outsider).status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("halaman.html", PNG, "halaman.png"),
        ("laporan.svg", PDF, "laporan.pdf"),
        ("foto", PNG, "foto.png"),
        ("surat.PDF", PDF, "surat.PDF"),
    ],
)
def test_attachment_name_matches_its_real_type(client, world, store, name, content, expected):  # type: ignore[no-untyped-def]
    from werkzeug.http import parse_options_header

    from tests.web.forms import web_login

    case = make_case(world)
    staff = world.headers("kel-a1", "staff")
    created = upload(client, staff, case.id, content, name=name)
    assert created.status_code == 201, created.json
    assert created.json["filename"] == expected
    api = client.get(created.json["url"], headers=staff)
    assert web_login(client, "kel-a1.staff").status_code == 302
    web = client.get(f"/web/attachments/{created.json['id']}")
    for download in (api, web):
        assert download.status_code == 200 and download.data == content
        kind, options = parse_options_header(download.headers["Content-Disposition"])
        assert kind == "attachment" and options["filename"] == expected
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Cache-Control"] == "no-store"
        assert download.mimetype == created.json["content_type"]

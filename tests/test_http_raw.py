"""Requests only a raw socket sends, against a real gunicorn: a chunked body with a bad chunk
size, and a keep-alive connection used again after an oversized body was refused."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import World
from tests.live import running_gunicorn


@pytest.fixture
def server(
    app: object, world: World, database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[str, int]]:
    with running_gunicorn(database_url, redis_url, tmp_path / "gunicorn.log") as base:
        parts = urlsplit(base)
        yield parts.hostname or "127.0.0.1", parts.port or 80


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length (what the app sends)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        body += chunk
    return status, headers, body[:length]


def test_a_bad_chunk_size_is_400(server: tuple[str, int], world: World) -> None:
    token = world.token("kel-a1", "staff")
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/cases HTTP/1.1\r\nHost: coord\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\n{}\r\n0\r\n\r\n"
        )
        status, headers, body = read_response(sock)
    assert status == 400, body
    assert "chunked" in json.loads(body)["message"]


def test_the_connection_still_answers_after_a_413(server: tuple[str, int], world: World) -> None:
    """The refused body is read away, so the next request on the kept-alive connection is
    answered (gunicorn itself gives up on more than 64 KiB of unread body and closes)."""
    token = world.token("kel-a1", "staff")
    big = json.dumps({"title": "a" * 1_200_000}).encode()
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/cases HTTP/1.1\r\nHost: coord\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(big)).encode() + b"\r\n\r\n" + big
        )
        status, headers, _ = read_response(sock)
        assert status == 413
        if headers.get("connection", "").lower() == "close":
            return  # the server said so; the client will not reuse the connection
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: coord\r\n\r\n")
        status, _, body = read_response(sock)
    assert status == 200, body


def test_a_bad_chunk_size_in_a_web_form_is_400(server: tuple[str, int]) -> None:
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(
            b"POST /web/login HTTP/1.1\r\nHost: coord\r\nAccept: text/html\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\nusername=x\r\n0\r\n\r\n"
        )
        status, _, body = read_response(sock)
    assert status == 400, body

"""A real webhook receiver for the tests: an HTTP/1.1 server on 127.0.0.1 in a thread that
verifies every request with the ``standardwebhooks`` library, as an agency's system would.

    with Receiver() as receiver:
        receiver.trust("current", secret)        # secrets to verify with, by label
        receiver.respond("/hook", 500, 500)      # the next answers on that path; then 200
        hold = receiver.hold_next("/hook")       # keep the next request waiting
        ...
        receiver.wait_for(3)                     # until 3 requests arrived (bounded wait)

Every request is recorded with the labels of the secrets its signature verified with; one
that verifies with none is answered 401 and listed in ``unverified``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from coord.clock import now_utc
from coord.extensions import db, rq
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import make_case

WAIT_SECONDS = 60.0  # upper bound for waiting on another thread or process; never a measure


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_by: list[str]

    @property
    def msg_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def signatures(self) -> list[str]:
        return self.headers.get("webhook-signature", "").split(" ")


@dataclass
class Hold:
    """A request kept waiting: ``arrived`` is set when it comes, the answer waits for
    ``release``."""

    status: int = 200
    after: int = 0  # requests on the path answered normally before this one is held
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.received: list[Received] = []
        self.unverified: list[Received] = []
        self._answers: dict[str, deque[Answer]] = {}
        self._holds: dict[str, deque[Hold]] = {}
        self._all_holds: list[Hold] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for hold in self._all_holds:
            hold.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- script ------------------------------------------------------------------------------
    def trust(self, label: str, secret: str) -> None:
        with self._changed:
            self.secrets[label] = secret

    def distrust(self, label: str) -> None:
        with self._changed:
            self.secrets.pop(label, None)

    def respond(self, path: str, *answers: int | tuple[int, dict[str, str]]) -> None:
        """The next answers on ``path``, in order; 200 once they are used up."""
        with self._changed:
            queue = self._answers.setdefault(path, deque())
            for answer in answers:
                if isinstance(answer, tuple):
                    queue.append(Answer(answer[0], dict(answer[1])))
                else:
                    queue.append(Answer(answer))

    def hold_next(self, path: str, status: int = 200, *, after: int = 0) -> Hold:
        """Keep the next request on ``path`` waiting (or the one after ``after`` more)."""
        hold = Hold(status=status, after=after)
        with self._changed:
            self._holds.setdefault(path, deque()).append(hold)
            self._all_holds.append(hold)
        return hold

    # -- reading -----------------------------------------------------------------------------
    def on(self, path: str) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.path == path]

    def msg_ids(self, path: str | None = None) -> list[str]:
        with self._changed:
            return [r.msg_id for r in self.received if path is None or r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = WAIT_SECONDS) -> bool:
        """Wait until at least ``count`` requests arrived (on ``path``); False if they did not."""

        def enough() -> bool:
            return len([r for r in self.received if path is None or r.path == path]) >= count

        with self._changed:
            return self._changed.wait_for(enough, timeout=timeout)

    # -- serving -----------------------------------------------------------------------------
    def _handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[Answer, Hold | None]:
        with self._changed:
            secrets = dict(self.secrets)
        verified_by = []
        for label, secret in secrets.items():
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_by.append(label)
        record = Received(path=path, headers=headers, body=body, verified_by=verified_by)
        with self._changed:
            self.received.append(record)
            if not verified_by:
                self.unverified.append(record)
            hold = self._holds.get(path)
            current_hold = None
            if hold and hold[0].after > 0:
                hold[0].after -= 1
            elif hold:
                current_hold = hold.popleft()
            queue = self._answers.get(path)
            answer = queue.popleft() if queue else Answer(200)
            self._changed.notify_all()
        if not verified_by:
            return Answer(401), None
        if current_hold is not None:
            return Answer(current_hold.status), current_hold
        return answer, None


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as coord's sessions expect

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer, hold = receiver._handle(self.path, headers, body)
            if hold is not None:
                hold.arrived.set()
                hold.release.wait(WAIT_SECONDS)
            payload = b'{"ok": true}' if 200 <= answer.status < 300 else b"nope"
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the sender is gone (a killed worker): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    return Handler


def running_receiver() -> Iterator[Receiver]:
    """For a fixture: ``yield from running_receiver()``."""
    with Receiver() as receiver:
        yield receiver


# --------------------------------------------------------------------------------------------
# Fixtures and helpers shared by the webhook tests (import the fixtures into a test module).

LOOPBACK = "127.0.0.0/8"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


@pytest.fixture
def webhook_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The test app allowed to send to loopback (where the receiver listens), with an empty
    Redis database, so that no job or gate of an earlier test is left over."""
    monkeypatch.setitem(app.config, "COORD_WEBHOOK_ALLOW_CIDRS", LOOPBACK)
    monkeypatch.setitem(app.config, "COORD_PUBLIC_BASE_URL", "https://coord.example.go.id")
    with app.app_context():
        rq.get_queue("webhooks").connection.flushdb()
    yield app


def drain(app: Flask) -> None:
    """Run an RQ worker in this process until the queues are empty (burst mode)."""
    from workers.runtime import make_worker

    db.session.rollback()  # let this test's session see what the jobs commit
    make_worker(app, ["default", "webhooks"]).work(burst=True)
    db.session.rollback()


def sweep() -> int:
    """Run the outbox sweep as the cron would; returns how many jobs it enqueued."""
    from workers.webhooks import sweep_outbox

    db.session.rollback()
    return sweep_outbox()


def register(
    client: Any, headers: dict[str, str], unit: str, url: str, event_types: list[str] | None = None
) -> dict[str, Any]:
    """Register an endpoint through the API; returns the answer (with its secret)."""
    response = client.post(
        f"/api/v1/units/{unit}/webhooks",
        headers=headers,
        json={"url": url, "event_types": event_types or ["handoff.requested", "handoff.accepted"]},
    )
    assert response.status_code == 201, response.json
    return dict(response.json)


def queued_jobs(app: Flask, queue: str = "webhooks") -> int:
    with app.app_context():
        return len(rq.get_queue(queue))


def new_case_via_api(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    created = client.post(
        "/api/v1/cases",
        headers=headers,
        json={
            "title": "Parit tersumbat",
            "description": "Air meluap ke jalan",
            "category": "jalan-rusak",
            "location": {"region_code": "12.71.01.1001"},
            "reporter": {"privacy": "named", "name": "Budi", "phone": "081200000001"},
        },
    )
    assert created.status_code == 201, created.json
    return dict(created.json)


def forward_via_api(
    client: Any, headers: dict[str, str], to_unit: str = "dinas-pu"
) -> dict[str, Any]:
    case = new_case_via_api(client, headers)
    forwarded = client.post(
        f"/api/v1/cases/{case['id']}/handoffs",
        headers=headers,
        json={"kind": "transfer", "to_unit": to_unit, "note": "mohon ditangani"},
    )
    assert forwarded.status_code == 201, forwarded.json
    return dict(forwarded.json)


def forward(world: Any, to_unit: str = "dinas-pu") -> int:
    """A new case of kel-a1 forwarded through the services; returns the handoff id."""
    case = make_case(world)
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user("kel-a1", "staff"), case.id, "transfer", to_unit, "mohon", now_utc()
        )
    return handoff.id

"""Sending one webhook message: a ``requests`` session whose connections go only to allowed
addresses (resolved and checked at connect time, never retried by urllib3), the signed
POST of one claimed delivery (``post_once``), and what it came to (``Attempt``).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from coord.domain import netguard, signing

log = logging.getLogger(__name__)
E = TypeVar("E", bound=BaseException)


# --------------------------------------------------------------------------------------------
# What is sent: a claimed delivery, and its endpoint as the job copied it


@dataclass
class Claimed:
    id: int
    msg_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass
class Target:
    """What a job needs of its endpoint, copied out of the session before sending."""

    id: int
    url: str
    secrets: list[str]


# --------------------------------------------------------------------------------------------
# Sending: guarded connections, one keep-alive session per batch


class DestinationRefused(NewConnectionError):
    """The destination resolved to an address webhooks may not go to."""

    def __init__(self, conn: Any, problem: str) -> None:
        self.problem = problem
        super().__init__(conn, f"destination refused: {problem}")


def _guarded_connect(conn: HTTPConnection, allow: Sequence[netguard.IPNetwork]) -> socket.socket:
    """Resolve, check every address, then connect to a checked address (never resolving
    again, so a DNS answer that changes between check and connect cannot slip through)."""
    host = conn._dns_host  # type: ignore[attr-defined]
    try:
        infos = socket.getaddrinfo(host, conn.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    problem = netguard.refusal(addresses, allow)
    if problem is not None:
        raise DestinationRefused(conn, problem)
    error: OSError | None = None
    for address in addresses:
        try:
            return urllib3_connection.create_connection(
                (address, conn.port or 80),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            error = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


def _guarded_pool_classes(allow: Sequence[netguard.IPNetwork]) -> dict[str, type]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_connect(self, allow)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_connect(self, allow)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only to allowed addresses, never retried by
    urllib3 (retries are ours, on the delivery's schedule)."""

    def __init__(self, allow: Sequence[netguard.IPNetwork]) -> None:
        self._allow = tuple(allow)
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self._allow)


USER_AGENT = "coord-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024


def open_session(allow: Sequence[netguard.IPNetwork]) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment: the guard decides
    adapter = GuardedAdapter(allow)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Content-Type": "application/json"})
    return session


@dataclass
class Attempt:
    """What one POST came to."""

    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    refused: bool = False
    unreachable: bool = False  # no connection at all: the rest of the batch would fail too

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _cause(exc: BaseException, kind: type[E]) -> E | None:
    """The exception of type ``kind`` somewhere inside what requests raised, if any
    (requests wraps urllib3's MaxRetryError, which holds the connection's error as reason)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        if isinstance(current, BaseException):
            stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
            stack.extend(a for a in current.args if isinstance(a, BaseException))
    return None


def _wall_clock() -> int:
    # The signature timestamp is the moment of sending by the real clock: receivers compare it
    # with their own clocks (five minutes' tolerance), so a frozen test clock must not leak here.
    return int(time.time())


def post_once(
    session: requests.Session, target: Target, claimed: Claimed, timeout: float, deadline: float
) -> Attempt:
    body = json.dumps(claimed.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = signing.signed_headers(target.secrets, claimed.msg_id, _wall_clock(), body)
    try:
        response = session.post(
            target.url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.ConnectionError as exc:
        refused = _cause(exc, DestinationRefused)
        if refused is not None:
            return Attempt(error=f"destination refused: {refused.problem}", refused=True)
        if isinstance(exc, requests.ConnectTimeout) or _cause(exc, NewConnectionError) is not None:
            return Attempt(error=f"could not connect: {_short(exc)}", unreachable=True)
        return Attempt(error=f"connection failed: {_short(exc)}")
    except requests.Timeout:
        return Attempt(error=f"no response within {timeout:g} s")
    except requests.RequestException as exc:
        return Attempt(error=f"request failed: {_short(exc)}")
    except Exception as exc:  # never let one message wedge the batch under an endless lease
        log.exception(
            "webhook delivery %s to endpoint %s failed unexpectedly", claimed.id, target.id
        )
        return Attempt(error=f"unexpected error: {type(exc).__name__}")
    with response:
        snippet = _read_some(response, deadline)
    attempt = Attempt(
        status_code=response.status_code, retry_after=response.headers.get("Retry-After")
    )
    if not attempt.delivered:
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "")[:300]
            attempt.error = f"HTTP {response.status_code}: redirect to {location!r} not followed"
        else:
            attempt.error = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
    return attempt


def _read_some(response: requests.Response, deadline: float) -> str:
    """Up to 64 KiB of the response (so the connection can be reused), within the deadline;
    returns the start of it as text for the delivery log."""
    data = b""
    try:
        for chunk in response.iter_content(8192):
            data += chunk
            if len(data) >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                break
    except requests.RequestException:
        pass
    return data[:200].decode("utf-8", "replace").strip()


def _short(exc: BaseException) -> str:
    return str(exc)[:300]

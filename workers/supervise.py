"""Run the RQ worker or the cron scheduler once Redis answers, and again after Redis comes back.

    python -m workers.supervise worker [OPTIONS]   # flask --app wsgi coord worker [OPTIONS]
    python -m workers.supervise cron               # flask --app wsgi rq cron
    python -m workers.supervise check              # exit 0 if Redis answers PING, else 1

Why: RQ exits at once when Redis is unreachable, and honcho (``make run``) stops every process
when one exits, so a missing Redis would take the web process down too. The API does not need
Redis (work waits as database rows), so the worker and cron wait for it instead.

The command runs in its own session so that a SIGTERM reaches it exactly once (forwarded from
here): RQ treats a second signal as "cold shutdown" and kills the running job.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from types import FrameType
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import RedisError

from config.logging import configure_logging
from config.settings import load_config

log = logging.getLogger("workers.supervise")

# `coord worker` is Flask-RQ's worker without a fork per job (workers/runtime.py).
COMMANDS = {
    "worker": [sys.executable, "-m", "flask", "--app", "wsgi", "coord", "worker"],
    "cron": [sys.executable, "-m", "flask", "--app", "wsgi", "rq", "cron"],
}
POLL_SECONDS = 1.0
LOG_EVERY_SECONDS = 30.0
# Restart policy. A command that ran this long counts as healthy, whatever ended it. One that
# dies sooner although Redis answers by the time we look may have hit a short Redis blip (gone
# again before we checked), or may be broken: it is restarted after a pause that doubles each
# time (1 s, 2 s, 4 s, ...), and only after GIVE_UP_AFTER such quick exits in a row (about a
# minute of a crash loop) do we stop visibly. Exits while Redis does not answer never count.
HEALTHY_RUN_SECONDS = 60.0
GIVE_UP_AFTER = 6
MAX_PAUSE_SECONDS = 30.0


class Supervisor:
    def __init__(self, command: list[str], redis_url: str) -> None:
        self.command = command
        self.redis_url = redis_url
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def wait_for_redis(self) -> None:
        """Return when Redis answers or a stop was asked for; log every ~30 s meanwhile."""
        started = time.monotonic()
        last_log: float | None = None
        while not self.stopping and (problem := redis_problem(self.redis_url)):
            now = time.monotonic()
            if last_log is None or now - last_log >= LOG_EVERY_SECONDS:
                log.warning(
                    "waiting for Redis at %s (%s; %.0f s so far); the web API works meanwhile",
                    redacted(self.redis_url),
                    problem,
                    now - started,
                )
                last_log = now
            time.sleep(POLL_SECONDS)

    def run(self) -> int:
        quick_exits = 0  # in a row, while Redis answered
        while True:
            self.wait_for_redis()
            if self.stopping:
                return 0
            log.info("starting flask %s", " ".join(self.command[3:]))
            started = time.monotonic()
            self.child = subprocess.Popen(self.command, start_new_session=True)
            if self.stopping:  # the signal came between the check above and Popen
                self.child.terminate()
            code = self.child.wait()
            self.child = None
            if self.stopping:
                return 0
            ran = time.monotonic() - started
            if ran >= HEALTHY_RUN_SECONDS or redis_problem(self.redis_url) is not None:
                quick_exits = 0
                log.warning(
                    "command exited with %s after %.0f s; restarting once Redis answers", code, ran
                )
                self.pause(POLL_SECONDS)
                continue
            quick_exits += 1
            if quick_exits >= GIVE_UP_AFTER:
                log.error(
                    "command exited with %s after %.0f s while Redis answers, %s times in a row; "
                    "stopping",
                    code,
                    ran,
                    quick_exits,
                )
                return code or 1
            pause = min(POLL_SECONDS * 2 ** (quick_exits - 1), MAX_PAUSE_SECONDS)
            log.error(
                "command exited with %s after %.0f s while Redis answers (%s of %s in a row); "
                "restarting in %.0f s",
                code,
                ran,
                quick_exits,
                GIVE_UP_AFTER,
                pause,
            )
            self.pause(pause)

    def pause(self, seconds: float) -> None:
        """Sleep, cut short by a stop."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, POLL_SECONDS))


def redis_problem(url: str) -> str | None:
    """None when Redis at ``url`` answers PING, else what went wrong."""
    try:
        client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except (RedisError, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in (*COMMANDS, "check"):
        print(__doc__, file=sys.stderr)
        return 2
    config = load_config()
    redis_url = config["REDIS_URL"]
    if argv[0] == "check":
        problem = redis_problem(redis_url)
        if problem:
            print(f"Redis at {redacted(redis_url)} does not answer: {problem}", file=sys.stderr)
        return 1 if problem else 0
    configure_logging(config["COORD_LOG_JSON"], config["COORD_LOG_LEVEL"])
    supervisor = Supervisor(COMMANDS[argv[0]] + argv[1:], redis_url)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    signal.signal(signal.SIGINT, supervisor.on_signal)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

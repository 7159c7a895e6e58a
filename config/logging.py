"""Logging: JSON lines (python-json-logger) with the request id or job id on every line, and
no secrets: query-string values of secret-bearing parameters and anything shaped like one of
coord's credentials are replaced by ``[redacted]`` (here, and in gunicorn's access log)."""

from __future__ import annotations

import logging
import logging.config
import re
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)


# A query parameter (or form field, or key=value in a message) whose name contains one of these
# (case-insensitively) carries a secret: the citizen's receipt ``token``, Open311's ``api_key``,
# passwords, webhook secrets, signatures, session and CSRF values. The one list for every log.
SECRET_PARAM_PARTS = (
    "token",
    "key",
    "password",
    "passwd",
    "secret",
    "signature",
    "credential",
    "auth",
    "session",
    "csrf",
)
REDACTED = "[redacted]"

# name=value: the name is a whole run of name characters (the look-behind lets a match start
# only where such a run starts, which keeps the scan linear in the text's length: a long
# Referer or request line must not cost a worker seconds); the value runs to a separator. A
# pair is redacted when its name contains one of SECRET_PARAM_PARTS.
_NAME_CHARS = r"[\w.\-\[\]%]"
_PAIR = re.compile(
    rf"(?<!{_NAME_CHARS})(?P<name>{_NAME_CHARS}+)(?P<sep>=|%3D)(?P<value>[^&\s\"'<>;,]+)",
    re.IGNORECASE,
)


def _redact_pair(match: re.Match[str]) -> str:
    name = match["name"].lower()
    if any(part in name for part in SECRET_PARAM_PARTS):
        return match["name"] + match["sep"] + REDACTED
    return match[0]


# Credentials coord issues, whatever they appear in: API tokens, Open311 keys, webhook secrets,
# and bearer tokens in a header someone logged.
_SECRET_SHAPES = re.compile(
    r"\b(?:coord|o311)_[A-Za-z0-9_\-]{16,}|\bwhsec_[A-Za-z0-9+/=_\-]{16,}"
    r"|(?<=Bearer )[^\s\"',;]+",
    re.IGNORECASE,
)


# The password in a URL (redis://:password@host, postgresql://user:password@host).
_URL_PASSWORD = re.compile(
    r"(?P<head>(?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^/\s@]+@", re.IGNORECASE
)


def redact(text: str) -> str:
    """``text`` with every secret-bearing ``name=value`` value, URL password and credential
    replaced."""
    if not text:
        return text
    if "=" in text or "%3d" in text.lower():
        text = _PAIR.sub(_redact_pair, text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m["head"] + REDACTED + "@", text)
    return _SECRET_SHAPES.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Replace secrets in each record's message (its arguments merged in) before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class ContextFilter(logging.Filter):
    """Stamp every record with the current request id and RQ job id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or ""
        record.job_id = job_id_var.get() or ""
        return True


class QuietJobLines(logging.Filter):
    """RQ writes four INFO lines per job (dequeued, "Job OK", "Successfully completed", "result
    is kept"), and its cron scheduler one more as it enqueues a periodic job: with a sweep
    every 15 s they buried everything else. They become DEBUG; the
    worker writes one line per job itself, at DEBUG for a periodic job that did nothing
    (``workers.runtime.log_job_outcome``)."""

    PER_JOB = (
        "Worker %s: %s: %s",  # dequeued (with or without the description), and "Job OK"
        "Successfully completed",
        "Worker %s: job %s result",
        "Enqueued job ",  # rq.cron, each time it enqueues a periodic job (every 15 s)
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name.startswith("rq.")
            and record.levelno == logging.INFO
            and isinstance(record.msg, str)
            and record.msg.startswith(self.PER_JOB)
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def logging_config(json_logs: bool, level: str) -> dict[str, Any]:
    formatter: dict[str, Any]
    if json_logs:
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    else:
        formatter = {
            "format": "%(asctime)s %(levelname)s [%(request_id)s%(job_id)s] %(name)s: %(message)s",
            "datefmt": "%H:%M:%S",
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": ContextFilter},
            "redact": {"()": RedactingFilter},
            "quiet_jobs": {"()": QuietJobLines},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["quiet_jobs", "context", "redact"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "werkzeug": {"level": "WARNING"},
            "alembic": {"level": "WARNING"},
            "rq.worker": {"level": level},
        },
    }


def configure_logging(json_logs: bool, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(json_logs, level))

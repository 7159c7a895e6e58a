"""Logging: JSON lines (python-json-logger) with the request id or job id on every line."""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)


class ContextFilter(logging.Filter):
    """Stamp every record with the current request id and RQ job id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or ""
        record.job_id = job_id_var.get() or ""
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
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["context"],
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

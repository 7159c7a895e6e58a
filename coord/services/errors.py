"""Errors a service raises; the HTTP layers turn each into one status code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, errors: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class InvalidInput(ServiceError):
    """Input that is well-formed but wrong (unknown unit, assignee of another unit...)."""

    status = 422

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(f"Invalid value for '{name}': {message}", {name: [message]})


class NotAuthenticated(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """The current state forbids the action, or a concurrent change won."""

    status = 409


class PreconditionFailed(ServiceError):
    status = 412


class PreconditionRequired(ServiceError):
    status = 428


class TooManyAttempts(ServiceError):
    """Too many failed logins for one account: refused until ``retry_after`` seconds pass."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

"""Extension objects, created unbound and bound to the app in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_rq import RQ
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __table__: ClassVar[Table]  # every model maps one table


db = SQLAlchemy(model_class=Base)

# The base class of every model. Type checkers see the declarative base; at runtime it is
# Flask-SQLAlchemy's ``db.Model`` built on it (table names, binds, the engine per app).
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(compare_type=True, render_as_batch=True)

# How long the app waits for Redis (connect, and each answer) before it gives up.
REDIS_TIMEOUT_SECONDS = 1.0


class AppRedis(Redis):
    """The app's Redis connection (``RQ_CONNECTION_CLASS``): gives up after
    ``REDIS_TIMEOUT_SECONDS`` without retrying, so that a Redis that is down or frozen (accepting
    connections but not answering) delays a request's after-commit enqueue by about a second;
    the work is already committed and the outbox sweep enqueues it later
    (docs/operations.md). Options in the URL (``?socket_timeout=2``) win over these defaults.

    Workers do not use it for their blocking dequeue: ``workers.runtime`` opens their own
    connection, patient with a Redis that goes away."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AppRedis:
        kwargs.setdefault("socket_connect_timeout", REDIS_TIMEOUT_SECONDS)
        kwargs.setdefault("socket_timeout", REDIS_TIMEOUT_SECONDS)
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        return super().from_url(url, **kwargs)  # type: ignore[return-value]


rq = RQ()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
babel = Babel()
csrf = CSRFProtect()

"""The configuration generation: a value that changes whenever configuration changes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from coord.extensions import Model


class ConfigGeneration(Model):
    """One row (id 1). Every transaction that changes a category, SLA policy, region, unit or
    webhook endpoint sets ``value`` to a new random number, so each process can tell, in the
    query that authenticates a request, whether its cached configuration is still current
    (``coord.services.config_cache``). No row reads as generation 0."""

    __tablename__ = "config_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)

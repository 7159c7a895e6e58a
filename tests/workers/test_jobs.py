"""The job registry (coord/jobs.py): every registered job's path names a function the
workers can import, on a queue the app serves, and no other module of coord spells a job's
dotted path (services enqueue by the registry's constants)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from pkgutil import resolve_name

import pytest
from flask import Flask

from coord import jobs

COORD = Path(__file__).resolve().parents[2] / "coord"
DOTTED_JOB = re.compile(r"workers(\.\w+)+")


@pytest.mark.parametrize("job", jobs.JOBS, ids=lambda job: job.name)
def test_every_registered_job_imports_and_is_callable(job: jobs.Job, app: Flask) -> None:
    assert callable(resolve_name(job.path)), job.path
    assert job.queue in jobs.QUEUES
    assert job.queue in app.config["RQ_QUEUES"]


def test_the_registry_knows_the_apps_queues_and_each_job_once(app: Flask) -> None:
    assert list(jobs.QUEUES) == list(app.config["RQ_QUEUES"])
    paths = [job.path for job in jobs.JOBS]
    assert len(paths) == len(set(paths))


def test_no_module_but_the_registry_spells_a_job_path() -> None:
    found = sorted(
        f"{path.relative_to(COORD.parent)}: {node.value}"
        for path in COORD.rglob("*.py")
        if path != COORD / "jobs.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and DOTTED_JOB.fullmatch(node.value)
    )
    assert found == []

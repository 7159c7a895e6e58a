"""The lock files (requirements/*.txt, made by `make lock`) pin every dependency that
pyproject.toml asks for, at a version it allows: CI and the Docker image install from them, so
a dependency added to pyproject.toml without `make lock` would otherwise be missing there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", re.MULTILINE)


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {canonicalize_name(m[1]): m[2] for m in PIN.finditer(text)}


def _project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("runtime.txt", ["dependencies"]), ("dev.txt", ["dependencies", "dev"])],
)
def test_every_dependency_is_pinned_at_an_allowed_version(lock: str, groups: list[str]) -> None:
    project = _project()
    wanted = [
        Requirement(spec)
        for group in groups
        for spec in (
            project["dependencies"]
            if group == "dependencies"
            else project["optional-dependencies"][group]
        )
    ]
    pins = _pins(lock)
    problems = []
    for req in wanted:
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name} is not in requirements/{lock}")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} does not satisfy {req}")
    assert not problems, "run `make lock`: " + "; ".join(problems)


def test_every_pin_has_hashes() -> None:
    for lock in ("runtime.txt", "dev.txt"):
        text = (ROOT / "requirements" / lock).read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)
        unhashed = [b.split("==")[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
        assert not unhashed, f"{lock}: pins without hashes: {unhashed}"


def test_the_runtime_lock_leaves_out_the_tools() -> None:
    runtime = _pins("runtime.txt")
    for tool in ("pytest", "honcho", "standardwebhooks", "ruff", "mypy", "pip-tools"):
        assert canonicalize_name(tool) not in runtime, f"{tool} belongs in the dev lock only"

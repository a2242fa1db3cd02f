"""environment.yml must describe the same packages as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pip_lines() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    out = []
    for line in lines[start + 1 :]:
        m = re.match(r"^\s+- (.+)$", line)
        if m and not m.group(1).startswith("-e"):
            out.append(m.group(1).strip())
    return out


def _norm(spec: str) -> str:
    return re.sub(r"\s+", "", spec).lower()


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    env = _pip_lines()
    assert sorted(map(_norm, wanted)) == sorted(map(_norm, env))


def test_torch_pins_are_the_pair_that_installs_here():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps

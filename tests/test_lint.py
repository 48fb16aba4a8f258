"""The code passes the project's pinned ruff rules (``pyproject.toml`` ``[tool.ruff.lint]``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff") or (None if subprocess.run([sys.executable, "-m", "ruff", "--version"],
                                                          capture_output=True, check=False).returncode else "module")
    if ruff is None:
        pytest.skip("ruff is not installed (requirements.txt pins it)")
    cmd = [sys.executable, "-m", "ruff"] if ruff == "module" else [ruff]
    done = subprocess.run([*cmd, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

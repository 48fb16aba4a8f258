"""After a plain ``pip install .``, the package runs the embedded demo from anywhere.

The demo lives in ``data/haibowan/`` in the checkout and is installed as the package data
``coverage/data/haibowan/`` (pyproject.toml maps one to the other). The test builds a fresh
virtual environment that sees this machine's dependencies (``--system-site-packages``, no
download), installs the checkout into it without dependencies, and runs ``python -m coverage
plan`` and the ``health-circle`` script from a folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # build from a copy: setuptools writes build/ and *.egg-info beside the sources
    src = tmp_path_factory.mktemp("src") / "checkout"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "out", "build", "*.egg-info", "__pycache__",
                                                              ".hypothesis", ".ruff_cache", ".benchmarks"))
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                          "--no-build-isolation", "--no-index", "--quiet", str(src)],
                         capture_output=True, text=True, check=False, cwd=src.parent, timeout=600)
    if res.returncode != 0 and "no such option: --python" in res.stderr:
        pytest.skip("pip too old for --python")
    assert res.returncode == 0, res.stderr
    return py


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    return env


def test_installed_package_runs_the_demo_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(installed), "-c", "import coverage, coverage.datasets as d; "
                            "print(coverage.__file__); print(d.demo_data_dir())"],
                           capture_output=True, text=True, check=False, cwd=work, env=_clean_env(), timeout=120)
    assert where.returncode == 0, where.stderr
    module_file, demo_dir = where.stdout.split()
    assert not Path(module_file).is_relative_to(ROOT), "imported the checkout, not the installed package"
    assert not Path(demo_dir).is_relative_to(ROOT) and (Path(demo_dir) / "streets.osm").exists()

    res = subprocess.run([str(installed), "-m", "coverage", "plan", "--out", "o", "--no-report",
                          "--isochrone-minutes", "15", "-q"],
                         capture_output=True, text=True, check=False, cwd=work, env=_clean_env(), timeout=600)
    assert res.returncode == 0, res.stderr
    summary = json.loads((work / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["dataset"]["synthetic"] is True
    assert summary["population_check"]["declared"] == pytest.approx(339155, abs=1)


def test_console_script_is_installed(installed: Path, tmp_path: Path) -> None:
    script = installed.parent / "health-circle"
    res = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False, cwd=tmp_path,
                         env=_clean_env(), timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith(__import__("coverage.version").version.__version__)

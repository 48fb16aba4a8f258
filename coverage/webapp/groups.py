"""The app's group selector (全体居民 / 65岁及以上) and age-table upload: pure helpers, no Streamlit (issue 21).

Every figure comes from the plan's ``groups`` rows (:func:`coverage.groups.group_rows`), so the
app shows what ``summary.json`` says; the upload goes through the command line's reader
(:func:`coverage.read.agetable.read_age_table`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import pandas as pd

from coverage.errors import CoverageInputError
from coverage.groups import check_age_table
from coverage.i18n import lookup
from coverage.read.agetable import read_age_table
from coverage.read.safety import check_size

__all__ = ["GROUPS", "GROUP_STRINGS", "age_upload", "group_figures", "group_result", "group_row", "gtr"]

#: The selector's values (language-independent), in order.
GROUPS = ("all", "65+")

#: 中文 / English strings of the group selector and the age upload.
GROUP_STRINGS: dict[str, tuple[str, str]] = {
    "group": ("人群", "Group"),
    "group_all": ("全体居民", "All residents"),
    "group_65+": ("65岁及以上", "Aged 65+"),
    "group_help": ("选择65岁及以上时，头部数字、地图着色和社区表按65岁及以上居民显示（步行按老年人步速）。",
                   ("With 65+ chosen, the headline figures, the map colours and the community table are those of "
                   "residents aged 65+ (walking at the elderly speed).")),
    "g_m_population": ("65岁及以上居民", "Residents aged 65+"),
    "g_m_radius": ("65岁及以上：{r:.0f}米网络覆盖率", "65+ within {r:.0f} m (network)"),
    "g_m_walk": ("65岁及以上：{m:g}分钟步行（{v:g} km/h）", "65+ within {m:g} min walk ({v:g} km/h)"),
    "g_m_elderly": ("65岁及以上：{m:g}分钟步行（老年人步速 {v:g} km/h）",
                    "65+ within {m:g} min at elderly speed ({v:g} km/h)"),
    "g_m_uncovered": ("老年人步速下未覆盖的65岁及以上居民", "65+ not reached at elderly speed"),
    "g_shown": ("地图和社区表显示65岁及以上居民：步行覆盖率为老年人步速（{v:g} km/h）{m:g}分钟的结果（{a}）。",
                ("The map and the community table show residents aged 65+: walk shares at the elderly speed "
                "({v:g} km/h) in {m:g} minutes ({a}).")),
    "g_all_shown": ("以下仍为全体居民的数据。", "The figures below are those of all residents."),
    "age_upload": ("65岁及以上人口表（可选）", "Age table, 65+ (optional)"),
    "age_upload_help": (("列：社区代码（code）或社区名称（name），以及 65岁及以上人口（population_65plus，人数）"
                        "或 share_65plus（占比 0–1）。与命令行 --age-table 读取方式相同。"),
                        ("Columns: the community's code or name, and population_65plus (65岁及以上人口, head count) "
                        "or share_65plus (0–1). Read as the command line's --age-table.")),
    "age_loaded": ("已使用年龄表：{name}（{n} 行）", "Age table in use: {name} ({n} rows)"),
    "age_failed": ("年龄表未使用：{msg}", "Age table not used: {msg}"),
}


def gtr(key: str, lang: str = "zh", **fmt: object) -> str:
    """Translate a key of :data:`GROUP_STRINGS`."""
    return lookup(GROUP_STRINGS, key, lang, **fmt)


def age_upload(name: str, data: bytes, communities: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """Read and check an uploaded age table as ``--age-table`` does; messages name the upload, not a temp path.

    Parameters
    ----------
    name : str
        The uploaded file's name (its extension says CSV or Excel).
    data : bytes
    communities : DataFrame
        The loaded study's communities: a row naming none of them is refused.

    Returns
    -------
    digest : str
        Of the bytes (the plan cache key).
    table : DataFrame
        :func:`coverage.read.agetable.read_age_table`'s table.
    """
    check_size(len(data), name)
    safe = Path(name).name or "age.csv"
    with tempfile.TemporaryDirectory(prefix="coverage_age_") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            table = read_age_table(path)
        except CoverageInputError as exc:
            raise type(exc)(exc.reason, path=safe, row=exc.row) from None
    table.attrs["path"] = safe
    check_age_table(communities, table)
    return hashlib.sha1(data).hexdigest()[:16], table


def group_row(groups: list[dict] | None, group: str) -> dict | None:
    """The ``groups`` row of ``group`` (``all``, ``65+``), or None."""
    return next((g for g in groups or [] if g.get("group") == group), None)


def group_figures(groups: list[dict] | None, group: str = "65+") -> dict | None:
    """Headline figures of a group with data (None without): population, the three shares, residents not
    reached at the group's profile, its speed."""
    g = group_row(groups, group)
    if g is None or not g.get("available", True):
        return None
    pop = float(g["population"])
    return {"population": pop, "radius_share": g.get("radius_share"), "walk_share": g.get("walk_share"),
            "profile_walk_share": g.get("profile_walk_share"), "speed_kmh": g.get("speed_kmh"),
            "uncovered": pop - float(g.get("profile_walk_population") or 0.0),
            "assumption_zh": g.get("assumption_zh", ""), "assumption_en": g.get("assumption_en", "")}


def group_result(result, group: str):
    """``result`` with its community table that of ``group`` (the map and community table of the selector).

    For the 65+: their head count, their share within the radius and, as ``walk_share``, their walk
    at the elderly profile; communities without age data get no figures (grey on the map). ``all``,
    or a group without data, gives ``result`` itself.
    """
    g = group_row(getattr(result, "groups", None), group)
    if group == "all" or g is None or not g.get("available", True):
        return result
    per = pd.DataFrame(g.get("communities") or [], columns=["name", "subdistrict", "population", "radius_share",
                                                             "profile_walk_share"])
    per = per.rename(columns={"profile_walk_share": "walk_share"})
    comm = result.communities.drop(columns=["population", "radius_share", "walk_share"])
    comm = comm.merge(per, on=["name", "subdistrict"], how="left")
    comm["population"] = comm["population"].fillna(0.0)
    return dataclasses.replace(result, communities=comm)

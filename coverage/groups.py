"""Coverage by age group: residents aged 65 and over, walking at the elderly profile's speed (issue 21).

Age data come from the communities layer (or a table keyed by community code or name): a
head count ``population_65plus`` (``65岁及以上人口``) or a share ``share_65plus``
(``65岁及以上人口占比``). Nothing finer is known, so each demand point's 65+ residents are
its population times its community's share (:data:`ASSUMPTION`); points in communities
without age data, or in none, are of unknown age. Without any age data nothing is invented:
the 65+ row says which column to add.

Rows (``summary.json`` → ``groups``): ``all``, ``65+``, ``under 65`` and, when some
population has no age data, ``age unknown``. ``population``, ``radius_population`` and
``walk_population`` (the plan's own pass) of the last three add up to ``all``;
``profile_walk_share`` is each group's walk at *its* profile (65+: elderly). The 65+ row's
``communities`` gives the same figures per community with age data.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.errors import MissingColumnError, ValueInputError
from coverage.read.agetable import AGE_COUNT_COLUMNS, AGE_SHARE_COLUMNS, age_values, find_column
from coverage.read.cells import code_text
from coverage.read.officedata import name_key

__all__ = [
    "AGE_COUNT_COLUMNS",
    "AGE_SHARE_COLUMNS",
    "ASSUMPTION",
    "ELDERLY_GROUP_PROFILE",
    "AgeData",
    "age_data",
    "check_age_table",
    "community_rows",
    "group_rows",
    "missing_age_note",
    "older_residents",
]

#: The walking profile of the 65+ group.
ELDERLY_GROUP_PROFILE = "elderly"
#: How a demand point's 65+ residents are derived (stated in every output).
ASSUMPTION = ("每个居民点的65岁及以上人口 = 该点人口 × 所在社区的65岁及以上人口占比（社区内年龄结构视为均匀）",
              ("each demand point's 65+ residents = its population × its community's 65+ share "
               "(age assumed evenly spread within a community)"))


@dataclass
class AgeData:
    """The 65+ share of each community that has one.

    Attributes
    ----------
    shares : DataFrame
        ``name``, ``subdistrict``, ``share_65plus`` (NaN: no age data for that community).
    column : str
        The column read (layer or table).
    kind : {"count", "share"}
    source : str
        ``communities`` or ``table``.
    unmatched : list of str
        Table rows that matched no community.
    file : str, optional
        The table's file name (``attrs["path"]`` of :func:`coverage.read.agetable.read_age_table`).
    """

    shares: pd.DataFrame
    column: str
    kind: str
    source: str
    unmatched: list
    file: str | None = None


def _community_keys(communities: pd.DataFrame, key: str) -> dict[str, int]:
    """Normalised code or name → position; refuses keys that repeat (the join would be ambiguous)."""
    norm = code_text if key == "code" else name_key
    ckeys = [norm(v) for v in communities[key]] if key in communities.columns else []
    dup = {k for k in ckeys if k and ckeys.count(k) > 1}
    if dup:
        raise ValueInputError(f"community {key}s repeat ({', '.join(sorted(dup)[:5])}): the age table cannot be "
                              "joined by them; add a code column to both")
    return {k: i for i, k in enumerate(ckeys) if k}


def _table_on_communities(communities: pd.DataFrame, table: pd.DataFrame, col: str
                          ) -> tuple[pd.Series, list[tuple[int, str, str]]]:
    """Table values moved onto the communities: by code when both have codes, else (or for a row without a
    code) by name.

    Returns the values per community and, per table row that matched none, (row position, key column, key).
    """
    by_code = "code" in table.columns and table["code"].notna().any() and communities["code"].notna().any()
    if not by_code and "name" not in table.columns:
        raise MissingColumnError(f"the age table has no name column to join on (the communities have no codes); "
                                 f"columns found: {list(table.columns)}")
    pos = {"code": _community_keys(communities, "code") if by_code else {}}
    if "name" in table.columns:
        try:
            pos["name"] = _community_keys(communities, "name")
        except ValueInputError:
            if not by_code:
                raise
            pos["name"] = {}  # names repeat but codes join: rows without a code stay unmatched
    out = pd.Series(np.nan, index=communities.index, dtype=object)
    unmatched = []
    for i in range(len(table)):
        code = code_text(table["code"].iloc[i]) if by_code else None
        key, k = ("code", code) if code else ("name", name_key(table["name"].iloc[i]) if "name" in table else "")
        if k in pos[key]:
            out.iloc[pos[key][k]] = table[col].iloc[i]
        else:
            unmatched.append((i, key, str(k)))
    return out, unmatched


def check_age_table(communities: pd.DataFrame, table: pd.DataFrame) -> None:
    """Refuse an age table (:func:`coverage.read.agetable.read_age_table`) with a row naming no community.

    A typo would otherwise leave that community's residents of unknown age. The plan itself only
    lists such rows (``unmatched_table_rows``): a city-wide table serves many regions in a batch.

    Raises
    ------
    ValueInputError
        Naming the file, the row, the column and close community names.
    """
    col = find_column(list(table.columns), AGE_COUNT_COLUMNS) or find_column(list(table.columns), AGE_SHARE_COLUMNS)
    if col is None:
        raise MissingColumnError(f"no 65+ column; add {AGE_COUNT_COLUMNS[0]} or {AGE_SHARE_COLUMNS[0]}",
                                 path=table.attrs.get("path"))
    _, unmatched = _table_on_communities(communities, table, col)
    if not unmatched:
        return
    i, key, _ = unmatched[0]
    known = [str(v) for v in communities[key].dropna()]
    close = difflib.get_close_matches(str(table[key].iloc[i]), known, n=3, cutoff=0.4) or known[:3]
    raise ValueInputError(f"column {key} = {table[key].iloc[i]!r} matches no community in the communities layer; "
                          f"write it as the layer does (e.g. {', '.join(close)}) or delete the row",
                          path=table.attrs.get("path"), row=table.index[i])


def age_data(communities: pd.DataFrame, table: pd.DataFrame | None = None) -> AgeData | None:
    """The 65+ share of each community, from its layer or a table; None without any age column.

    A head count is divided by the community's declared population; a count above it is refused.
    """
    src_frame, source = (table, "table") if table is not None else (communities, "communities")
    col = find_column(list(src_frame.columns), AGE_COUNT_COLUMNS)
    kind = "count"
    if col is None:
        col, kind = find_column(list(src_frame.columns), AGE_SHARE_COLUMNS), "share"
    if col is None:
        return None
    unmatched: list = []
    frame = communities.copy()
    if table is not None:
        frame[col], missed = _table_on_communities(communities, table, col)
        unmatched = [k for _, _, k in missed]
    values = age_values(frame, col, kind, f"{source} layer" if table is None else "age table")
    if kind == "count":
        declared = pd.to_numeric(frame["population"], errors="coerce").to_numpy(dtype=float)
        over = values > declared
        if over.any():
            i = int(np.flatnonzero(over)[0])
            if table is not None:  # name the table's file; its row is not the community's
                raise ValueInputError(f"column {col} = {values[i]:g} for community {frame['name'].iloc[i]!r} exceeds "
                                      f"its population {declared[i]:g} (communities layer); check the two",
                                      path=table.attrs.get("path"))
            raise ValueInputError(f"community {frame['name'].iloc[i]!r}: {col} = {values[i]:g} exceeds its "
                                  f"population {declared[i]:g}; check the two columns", row=frame.index[i])
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(declared > 0, values / declared, np.nan)
    shares = pd.DataFrame({"name": frame["name"].to_numpy(), "subdistrict": frame["subdistrict"].to_numpy(),
                           "share_65plus": values})
    file = table.attrs.get("path") if table is not None else None
    return AgeData(shares, str(col), kind, source, unmatched, Path(file).name if file else None)


def older_residents(points: pd.DataFrame, age: AgeData) -> np.ndarray:
    """65+ residents of each demand point (:data:`ASSUMPTION`); NaN where the age is unknown."""
    key = pd.MultiIndex.from_arrays([points["community"], points["subdistrict"].fillna("")])
    s = age.shares
    share = pd.Series(s["share_65plus"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [s["name"], s["subdistrict"].fillna("")]))
    share = share[~share.index.duplicated()]
    got = share.reindex(key).to_numpy(dtype=float)
    return points["population"].to_numpy(dtype=float) * got


def _row(group: str, zh: str, en: str, pop: np.ndarray, radius: np.ndarray, walk: np.ndarray,
         profile: str, speed: float, profile_walk: np.ndarray) -> dict:
    total = float(pop.sum())

    def share(x: float) -> float | None:
        return round(x / total, 6) if total > 0 else None
    r, w, pw = float(pop[radius].sum()), float(pop[walk].sum()), float(pop[profile_walk].sum())
    return {"group": group, "label_zh": zh, "label_en": en, "available": True, "population": round(total, 6),
            "radius_population": round(r, 6), "radius_share": share(r), "walk_population": round(w, 6),
            "walk_share": share(w), "profile": profile, "speed_kmh": speed,
            "profile_walk_population": round(pw, 6), "profile_walk_share": share(pw)}


def missing_age_note() -> dict:
    """The 65+ row without age data: what to add, in both languages (no figure is invented)."""
    cols = f"{AGE_COUNT_COLUMNS[0]} / {AGE_COUNT_COLUMNS[3]}"
    return {"group": "65+", "label_zh": "65岁及以上", "label_en": "aged 65+", "available": False, "population": None,
            "profile": ELDERLY_GROUP_PROFILE,
            "note_zh": f"无年龄数据：在社区图层（或按社区代码/名称关联的表）中添加 {cols} 列（65岁及以上人口数），"
                       f"或 {AGE_SHARE_COLUMNS[0]} 列（占比 0–1），即可按老年人步速统计65岁及以上居民的覆盖。",
            "note_en": f"No age data: add a {cols} column (head count aged 65+) or a {AGE_SHARE_COLUMNS[0]} column "
                       "(share 0–1) to the communities layer (or a table keyed by community code/name) to report "
                       "coverage of residents aged 65+ at the elderly walking speed."}


def group_rows(demand: pd.DataFrame, older: np.ndarray | None, minutes: float, plan_profile: str, plan_speed: float, older_walk: np.ndarray | None, elderly_speed: float,
               age: AgeData | None = None) -> list[dict]:
    """``summary.json`` → ``groups``.

    Parameters
    ----------
    demand : DataFrame
        ``CoverageResult.demand`` of the plan (``population``, ``covered_radius``, ``covered_walk``).
    older : ndarray or None
        65+ residents per point (:func:`older_residents`); None without age data.
    minutes : float
        The plan's walking time, for the wording.
    plan_profile, plan_speed : str, float
        The plan's walking profile and speed.
    older_walk : ndarray of bool or None
        Each point's walk verdict at the elderly profile (home → facility, same minutes).
    elderly_speed : float
    age : AgeData, optional
        Where the age data came from.
    """
    pop = demand["population"].to_numpy(dtype=float)
    radius, walk = demand["covered_radius"].to_numpy(bool), demand["covered_walk"].to_numpy(bool)
    rows = [_row("all", "全部居民", "all residents", pop, radius, walk, plan_profile, plan_speed, walk)]
    if older is None or older_walk is None:
        return rows + [missing_age_note()]
    known = np.isfinite(older)
    o = np.where(known, older, 0.0)
    young = np.where(known, pop - o, 0.0)
    unknown = np.where(known, 0.0, pop)
    m = minutes
    old = _row("65+", "65岁及以上", "aged 65+", o, radius, walk, ELDERLY_GROUP_PROFILE, elderly_speed, older_walk)
    old["headline_zh"] = (f"65岁及以上居民按老年人步速（{elderly_speed:g} km/h）{m:g}分钟步行可达："
                          f"{_pct(old['profile_walk_share'])}")
    old["headline_en"] = (f"65+ residents within {m:g} minutes at elderly speed ({elderly_speed:g} km/h): "
                          f"{_pct(old['profile_walk_share'])}")
    old.update(assumption_zh=ASSUMPTION[0], assumption_en=ASSUMPTION[1],
               **({} if age is None else {"age_column": age.column, "age_kind": age.kind, "age_source": age.source,
                                          "age_file": age.file, "unmatched_table_rows": age.unmatched}))
    old["communities"] = community_rows(demand, o, known, radius, walk, older_walk)
    rows += [old, _row("under 65", "65岁以下", "under 65", young, radius, walk, plan_profile, plan_speed, walk)]
    if unknown.sum() > 0:
        rows.append(_row("age unknown", "年龄未知（社区无年龄数据）", "age unknown (community without age data)",
                         unknown, radius, walk, plan_profile, plan_speed, walk))
    return rows


def community_rows(demand: pd.DataFrame, older: np.ndarray, known: np.ndarray, radius: np.ndarray,
                   walk: np.ndarray, older_walk: np.ndarray) -> list[dict]:
    """The 65+ of each community with age data: head count and shares within the radius, the plan's walk and
    the walk at the elderly profile (what the app's group selector shades the map by).

    Parameters
    ----------
    demand : DataFrame
        ``community`` and ``subdistrict`` of each demand point.
    older : ndarray
        65+ residents per point (0 where unknown).
    known : ndarray of bool
        Points whose community has age data.
    radius, walk, older_walk : ndarray of bool
        Each point's verdicts: radius, the plan's walk, the walk at the elderly profile.
    """
    frame = pd.DataFrame({"name": demand["community"].to_numpy(), "subdistrict": demand["subdistrict"].to_numpy(),
                          "p": older, "r": older * radius, "w": older * walk, "e": older * older_walk})[known]
    sums = frame.groupby(["name", "subdistrict"], dropna=False, sort=False)[["p", "r", "w", "e"]].sum()
    rows = []
    for (name, sub), v in sums.iterrows():
        def share(x: float, p: float = float(v["p"])) -> float | None:
            return round(x / p, 6) if p > 0 else None
        rows.append({"name": name, "subdistrict": None if pd.isna(sub) else sub,
                     "population": round(float(v["p"]), 6), "radius_share": share(float(v["r"])),
                     "walk_share": share(float(v["w"])), "profile_walk_share": share(float(v["e"]))})
    return rows


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"

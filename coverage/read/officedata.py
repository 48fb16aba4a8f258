"""Data as a Chinese planning office holds it: population tables, official codes, offset coordinates.

Three checks that sit between the files a 卫健委 / 自然资源局 office hands over
and the study area:

- :func:`join_population_table` joins a 常住人口 table (CSV/XLSX keyed by
  社区代码 or 社区名称) to the community polygons and says exactly which rows
  did not match, with close names suggested;
- :func:`check_against_reference` compares subdistrict and community layers
  with the official 2023 statistical division codes of Wuhai
  (:mod:`coverage.reference`);
- :func:`check_offset` warns when a facility layer taken as WGS84 lines up
  with the streets only after undoing a GCJ-02/BD-09 offset.

Nothing here changes a layer silently: each function returns a report
dataclass with a bilingual ``message()``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.errors import LayerReadError, MissingColumnError, ValueInputError
from coverage.read.cells import COLUMN_ALIASES, code_text, normalise_columns, population_numbers
from coverage.reference import load_reference_units

__all__ = ["JoinReport", "ReferenceReport", "check_against_reference", "join_population_table", "name_key"]

#: Extra column names of office population tables (lower-cased), on top of :data:`coverage.read.cells.COLUMN_ALIASES`.
TABLE_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("社区代码", "社区编码", "社区区划代码", "村居代码", "居委会代码", "统计用区划代码", "区划代码", "代码",
             "编码", "code", "adcode"),
    "name": ("社区名称", "社区", "社区(村)", "社区（村）", "社区(村)名称", "社区（村）名称", "村居名称", "居委会名称",
             "居委会", "村委会", "单位名称", "名称", "name"),
    "population": ("常住人口", "常住人口数", "常住人口(人)", "常住人口（人）", "人口", "人口数", "总人口", "户籍人口",
                   "population", "pop"),
    "subdistrict": ("街道", "街道名称", "所属街道", "街道办事处", "街道(镇)", "街道（镇）", "乡镇街道", "乡镇", "subdistrict"),
}

#: Committee suffixes dropped before comparing names (longest first):
#: 和平社区居委会 / 和平社区居民委员会 → 和平社区, 新地村委会 / 新地村民委员会 → 新地村.
_SUFFIXES: list[tuple[str, str]] = [
    ("社区居民委员会", "社区"), ("社区居委会", "社区"), ("嘎查村民委员会", "嘎查"), ("嘎查委员会", "嘎查"),
    ("嘎查委会", "嘎查"), ("村民委员会", "村"), ("居民委员会", ""), ("村委会", "村"), ("居委会", ""),
    ("办事处", ""),
]

#: Unit-type endings dropped for the loose second matching pass (和平社区 ~ 和平).
_LOOSE_ENDINGS = re.compile(r"(社区|村|嘎查|街道|镇|苏木)$")

#: Rows of office tables that are totals, not units.
_TOTAL_ROWS = re.compile(r"^(合计|总计|小计|总数|全市|全区|total|sum)$", re.IGNORECASE)


def name_key(name: object) -> str:
    """Normalise a unit name for matching.

    Full-width characters become half-width (NFKC), every kind of space is
    removed, and committee suffixes are dropped: ``和平社区居委会``,
    ``和平社区居民委员会`` and ``"和平 社区"`` all give ``和平社区``;
    ``新地村委会`` gives ``新地村``.

    Parameters
    ----------
    name : object
        A name (NaN/None give ``""``).

    Returns
    -------
    str
    """
    if name is None or (isinstance(name, float) and np.isnan(name)) or name is pd.NA:
        return ""
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"\s+", "", text)
    text = text.replace("（", "(").replace("）", ")")
    for suffix, repl in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)] + repl
            break
    return text


def _loose_key(key: str) -> str:
    stripped = _LOOSE_ENDINGS.sub("", key)
    return stripped or key


def _suggest(key: str, candidates: list[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(key, candidates, n=n, cutoff=0.5)


@dataclass
class JoinReport:
    """What :func:`join_population_table` matched, and what it could not.

    Attributes
    ----------
    by : str
        ``code``, ``name`` or ``code+name`` (codes first, names for the rest).
    table_rows : int
        Unit rows of the table (total rows such as 合计 excluded).
    communities : int
        Features of the community layer.
    matched : int
        Communities that received a population.
    matched_by : dict
        How many matched by ``code``, ``name`` and ``loose_name`` (suffix-free name).
    unmatched_table : list of dict
        Table rows that found no community: ``row`` (spreadsheet row number),
        ``name``, ``code``, ``population``, ``suggestions`` (close community names).
    unmatched_communities : list of str
        Communities that got no population from the table.
    duplicates_table : list of str
        Keys (codes or names) that occur more than once in the table; those rows are not joined.
    duplicates_communities : list of str
        Keys that occur more than once in the community layer; those communities are not joined.
    codes_not_found : list of str
        Codes of the table absent from the layer (those rows were tried by name).
    total_rows : list of str
        Rows recognised as totals (合计/总计) and left out.
    blank_population : list of str
        Table rows with an empty population cell (not joined).
    table_total : float
        Sum of the table's population (unit rows).
    joined_total : float
        Sum of the population that reached the communities.
    population_column : str
        The table column read as population.
    """

    by: str
    table_rows: int
    communities: int
    matched: int
    matched_by: dict[str, int] = field(default_factory=dict)
    unmatched_table: list[dict[str, Any]] = field(default_factory=list)
    unmatched_communities: list[str] = field(default_factory=list)
    duplicates_table: list[str] = field(default_factory=list)
    duplicates_communities: list[str] = field(default_factory=list)
    codes_not_found: list[str] = field(default_factory=list)
    total_rows: list[str] = field(default_factory=list)
    blank_population: list[str] = field(default_factory=list)
    table_total: float = 0.0
    joined_total: float = 0.0
    population_column: str = ""

    @property
    def ok(self) -> bool:
        """True when every table row and every community matched once."""
        return not (self.unmatched_table or self.unmatched_communities or self.duplicates_table
                    or self.duplicates_communities or self.blank_population)

    @property
    def missing_total(self) -> float:
        """Population of the table that did not reach any community."""
        return self.table_total - self.joined_total

    def message(self) -> str:
        """Bilingual (Chinese / English) summary, one finding per line."""
        lines = [(
            f"人口表关联：{self.matched}/{self.communities} 个社区获得人口（按{_BY_ZH.get(self.by, self.by)}）；"
            f"表中合计 {self.table_total:,.0f} 人，关联 {self.joined_total:,.0f} 人，差 {self.missing_total:,.0f} 人。"
            f" / Population join: {self.matched}/{self.communities} communities got a population (by {self.by}); "
            f"table total {self.table_total:,.0f}, joined {self.joined_total:,.0f}, "
            f"difference {self.missing_total:,.0f}."
        )]
        for item in self.unmatched_table:
            sug = "、".join(item["suggestions"])
            hint_zh = f"，是否为：{sug}" if sug else ""
            hint_en = f"; did you mean: {', '.join(item['suggestions'])}" if sug else ""
            label = item["name"] or item["code"]
            lines.append(f"表第 {item['row']} 行“{label}”未匹配到社区{hint_zh}。"
                         f" / Table row {item['row']} '{label}' matched no community{hint_en}.")
        listed = [
            (self.unmatched_communities[:30], "以下社区在人口表中没有对应行", "Communities without a table row"),
            (self.duplicates_table, "人口表中重复（未关联）", "Repeated in the table (not joined)"),
            (self.duplicates_communities, "社区图层中重名（未关联）", "Repeated in the community layer (not joined)"),
            (self.codes_not_found, "以下代码不在社区图层中，已改按名称匹配",
             "Codes not in the community layer, tried by name instead"),
            (self.blank_population, "人口为空的行（未关联）", "Rows with an empty population (not joined)"),
            (self.total_rows, "已忽略合计行", "Total rows ignored"),
        ]
        for items, zh, en in listed:
            if items:
                lines.append(f"{zh}：{'、'.join(items)} / {en}: {', '.join(items)}")
        return "\n".join(lines)


_BY_ZH = {"code": "代码", "name": "名称", "code+name": "代码，其余按名称"}


def _header_row(raw: pd.DataFrame) -> int:
    """Position of the header among the first rows (office sheets often start with a title row)."""
    aliases = {a.lower() for t in ("population", "name", "code") for a in TABLE_ALIASES[t]}
    for i in range(min(10, len(raw))):
        cells = {unicodedata.normalize("NFKC", str(v)).strip().lower() for v in raw.iloc[i].tolist() if pd.notna(v)}
        if cells & aliases:
            return i
    return 0


def _read_office_table(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read CSV (UTF-8 or GBK, any delimiter) or Excel with every cell as text (codes keep their digits).

    Returns the table and the spreadsheet row number (1-based, as shown by
    Excel) of each of its rows.
    """
    if not path.exists():
        raise LayerReadError("population table not found", path=path)
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xls"):
        try:
            raw = pd.read_excel(path, dtype=str, header=None)
        except Exception as exc:
            raise LayerReadError(f"cannot read as an Excel workbook ({exc})", path=path) from exc
        h = _header_row(raw)
        df = raw.iloc[h + 1:].copy()
        df.columns = [str(c).strip() if pd.notna(c) else f"column{j + 1}" for j, c in enumerate(raw.iloc[h])]
        rows = np.asarray(df.index) + 1
        keep = ~df.isna().all(axis=1).to_numpy()
        return df.loc[keep].reset_index(drop=True), rows[keep]
    if ext not in (".csv", ".txt"):
        raise LayerReadError(f"unsupported population table type {ext!r}; use .csv or .xlsx", path=path)
    last: Exception | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            df = pd.read_csv(path, encoding=enc, sep=None, engine="python", dtype=str, skip_blank_lines=False)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except Exception as exc:
            raise LayerReadError(f"cannot read as CSV ({exc})", path=path) from exc
        rows = np.arange(len(df)) + 2
        keep = ~df.isna().all(axis=1).to_numpy()
        return df.loc[keep].reset_index(drop=True), rows[keep]
    raise LayerReadError(f"is neither UTF-8 nor GBK text ({last})", path=path)


def _find_column(df: pd.DataFrame, target: str, given: str | None, path: object) -> str | None:
    if given is not None:
        if given not in df.columns:
            raise MissingColumnError(f"no column {given!r}; columns found: {list(df.columns)}", path=path)
        return given
    low = {unicodedata.normalize("NFKC", str(c)).strip().lower(): c for c in df.columns}
    for alias in TABLE_ALIASES[target] + COLUMN_ALIASES.get(target, ()):
        if alias.lower() in low:
            return low[alias.lower()]
    return None


def _parse_population(values: pd.Series, rows: np.ndarray, path: object) -> pd.Series:
    """Numbers such as '12,345', '１２３４５' or '12345人'; blanks give NaN; anything else raises."""
    num, not_number = population_numbers(values)
    bad = not_number | ~(np.isfinite(num) | np.isnan(num)) | (num < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raw = values.iloc[i]
        what = "is not a number; write digits only (e.g. 12345)" if not_number[i] else "must be zero or positive"
        raise ValueInputError(f"population {raw!r} {what}", path=path, row=int(rows[i]))
    return pd.Series(num, index=values.index)


def _unique_map(keys: list[str | None]) -> tuple[dict[str, int], set[str]]:
    """Key -> position for keys occurring once; the set of repeated keys."""
    counts = pd.Series([k for k in keys if k]).value_counts()
    dup = set(counts[counts > 1].index)
    return {k: i for i, k in enumerate(keys) if k and k not in dup}, dup


def _table_rows(table: pd.DataFrame | str | Path) -> tuple[pd.DataFrame, np.ndarray, Path | None]:
    """Read the office table (or take the DataFrame), without its blank rows.

    Parameters
    ----------
    table : DataFrame or path
        A ``.csv``/``.xlsx`` file or a DataFrame.

    Returns
    -------
    df : DataFrame
        The non-blank rows, renumbered from 0.
    rows : ndarray
        The row number (file) or index label (DataFrame) of each, for messages.
    path : Path or None
        The file, for messages.

    Raises
    ------
    ValueInputError
        The table has no rows.
    """
    path: Path | None = None
    if isinstance(table, (str, Path)):
        path = Path(table)
        df, rows = _read_office_table(path)
    else:
        keep = ~table.isna().all(axis=1).to_numpy()
        rows = np.asarray(table.index)[keep]  # a DataFrame's rows are named by its index
        df = table.loc[keep].reset_index(drop=True)
    if len(df) == 0:
        raise ValueInputError("the population table has no rows", path=path)
    return df, rows, path


def _join_keys(df: pd.DataFrame, names_raw: pd.Series, communities: gpd.GeoDataFrame, t_code: str | None,
               t_sub: str | None, use_code: bool) -> tuple[list, list, list, list]:
    """Normalised codes and name keys of the table rows and of the communities.

    Parameters
    ----------
    df : DataFrame
        The table rows (total rows removed).
    names_raw : Series
        Their names as written.
    communities : GeoDataFrame
        The community layer (with ``name``).
    t_code, t_sub : str or None
        The table's code and subdistrict columns.
    use_code : bool
        Whether codes take part in the join.

    Returns
    -------
    t_codes, t_names, c_codes, c_names : list
        Names repeated across subdistricts (两个“新华社区”) are prefixed with
        their subdistrict when both sides have one.
    """
    t_codes = [code_text(v) for v in df[t_code]] if use_code else [None] * len(df)
    t_names = [name_key(v) for v in names_raw]
    c_codes = [code_text(v) for v in communities["code"]] if "code" in communities.columns else [None] * len(
        communities)
    c_names = [name_key(v) for v in communities["name"]]
    if t_sub is not None and "subdistrict" in communities.columns:
        t_subs = [name_key(v) for v in df[t_sub]]
        c_subs = [name_key(v) for v in communities["subdistrict"]]
        if len(set(t_names)) < len(t_names) or len(set(c_names)) < len(c_names):
            t_names = [f"{s}/{n}" if n else "" for s, n in zip(t_subs, t_names)]
            c_names = [f"{s}/{n}" if n else "" for s, n in zip(c_subs, c_names)]
    return t_codes, t_names, c_codes, c_names


@dataclass
class _Matching:
    """The state of the join: which table row each community took, and what was ambiguous."""

    assigned: np.ndarray  # table row for each community, -1 if none
    how: list[str | None]
    done: np.ndarray  # table rows used
    blank: np.ndarray  # table rows without a population
    dup_table: set[str] = field(default_factory=set)
    dup_comm: set[str] = field(default_factory=set)

    def match(self, t_keys: list[str | None], c_keys: list[str | None], label: str) -> None:
        """Join the rows and communities still open whose keys are unique on both sides.

        Parameters
        ----------
        t_keys, c_keys : list of str or None
            Keys of the table rows and of the communities.
        label : str
            The ``population_match`` value for the rows joined in this pass.
        """
        t_map, t_dup = _unique_map([k if not self.done[i] else None for i, k in enumerate(t_keys)])
        c_map, c_dup = _unique_map([k if self.assigned[j] < 0 else None for j, k in enumerate(c_keys)])
        self.dup_table.update(t_dup)
        self.dup_comm.update(c_dup)
        for key, i in t_map.items():
            j = c_map.get(key)
            if j is None or self.blank[i]:
                continue
            self.assigned[j] = i
            self.how[j] = label
            self.done[i] = True


def _unmatched_rows(m: _Matching, rows: np.ndarray, names_raw: pd.Series, t_codes: list, t_names: list,
                    c_names: list, pop: pd.Series, communities: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """The table rows with a population that matched no community, with close names suggested.

    Parameters
    ----------
    m : _Matching
        The finished join.
    rows : ndarray
        Row numbers of the table rows, for messages.
    names_raw : Series
        Their names as written.
    t_codes, t_names, c_names : list
        Join keys of the table rows and of the communities.
    pop : Series
        Population per table row.
    communities : GeoDataFrame
        The community layer, for the suggested names.

    Returns
    -------
    list of dict
        ``row``, ``name``, ``code``, ``population`` and ``suggestions`` per row.
    """
    comm_keys = sorted({k for k in c_names if k})
    unmatched_table = []
    for i in np.flatnonzero(~m.done & ~m.blank):
        key = t_names[i]
        unmatched_table.append({
            "row": int(rows[i]),
            "name": None if names_raw.iloc[i] is None or pd.isna(names_raw.iloc[i]) else str(names_raw.iloc[i]),
            "code": t_codes[i],
            "population": float(pop.iloc[i]),
            "suggestions": [str(communities["name"].iloc[c_names.index(s)]) for s in _suggest(key, comm_keys)]
            if key else [],
        })
    return unmatched_table


def _drop_total_rows(df: pd.DataFrame, rows: np.ndarray, t_name: str | None
                     ) -> tuple[pd.DataFrame, np.ndarray, pd.Series, list[str]]:
    """Remove total rows (合计): they are not units.

    Parameters
    ----------
    df : DataFrame
        The table rows.
    rows : ndarray
        Their row numbers, for messages.
    t_name : str or None
        The table's name column.

    Returns
    -------
    df, rows, names_raw, total_rows
        The remaining rows, their numbers and names as written, and ``"row:name"`` per total row removed.
    """
    names_raw = df[t_name] if t_name else pd.Series([None] * len(df))
    is_total = names_raw.map(lambda v: bool(_TOTAL_ROWS.match(name_key(v)))).to_numpy()
    total_rows = [f"{rows[i]}:{names_raw.iloc[i]}" for i in np.flatnonzero(is_total)]
    df, rows, names_raw = df.loc[~is_total].reset_index(drop=True), rows[~is_total], names_raw[~is_total].reset_index(
        drop=True)
    return df, rows, names_raw, total_rows


def _joined_layer(communities: gpd.GeoDataFrame, m: _Matching, pop: pd.Series) -> gpd.GeoDataFrame:
    """A copy of the communities with ``population`` set where matched and ``population_match``.

    Parameters
    ----------
    communities : GeoDataFrame
        The community layer; unmatched ones keep their previous population (NaN if none).
    m : _Matching
        The finished join.
    pop : Series
        Population per table row.

    Returns
    -------
    GeoDataFrame
    """
    out = communities.copy()
    if "population" not in out.columns:
        out["population"] = np.nan
    values = pd.to_numeric(out["population"], errors="coerce").to_numpy(dtype=float, copy=True)
    hit = m.assigned >= 0
    values[hit] = pop.to_numpy()[m.assigned[hit]]
    out["population"] = values
    out["population_match"] = m.how
    return out


def join_population_table(
    communities: gpd.GeoDataFrame,
    table: pd.DataFrame | str | Path,
    by: Literal["auto", "code", "name"] = "auto",
    *,
    population_column: str | None = None,
    name_column: str | None = None,
    code_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, JoinReport]:
    """Join an office population table (常住人口) to the community polygons.

    Parameters
    ----------
    communities : GeoDataFrame
        Community layer with ``name`` (名称 etc. are normalised) and
        optionally ``code`` (12-digit 统计用区划代码) and ``subdistrict``.
    table : DataFrame or path
        A ``.csv`` (UTF-8 or GBK) or ``.xlsx`` file, or a DataFrame, with a
        population column (常住人口, 人口 ...) and a name (社区名称, 社区 ...)
        and/or code (社区代码, 统计用区划代码 ...) column.
    by : {"auto", "code", "name"}
        ``code``: 12-digit codes only. ``name``: names only (committee
        suffixes such as 居委会/村委会/社区居民委员会 and full-width spaces
        ignored; a second pass also ignores 社区/村 endings when that is
        unambiguous). ``auto`` (default): codes where both sides have them,
        names for the remaining rows.
    population_column, name_column, code_column : str, optional
        Table columns to use when the headers are not recognised.

    Returns
    -------
    communities : GeoDataFrame
        A copy with ``population`` set from the table for matched communities
        (unmatched ones keep their previous value, NaN if none) and
        ``population_match`` (``code``/``name``/``loose_name`` or None).
    report : JoinReport
        Matches, rows that did not match with close names suggested,
        duplicates and the table total versus the joined total.

    Raises
    ------
    MissingColumnError
        No population column, or no usable name/code column for ``by``.
    ValueInputError
        A population cell that is not a non-negative number (row named), or
        ``by`` not one of the three values.
    """
    if by not in ("auto", "code", "name"):
        raise ValueInputError(f"by must be 'auto', 'code' or 'name', got {by!r}")
    df, rows, path = _table_rows(table)
    pop_col = _find_column(df, "population", population_column, path)
    if pop_col is None:
        raise MissingColumnError(f"no population column (常住人口/人口/population); columns found: {list(df.columns)}; "
                                 "rename it or pass population_column=", path=path)
    t_name = _find_column(df, "name", name_column, path)
    t_code = _find_column(df, "code", code_column, path)
    t_sub = _find_column(df, "subdistrict", None, path)
    if "name" not in communities.columns:
        communities = normalise_columns(communities)
    if "name" not in communities.columns:
        raise MissingColumnError(f"the community layer needs a name column; columns: {list(communities.columns)}")
    use_code = by in ("auto", "code") and t_code is not None and "code" in communities.columns
    use_name = by in ("auto", "name") and t_name is not None
    if by == "code" and not use_code:
        raise MissingColumnError("by='code' needs a code column in both the table (社区代码/统计用区划代码) and the "
                                 f"community layer; table columns: {list(df.columns)}", path=path)
    if not (use_code or use_name):
        raise MissingColumnError(f"no community name (社区名称) or code (社区代码) column in the table; columns found: "
                                 f"{list(df.columns)}; pass name_column= or code_column=", path=path)

    df, rows, names_raw, total_rows = _drop_total_rows(df, rows, t_name)
    pop = _parse_population(df[pop_col], rows, path)
    t_codes, t_names, c_codes, c_names = _join_keys(df, names_raw, communities, t_code, t_sub, use_code)

    m = _Matching(assigned=np.full(len(communities), -1, dtype=np.int64), how=[None] * len(communities),
                  done=np.zeros(len(df), dtype=bool), blank=np.isnan(pop.to_numpy()))
    codes_not_found: list[str] = []
    if use_code:
        valid = [k if k and re.fullmatch(r"\d{12}", k) else None for k in t_codes]
        m.match(valid, c_codes, "code")
        layer_codes = {c for c in c_codes if c}
        codes_not_found = [k for i, k in enumerate(valid) if k and not m.done[i] and k not in layer_codes]
    if use_name:
        m.match(t_names, c_names, "name")
        # loose pass: 和平社区 ~ 和平, only where unambiguous on both sides
        m.match([_loose_key(k) if k else None for k in t_names], [_loose_key(k) if k else None for k in c_names],
                "loose_name")
    # a name that was repeated in the first pass but unique in the loose pass is still ambiguous: keep it reported
    out = _joined_layer(communities, m, pop)
    hit = m.assigned >= 0

    matched_by = pd.Series([h for h in m.how if h]).value_counts().to_dict()
    report = JoinReport(
        by="code" if by == "code" else ("name" if not use_code else ("code+name" if use_name else "code")),
        table_rows=len(df),
        communities=len(communities),
        matched=int(hit.sum()),
        matched_by={str(k): int(v) for k, v in matched_by.items()},
        unmatched_table=_unmatched_rows(m, rows, names_raw, t_codes, t_names, c_names, pop, communities),
        unmatched_communities=[str(communities["name"].iloc[j]) for j in np.flatnonzero(~hit)],
        duplicates_table=sorted(m.dup_table),
        duplicates_communities=sorted(m.dup_comm),
        codes_not_found=codes_not_found,
        total_rows=total_rows,
        blank_population=[f"{rows[i]}:{names_raw.iloc[i]}" for i in np.flatnonzero(m.blank)],
        table_total=float(np.nansum(pop.to_numpy())),
        joined_total=float(np.nansum(pop.to_numpy()[m.assigned[hit]])),
        population_column=str(pop_col),
    )
    return out, report


@dataclass
class ReferenceReport:
    """Comparison of the boundary layers with the official list of units.

    Each list holds dicts. ``missing``: official units absent from the layer
    (``level``, ``code``, ``name``). ``unknown``: layer units whose code (or,
    without a code, whose name) is not official, with ``suggestions``
    (close official names and their codes). ``misnamed``: the code is
    official but the name differs (``code``, ``name``, ``official_name``).
    ``code_suggested``: layer units without a code whose name identifies an
    official unit (``name``, ``code``).

    Attributes
    ----------
    district_code : str or None
        The district compared with (None: all of Wuhai).
    missing, unknown, misnamed, code_suggested : list of dict
    checked : dict
        Number of layer features checked per level.
    """

    district_code: str | None
    missing: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    misnamed: list[dict[str, Any]] = field(default_factory=list)
    code_suggested: list[dict[str, Any]] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every official unit is present, correctly named and coded."""
        return not (self.missing or self.unknown or self.misnamed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"district_code": self.district_code, "ok": self.ok, "checked": dict(self.checked),
                "missing": self.missing, "unknown": self.unknown, "misnamed": self.misnamed,
                "code_suggested": self.code_suggested}

    def message(self) -> str:
        """Bilingual (Chinese / English) summary, one finding per line."""
        lvl = {"subdistrict": ("街道/镇", "subdistrict"), "community": ("社区/村", "community")}
        scope = self.district_code or "乌海市 Wuhai"
        if self.ok:
            head = (f"与2023年统计用区划代码一致（{scope}）。 / Consistent with the 2023 official division codes "
                    f"({scope}).")
        else:
            head = (f"与2023年统计用区划代码比对（{scope}）：缺少 {len(self.missing)}，未知 {len(self.unknown)}，"
                    f"名称不符 {len(self.misnamed)}。 / Compared with the 2023 official division codes ({scope}): "
                    f"{len(self.missing)} missing, {len(self.unknown)} unknown, {len(self.misnamed)} misnamed.")
        lines = [head]
        for m in self.missing:
            zh, en = lvl[m["level"]]
            lines.append(f"缺少{zh}：{m['name']}（{m['code']}） / Missing {en}: {m['name']} ({m['code']})")
        for u in self.unknown:
            zh, en = lvl[u["level"]]
            sug = "; ".join(f"{s['name']} {s['code']}" for s in u["suggestions"])
            lines.append(f"未知{zh}：{u['name']}（{u['code'] or '无代码'}）" + (f"，是否为：{sug}" if sug else "")
                         + f" / Unknown {en}: {u['name']} ({u['code'] or 'no code'})"
                         + (f"; did you mean: {sug}" if sug else ""))
        for m in self.misnamed:
            zh, en = lvl[m["level"]]
            lines.append(f"{zh}代码 {m['code']} 的名称应为“{m['official_name']}”，图层中为“{m['name']}” / "
                         f"{en} code {m['code']} is officially '{m['official_name']}', the layer says '{m['name']}'")
        for c in self.code_suggested:
            zh, en = lvl[c["level"]]
            lines.append(f"{zh}“{c['name']}”缺少代码，应为 {c['code']} / {en} '{c['name']}' has no code; "
                         f"the official code is {c['code']}")
        return "\n".join(lines)


def _layer_units(layer: gpd.GeoDataFrame | pd.DataFrame | None) -> list[tuple[str, str | None]]:
    if layer is None or len(layer) == 0:
        return []
    if "name" not in layer.columns:
        layer = normalise_columns(layer)
    if "name" not in layer.columns:
        raise MissingColumnError(f"a layer compared with the official codes needs a name column; columns: "
                                 f"{list(layer.columns)}")
    codes = [code_text(v) for v in layer["code"].tolist()] if "code" in layer.columns else [None] * len(layer)
    return [(str(n), c) for n, c in zip(layer["name"].tolist(), codes)]


def _compare_level(units: list[tuple[str, str | None]], ref: pd.DataFrame, level: str,
                   report: ReferenceReport) -> None:
    ref = ref[ref["level"] == level]
    by_code = {str(r.code): r for r in ref.itertuples()}
    by_key: dict[str, Any] = {}
    for r in ref.itertuples():
        for n in (r.name, getattr(r, "name_short", r.name)):
            by_key.setdefault(name_key(n), r)
    keys = sorted(by_key)
    # suffix-free names (和平 for 和平社区), only where they identify one official unit
    codes_by_loose: dict[str, set[str]] = {}
    for k in keys:
        codes_by_loose.setdefault(_loose_key(k), set()).add(str(by_key[k].code))
    loose = {_loose_key(k): by_key[k] for k in keys if len(codes_by_loose[_loose_key(k)]) == 1}
    seen: set[str] = set()
    for name, code in units:
        key = name_key(name)
        official = by_code.get(code) if code else None
        if official is not None:
            seen.add(str(official.code))
            if key not in (name_key(official.name), name_key(getattr(official, "name_short", official.name))):
                report.misnamed.append({"level": level, "code": code, "name": name, "official_name": official.name})
            continue
        by_name = (by_key.get(key) or loose.get(_loose_key(key))) if key else None
        if code is None and by_name is not None:
            seen.add(str(by_name.code))
            report.code_suggested.append({"level": level, "name": name, "code": str(by_name.code)})
            continue
        suggestions = [by_name] if by_name is not None else [by_key[k] for k in _suggest(key, keys)]
        report.unknown.append({"level": level, "code": code, "name": name,
                               "suggestions": [{"name": s.name, "code": str(s.code)} for s in suggestions]})
        if by_name is not None:
            seen.add(str(by_name.code))  # present under a wrong code: reported as unknown, not also as missing
    for r in ref.itertuples():
        if str(r.code) not in seen:
            report.missing.append({"level": level, "code": str(r.code), "name": r.name})


def check_against_reference(
    subdistricts: gpd.GeoDataFrame | None,
    communities: gpd.GeoDataFrame | None,
    district_code: str | None = None,
    *,
    reference: pd.DataFrame | None = None,
) -> ReferenceReport:
    """Compare subdistrict and community layers with the official 2023 units of Wuhai.

    Parameters
    ----------
    subdistricts, communities : GeoDataFrame or None
        Layers with ``name`` and optionally ``code`` (9-digit for
        subdistricts, 12-digit for communities). None skips that level.
    district_code : str, optional
        6-digit district code (海勃湾区 150302, 海南区 150303, 乌达区
        150304) to compare with; by default the district(s) named by the
        layers' codes, else the whole city.
    reference : DataFrame, optional
        The official list (columns ``level``, ``code``, ``name``,
        ``district_code``, ``name_short``...); default
        :func:`coverage.reference.load_reference_units`.

    Returns
    -------
    ReferenceReport
        Missing official units, unknown codes/names (with close official
        names), misnamed units (code official, name different) and codes to
        add to uncoded units.

    Raises
    ------
    ValueInputError
        ``district_code`` is not in the reference.
    """
    if reference is None:
        reference = load_reference_units()
    ref = reference.astype({"code": str, "district_code": str}).copy()
    if "name_short" not in ref.columns:
        ref["name_short"] = ref["name"]
    sub_units = _layer_units(subdistricts)
    com_units = _layer_units(communities)
    if district_code is None:
        prefixes = {c[:6] for _, c in sub_units + com_units if c and len(c) >= 6}
        prefixes &= set(ref["district_code"])
        if prefixes:
            ref = ref[ref["district_code"].isin(prefixes)]
            district_code = ",".join(sorted(prefixes))
    else:
        district_code = str(district_code)
        if district_code not in set(ref["district_code"]):
            raise ValueInputError(f"district code {district_code!r} is not in the reference list; known: "
                                  f"{sorted(set(zip(ref['district_code'], ref.get('district_name', ref['district_code']))))}")
        ref = ref[ref["district_code"] == district_code]
    report = ReferenceReport(district_code=district_code)
    if subdistricts is not None:
        _compare_level(sub_units, ref, "subdistrict", report)
        report.checked["subdistrict"] = len(sub_units)
    if communities is not None:
        _compare_level(com_units, ref, "community", report)
        report.checked["community"] = len(com_units)
    return report

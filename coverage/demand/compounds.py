"""Population model ``compounds``: 小区 (residential compounds) with households × the 7th-census household size.

Residents are placed at the compounds' entrances where given, else inside them; community totals are preserved.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.demand.base import (
    Demand,
    _allocate,
    _check_options,
    _column,
    _empty_points,
    _fallback_note,
    _finish,
    _numeric,
    _option_layer,
    _scale_factors,
    _to_metric,
)
from coverage.errors import MissingColumnError, ValueInputError
from coverage.geo.areas import first_containing
from coverage.skipped import Skipped

__all__ = ["HOUSEHOLD_SIZE", "NATIONAL_HOUSEHOLD_SIZE", "demand_from_compounds", "household_size_for"]

#: Average family-household size (persons per household) by district, 7th national
#: census (第七次全国人口普查, 2020).
HOUSEHOLD_SIZE: dict[str, float] = {"海勃湾区": 2.34, "海南区": 2.14, "乌达区": 2.23}

#: Other spellings of the districts (pinyin, 6-digit division codes).
_DISTRICT_ALIASES: dict[str, tuple[str, ...]] = {
    "海勃湾区": ("海勃湾", "haibowan", "haibowan district", "150302"),
    "海南区": ("海南", "hainan", "hainan district", "150303"),
    "乌达区": ("乌达", "wuda", "wuda district", "150304"),
}

#: National average family-household size, 7th census (2020).
NATIONAL_HOUSEHOLD_SIZE = 2.62

_HOUSEHOLD_COLUMNS = ("households", "household", "户数", "住户数", "总户数", "居民户数", "hh")

_DISTRICT_COLUMNS = ("district", "区", "所属区", "区县", "所属区县", "行政区", "county")

_LINK_COLUMNS = ("compound", "小区", "小区名称", "所属小区", "compound_name")


def household_size_for(district: object) -> float | None:
    """Persons per household for a Wuhai district name, pinyin or code (None if unknown).

    Examples
    --------
    >>> household_size_for("乌海市海勃湾区"), household_size_for("150304"), household_size_for("Beijing")
    (2.34, 2.23, None)
    """
    if district is None or (isinstance(district, float) and np.isnan(district)):
        return None
    text = str(district).strip().lower()
    text = text.removesuffix(".0")  # codes read from Excel as floats
    if not text:
        return None
    for name, size in HOUSEHOLD_SIZE.items():
        aliases = (name,) + _DISTRICT_ALIASES[name]
        code = aliases[-1]
        if text in aliases or any(a in text for a in aliases if not a.isascii()) or \
                (text.isdigit() and text.startswith(code)):
            return size
    return None


def _parse_entrance_text(value: object, row: int, path: str | None) -> list[tuple[float, float]]:
    """``"lon,lat; lon,lat"`` or WKT (POINT/MULTIPOINT), WGS84 degrees."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    text = str(value).strip()
    if not text:
        return []
    try:
        if text[:1].isalpha():
            g = shapely.from_wkt(text)
            xy = [tuple(c) for c in shapely.get_coordinates(g)]
        else:
            xy = []
            for part in re.split(r"[;；|]", text):
                if part.strip():
                    a, b = re.split(r"[,，\s]+", part.strip())[:2]
                    xy.append((float(a), float(b)))
    except Exception as exc:
        raise ValueInputError(f"cannot read entrances {text!r} ({exc}); write 'lon,lat; lon,lat' in WGS84 degrees "
                              "or WKT MULTIPOINT", path=path, row=row) from exc
    for lon, lat in xy:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueInputError(f"entrance ({lon}, {lat}) is not lon/lat in degrees (WGS84)", path=path, row=row)
    return xy


def _entrances_by_compound(study, comp: gpd.GeoDataFrame, entrances: Any, max_m: float, path: str | None
                           ) -> tuple[dict[int, list[shapely.Point]], list[Skipped], str]:
    """Entrance points of each compound (position → points)."""
    skipped: list[Skipped] = []
    result: dict[int, list] = {}
    if entrances is None:
        col = _column(comp, ("entrances", "entrance", "出入口", "小区出入口", "门"))
        if col is None:
            return result, skipped, "none"
        tr = pyproj.Transformer.from_crs(4326, study.crs, always_xy=True)
        for i, v in enumerate(comp[col].tolist()):
            xy = _parse_entrance_text(v, i, path)
            if xy:
                x, y = tr.transform([p[0] for p in xy], [p[1] for p in xy])
                result[i] = list(shapely.points(np.asarray(x), np.asarray(y)))
        return result, skipped, f"column {col!r}"
    ent, sk, epath = _to_metric(entrances, study, "entrances", "point")
    skipped += sk
    geoms = ent.geometry.values
    link = _column(ent, _LINK_COLUMNS)
    tree = shapely.STRtree(comp.geometry.values)
    if link is not None and "name" in comp.columns:
        by_name: dict[str, list[int]] = {}
        for i, nm in enumerate(comp["name"].astype(str)):
            by_name.setdefault(nm.strip(), []).append(i)
        for r, (nm, g) in enumerate(zip(ent[link].tolist(), geoms)):
            key = "" if nm is None or (isinstance(nm, float) and np.isnan(nm)) else str(nm).strip()
            if key not in by_name:
                close = difflib.get_close_matches(key, list(by_name), n=3, cutoff=0.5)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise ValueInputError(f"entrance names compound {key!r}, which is not in the compounds layer.{hint}",
                                      path=epath, row=r)
            cands = by_name[key]
            best = min(cands, key=lambda c: shapely.distance(comp.geometry.values[c], g))
            result.setdefault(best, []).append(g)
        return result, skipped, f"entrances layer linked by {link!r}"
    idx = tree.query_nearest(geoms, max_distance=max_m, all_matches=False)
    got = np.zeros(len(geoms), dtype=bool)
    for e, c in zip(idx[0], idx[1]):
        if not got[e]:
            got[e] = True
            result.setdefault(int(c), []).append(geoms[e])
    if (~got).any():
        skipped.append(Skipped("entrances", "no_compound_nearby", int((~got).sum()), action="dropped",
                               items=list(np.flatnonzero(~got)),
                               message=f"entrance farther than {max_m:g} m from every compound: not used"))
    return result, skipped, f"entrances layer, nearest compound within {max_m:g} m"


def demand_from_compounds(study, *, compounds: gpd.GeoDataFrame | str | Path | None = None,
                          household_size: float | None = None, entrances: gpd.GeoDataFrame | str | Path | None = None,
                          entrance_max_m: float = 30.0, **other: Any) -> Demand:
    """Residential compounds (小区) as demand, rescaled to community totals.

    Parameters
    ----------
    study : StudyArea
    compounds : GeoDataFrame or path, optional
        Default ``study.compounds``. Columns: ``population`` (residents, 人口)
        and/or households (``households``/户数); ``name``; optional ``district``
        (区) and ``entrances``.
    household_size : float, optional
        Persons per household for every compound with households only.
        Default by district from the 7th census (:data:`HOUSEHOLD_SIZE`: 海勃湾区
        2.34, 海南区 2.14, 乌达区 2.23), the district read from a ``district``
        column, else ``study.meta["district"]``; else the national
        :data:`NATIONAL_HOUSEHOLD_SIZE` (2.62).
    entrances : GeoDataFrame or path, optional
        Entrance points (小区出入口). Linked by a ``compound`` (小区) column
        naming the compound, else to the nearest compound within
        ``entrance_max_m``. Without this layer, an ``entrances`` column of the
        compounds (``"lon,lat; lon,lat"`` or WKT, WGS84) is used.
    entrance_max_m : float
        Largest distance from an unlinked entrance to its compound.
    **other
        Options of the other models (ignored).

    Returns
    -------
    Demand
        Each compound's residents split equally over its entrances, or one point
        at its representative point. A compound belongs to the community
        containing its representative point. Where the community has a total,
        its compounds are scaled so they sum to it (factors in
        ``details["scale_factors"]``).
    """
    _check_options(other)
    comp, skipped, path = _option_layer(study, compounds, "compounds", "polygon")
    if comp is None:
        raise ValueInputError("population model 'compounds' needs a compounds layer (compounds.geojson: 小区 "
                              "polygons with population or households/户数)")
    comp = comp.reset_index(drop=True)
    n = len(comp)
    residents, from_households, sizes, size_src = _compound_residents(study, comp, household_size, path)
    missing = np.isnan(residents)
    names = comp["name"].astype(object).to_numpy() if "name" in comp.columns else np.arange(n).astype(object)
    if missing.any():
        skipped.append(Skipped("compounds", "population_missing", int(missing.sum()), action="dropped",
                               items=names[missing].tolist(),
                               message="compound with neither population nor households: left out"))
    ent, sk, ent_src = _entrances_by_compound(study, comp, entrances, entrance_max_m, path)
    skipped += sk
    pts = _compound_points(study, comp, residents, names, ent)
    out, sk, rows = _allocate(study, pts, layer="compounds", reason_zh="小区")
    skipped += sk
    used = ~missing & from_households
    sizes_used: dict[str, float] = {}
    for src, s in zip(size_src[used], sizes[used]):
        sizes_used[str(src)] = float(s)
    zh_end, en_end = _fallback_note(rows, "无小区", "a compound")
    zh = "人口按小区计算（常住人口，或户数×户均人口），需求点位于小区出入口（无出入口时位于小区内部），并按社区人口总数等比例调整" + zh_end
    en = ("Population from residential compounds (residents, or households × household size) placed at their "
          "entrances (else inside the compound), scaled to each community's total" + en_end)
    details = {
        "compounds": {"total": int(n), "used": int((~missing).sum()), "from_households": int(used.sum()),
                      "with_entrances": int(sum(1 for i in ent if not missing[i])),
                      "residents": float(np.nansum(residents))},
        "household_size": sizes_used,
        "entrances": ent_src,
        "scale_factors": _scale_factors(study, rows, "compounds_population"),
    }
    return _finish(study, out, "compounds", "compounds layer", zh, en, skipped, details, rows)


def _compound_residents(study, comp: gpd.GeoDataFrame, household_size: float | None, path: str | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Residents of each compound: its population, else households × household size (NaN: neither).

    Returns residents, which came from households, and the household size
    and its source for every compound.
    """
    pcol = "population" if "population" in comp.columns else None
    hcol = _column(comp, _HOUSEHOLD_COLUMNS)
    if pcol is None and hcol is None:
        raise MissingColumnError("the compounds layer needs a 'population' (人口) or 'households' (户数) column; "
                                 f"columns found: {[c for c in comp.columns if c != 'geometry']}", path=path)
    n = len(comp)
    residents = _numeric(comp, pcol, "compound", path, "population") if pcol else np.full(n, np.nan)
    households = _numeric(comp, hcol, "compound", path, "households") if hcol else np.full(n, np.nan)
    sizes, size_src = _household_sizes(study, comp, household_size)
    from_households = np.isnan(residents) & ~np.isnan(households)
    residents = np.where(from_households, households * sizes, residents)
    return residents, from_households, sizes, size_src


def _household_sizes(study, comp: gpd.GeoDataFrame, household_size: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Persons per household for each compound and where it came from (given, district, meta, national)."""
    n = len(comp)
    if household_size is not None:
        if not (np.isfinite(household_size) and 0 < household_size <= 20):
            raise ValueInputError(f"household_size must be a number of persons between 0 and 20, got "
                                  f"{household_size!r}")
        return np.full(n, float(household_size)), np.full(n, "given", dtype=object)
    dcol = _column(comp, _DISTRICT_COLUMNS)
    meta_d = study.meta.get("district")
    meta_size = household_size_for(meta_d)
    sizes = np.full(n, np.nan)
    size_src = np.empty(n, dtype=object)
    for i in range(n):
        s = household_size_for(comp[dcol].iloc[i]) if dcol else None
        if s is not None:
            sizes[i], size_src[i] = s, f"district {comp[dcol].iloc[i]} (7th census)"
        elif meta_size is not None:
            sizes[i], size_src[i] = meta_size, f"meta district {meta_d} (7th census)"
        else:
            sizes[i], size_src[i] = NATIONAL_HOUSEHOLD_SIZE, "national average (7th census)"
    return sizes, size_src


def _compound_points(study, comp: gpd.GeoDataFrame, residents: np.ndarray, names: np.ndarray,
                     ent: dict[int, list[shapely.Point]]) -> gpd.GeoDataFrame:
    """Weighted points: each compound's residents split equally over its entrances, else at its interior point.

    A compound belongs to the community containing its representative
    point, even when its entrances lie outside it.
    """
    rep = shapely.point_on_surface(comp.geometry.values)
    cidx_c = first_containing(rep, study.communities.geometry.values)
    geoms, weight, cidx, origin, cname = [], [], [], [], []
    for i in np.flatnonzero(~np.isnan(residents)):
        pts_i = ent.get(int(i)) or [rep[i]]
        k = len(pts_i)
        geoms += pts_i
        weight += [residents[i] / k] * k
        cidx += [cidx_c[i]] * k
        origin += ["entrance" if i in ent else "compound"] * k
        cname += [names[i]] * k
    pts = gpd.GeoDataFrame({"weight": np.asarray(weight, dtype=float), "_cidx": np.asarray(cidx, dtype=np.int64),
                            "origin": origin, "label": [str(c) for c in cname]}, geometry=list(geoms), crs=study.crs)
    if not len(pts):
        pts = _empty_points(study.crs).assign(weight=pd.Series(dtype=float)).drop(columns=["population"])
    return pts

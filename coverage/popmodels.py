"""Where people actually live: population models richer than street nodes.

Planners rarely hold population points. They hold community totals (社区人口),
residential compounds (小区) with household counts (户数), building footprints,
or a population raster (e.g. WorldPop 100 m). Each model here turns one of
these into :class:`coverage.population.Demand` points in the study's metric CRS:

``compounds``
    小区 polygons with residents, or households × household size
    (:data:`HOUSEHOLD_SIZE`); points at the compound's entrances (split
    equally) or at its representative point.
``buildings``
    Each community's total spread over its residential buildings in
    proportion to floor area (footprint × levels, :data:`DEFAULT_LEVELS`
    where levels are missing); one point per building.
``raster``
    Cells of a population GeoTIFF whose centre lies in the study area, one
    point per cell.
``street_nodes``
    Each community's total spread evenly over its street nodes: the crudest
    model (people end up on arterials and park edges).

Invariant of every model: where a community's population is given, the
demand in that community sums to it exactly (the model only decides *where*
inside the community people live). A community with a total but nothing to
put it on (no residential building, compound or raster cell) falls back to
its street nodes and is listed in ``skipped``. A community without a total
(NaN) takes what its buildings/compounds/raster say. ``details`` reports
totals in and out for every community.

:func:`coverage.population.build_demand` dispatches here through
:data:`MODELS` and :func:`auto_model`.
"""

from __future__ import annotations

import difflib
import re
import defusedxml.ElementTree as ET  # refuses DTDs and entities even if the pre-check is bypassed
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .errors import CRSError, LayerReadError, MissingColumnError, ValueInputError
from .io import Skipped, _match_column
from .population import Demand, demand_from_street_nodes, first_containing

__all__ = [
    "DEFAULT_FLOOR_AREA_PER_PERSON",
    "DEFAULT_LEVELS",
    "HOUSEHOLD_SIZE",
    "MODELS",
    "NATIONAL_HOUSEHOLD_SIZE",
    "RESIDENTIAL_KINDS",
    "auto_model",
    "building_levels",
    "buildings_from_osm",
    "classify_buildings",
    "demand_from_buildings",
    "demand_from_compounds",
    "demand_from_raster",
    "demand_from_street_nodes_model",
    "household_size_for",
    "landuse_from_osm",
]

#: ``building=*`` values that house people. ``yes`` is residential only inside a
#: residential area (see :func:`classify_buildings`).
RESIDENTIAL_KINDS = ("residential", "apartments", "house", "dormitory", "detached", "terrace",
                     "semidetached_house")

#: Levels assumed where a residential building has no (readable) level count.
#: 6 for apartments/residential: the 5–7 storey walk-up (多层住宅) that makes up
#: most of Wuhai's housing stock; 4 for dormitories; 2 for houses; ``yes``
#: buildings counted as residential are treated like ``residential``.
DEFAULT_LEVELS: dict[str, float] = {"apartments": 6, "residential": 6, "yes": 6, "dormitory": 4, "house": 2,
                                    "detached": 2, "terrace": 2, "semidetached_house": 2}

#: Chinese building-use values → OSM ``building`` values.
BUILDING_ALIASES: dict[str, str] = {
    "住宅": "residential", "居住": "residential", "住宅楼": "apartments", "居民楼": "apartments",
    "公寓": "apartments", "商品房": "apartments", "宿舍": "dormitory", "别墅": "house", "独栋": "detached",
    "联排": "terrace", "平房": "house", "自建房": "house", "民房": "house",
}

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

#: Gross floor area per resident (m²) used only to estimate communities without a
#: given population when no community with a total can calibrate it. 7th census:
#: urban family households had 36.52 m² of housing floor area per person.
DEFAULT_FLOOR_AREA_PER_PERSON = 36.5

#: More levels than this is a typo (Inner Mongolia's tallest tower has < 80).
MAX_LEVELS = 120

_KIND_COLUMNS = ("building", "kind", "用途", "建筑用途", "建筑类型", "building_type")
_LEVEL_COLUMNS = ("building:levels", "levels", "floors", "层数", "楼层数", "地上层数", "building_levels")
_HOUSEHOLD_COLUMNS = ("households", "household", "户数", "住户数", "总户数", "居民户数", "hh")
_DISTRICT_COLUMNS = ("district", "区", "所属区", "区县", "所属区县", "行政区", "county")
_LINK_COLUMNS = ("compound", "小区", "小区名称", "所属小区", "compound_name")
_RESIDENTIAL_LANDUSE = ("residential", "住宅用地", "居住用地", "住宅", "居住")

#: Every option a model here accepts: the command line passes the same options
#: to whichever model runs, so a model ignores the others' but refuses typos.
KNOWN_OPTIONS = frozenset({"buildings", "landuse", "default_levels", "floor_area_per_person", "compounds",
                           "household_size", "entrances", "entrance_max_m", "raster", "rescale", "band"})


# --------------------------------------------------------------------------- helpers


def _check_options(other: dict[str, Any]) -> None:
    unknown = sorted(set(other) - KNOWN_OPTIONS)
    if unknown:
        raise ValueInputError(f"unknown population model option(s) {unknown}; known: {sorted(KNOWN_OPTIONS)}")


def _column(df: pd.DataFrame, aliases: tuple[str, ...]) -> str | None:
    """First column whose (lower-cased, stripped) name is one of ``aliases``."""
    return _match_column([c for c in df.columns if c != "geometry"], aliases)


def _numeric(df: pd.DataFrame, col: str, layer: str, path: str | None, what: str) -> np.ndarray:
    """A non-negative numeric column (NaN where blank); text or negatives raise naming the row."""
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna() | (raw.astype(str).str.strip().isin(["", "nan", "None", "<NA>"]))
    bad = num.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueInputError(f"{layer} {what} {raw.iloc[row]!r} is not a number; write digits only",
                              path=path, row=row)
    if (num < 0).any():
        row = int(np.flatnonzero((num < 0).to_numpy())[0])
        raise ValueInputError(f"{layer} {what} {num.iloc[row]} is negative; correct it", path=path, row=row)
    return num.to_numpy(dtype=float)


def _to_metric(layer: gpd.GeoDataFrame | str | Path, study, kind: str, expect: str
               ) -> tuple[gpd.GeoDataFrame, list[Skipped], str | None]:
    """An option layer (GeoDataFrame or file) validated and in the study's CRS."""
    from .io import read_layer, validate_geometries

    path = None
    if isinstance(layer, (str, Path)):
        path = str(layer)
        layer = read_layer(layer, kind=kind)
    if layer.crs is None:
        raise CRSError(f"the {kind} layer has no CRS; set one (EPSG:4326 for lon/lat)", path=path)
    gdf, skipped = validate_geometries(layer, kind, expect, path=path)
    return gdf.to_crs(study.crs), skipped, path


def _key(name: object, subdistrict: object) -> tuple:
    """(community, subdistrict) as a dict key; a missing subdistrict (None/NaN) is one key."""
    return (name, None if pd.isna(subdistrict) else subdistrict)


def _empty_points(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"population": pd.Series(dtype=float), "community": pd.Series(dtype=object),
                             "subdistrict": pd.Series(dtype=object), "origin": pd.Series(dtype=object),
                             "_cidx": pd.Series(dtype=np.int64)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _allocate(study, pts: gpd.GeoDataFrame, *, layer: str, reason_zh: str, to_persons: float = 1.0,
              rescale: bool = True) -> tuple[gpd.GeoDataFrame, list[Skipped], list[dict]]:
    """Turn weighted points into people, preserving every given community total.

    Parameters
    ----------
    study : StudyArea
    pts : GeoDataFrame
        ``weight`` (floor area, residents, cell count...), ``_cidx`` (community
        position, -1 for none), ``origin``, Point geometry in the metric CRS.
    layer : str
        Source layer name, for skip records.
    reason_zh : str
        What was missing, for the fallback message (e.g. ``住宅楼``).
    to_persons : float
        Persons per unit of weight, for communities without a given total (and
        points outside every community).
    rescale : bool
        Scale each community's points to its given total (False: keep the
        model's own numbers; the raster model's ``rescale=False``).

    Returns
    -------
    points : GeoDataFrame
        ``population``, ``community``, ``subdistrict``, ``origin``, ``_cidx``.
    skipped : list of Skipped
    rows : list of dict
        Per-community ``method``, ``scale`` and ``estimated`` persons.
    """
    comms = study.communities
    n = len(comms)
    total = comms["population"].to_numpy(dtype=float)
    cidx = pts["_cidx"].to_numpy(dtype=np.int64)
    w = pts["weight"].to_numpy(dtype=float)
    inside = cidx >= 0
    wsum = np.bincount(cidx[inside], weights=w[inside], minlength=n)
    given = ~np.isnan(total)
    scale_c = np.full(n, to_persons)
    if rescale:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale_c = np.where(given & (wsum > 0), total / wsum, to_persons)
    pop = w * np.where(inside, scale_c[np.maximum(cidx, 0)], to_persons)
    out = pts.drop(columns=["weight"]).copy()
    out["population"] = pop
    names = comms["name"].to_numpy(dtype=object)
    subs = comms["subdistrict"].to_numpy(dtype=object)
    out["community"] = np.where(inside, names[np.maximum(cidx, 0)], None)
    out["subdistrict"] = np.where(inside, subs[np.maximum(cidx, 0)], None)
    skipped: list[Skipped] = []
    parts = [out]
    fallback = given & (total > 0) & (wsum <= 0) if rescale else np.zeros(n, dtype=bool)
    if fallback.any():
        sub = comms.iloc[np.flatnonzero(fallback)]
        fb = demand_from_street_nodes(study.network, sub)
        key = {_key(nm, sd): int(p) for nm, sd, p in zip(sub["name"], sub["subdistrict"], np.flatnonzero(fallback))}
        f = fb.points.copy()
        f["_cidx"] = [key[_key(nm, sd)] for nm, sd in zip(f["community"], f["subdistrict"])]
        f["origin"] = "street_node"
        parts.append(f[["population", "community", "subdistrict", "origin", "_cidx", "geometry"]])
        skipped.append(Skipped(
            "communities", f"no_{layer}_inside", int(fallback.sum()), population=float(total[fallback].sum()),
            items=sub["name"].tolist(), action="kept",
            message=f"community has a population but no {layer} (无{reason_zh}) inside: its population is spread "
                    "over its street nodes (the crudest model)"))
        skipped += fb.skipped
    outside = ~inside
    if outside.any():
        skipped.append(Skipped(layer, "outside_all_communities", int(outside.sum()), action="kept",
                               population=float(pop[outside].sum()),
                               message=f"{layer} in no community: counted in the totals only"))
    res = pd.concat(parts, ignore_index=True)
    res = gpd.GeoDataFrame(res, geometry="geometry", crs=study.crs)
    res = res[res["population"] > 0].reset_index(drop=True)
    rows = []
    for i in range(n):
        if fallback[i]:
            method, scale = "street_nodes_fallback", None
        elif given[i] and rescale and wsum[i] > 0:
            method, scale = "rescaled", float(total[i] / (wsum[i] * to_persons))
        elif given[i] and rescale:
            method, scale = "zero", None
        elif wsum[i] > 0:
            method, scale = ("estimated" if not given[i] else "not_rescaled"), None
        else:
            method, scale = "no_demand", None
        rows.append({"method": method, "scale": scale, "estimated": float(wsum[i] * to_persons)})
    return res, skipped, rows


def _finish(study, pts: gpd.GeoDataFrame, model: str, source: str, zh: str, en: str, skipped: list[Skipped],
            details: dict, rows: list[dict] | None = None) -> Demand:
    """Attach the per-community totals before/after and build the :class:`Demand`."""
    comms = study.communities
    n = len(comms)
    cidx = pts["_cidx"].to_numpy(dtype=np.int64)
    pop = pts["population"].to_numpy(dtype=float)
    ok = cidx >= 0
    out_c = np.bincount(cidx[ok], weights=pop[ok], minlength=n)
    n_pts = np.bincount(cidx[ok], minlength=n)
    report = []
    for i, (name, sub, given) in enumerate(zip(comms["name"], comms["subdistrict"], comms["population"])):
        r = {"name": name, "subdistrict": sub, "population_in": None if pd.isna(given) else float(given),
             "population_out": float(out_c[i]), "demand_points": int(n_pts[i])}
        if rows is not None:
            r["method"] = rows[i]["method"]
            if rows[i]["scale"] is not None:
                r["scale"] = rows[i]["scale"]
        report.append(r)
    points = pts.drop(columns=["_cidx"]).reset_index(drop=True)
    estimated = [r["name"] for r in report if r["population_in"] is None and r["population_out"] > 0]
    info = {"source": source, "demand_points": len(points), **details,
            "population_outside_communities": float(pop[~ok].sum()),
            "communities_estimated": estimated, "communities": report}
    return Demand(points, model, zh, en, skipped, info)


# --------------------------------------------------------------------------- buildings


def classify_buildings(buildings: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame | None = None
                       ) -> tuple[pd.Series, np.ndarray, str]:
    """Normalised building kind and which buildings house people.

    Parameters
    ----------
    buildings : GeoDataFrame
        With a ``building`` column (or ``kind``/用途/建筑类型; Chinese values such
        as 住宅, 宿舍, 别墅 are mapped to OSM values). No such column: every
        building is ``yes``.
    landuse : GeoDataFrame, optional
        Land-use polygons in the same CRS. With a ``landuse`` column only
        ``residential`` (住宅用地/居住用地) polygons count; without one, every
        polygon is a residential area.

    Returns
    -------
    kind : Series
        Lower-case OSM-style kind (``yes`` where blank).
    residential : ndarray of bool
    yes_rule : str
        How ``building=yes`` was decided. The strict rule (``yes`` is residential
        only inside a residential area) needs land-use information: a
        ``landuse`` column on the buildings, or the ``landuse`` layer. Without
        either, ``yes`` counts as residential — OSM in Chinese cities tags most
        housing blocks ``building=yes``, and dropping them would empty whole
        communities; schools, shops and the like tagged with their own kind
        still get nobody.
    """
    col = _column(buildings, _KIND_COLUMNS)
    if col is None:
        kind = pd.Series("yes", index=buildings.index, dtype=object)
    else:
        kind = buildings[col].astype("string").str.strip().str.lower().fillna("yes")
        kind = kind.where(kind != "", "yes").map(lambda v: BUILDING_ALIASES.get(v, v)).astype(object)
    residential = kind.isin(RESIDENTIAL_KINDS).to_numpy()
    yes = (kind == "yes").to_numpy()
    lu_col = _column(buildings, ("landuse", "用地性质", "用地类型"))
    if lu_col is not None and buildings[lu_col].notna().any():
        lu = buildings[lu_col].astype("string").str.strip().str.lower()
        ok = lu.isin(_RESIDENTIAL_LANDUSE).fillna(False).to_numpy(dtype=bool)
        rule = "building=yes counted only where the building's landuse column is residential"
    elif landuse is not None and len(landuse):
        areas = landuse
        lcol = _column(landuse, ("landuse", "用地性质", "用地类型"))
        if lcol is not None:
            areas = landuse[landuse[lcol].astype("string").str.strip().str.lower().isin(
                _RESIDENTIAL_LANDUSE).fillna(False).to_numpy(dtype=bool)]
        rep = shapely.point_on_surface(buildings.geometry.values)
        ok = np.zeros(len(buildings), dtype=bool)
        if len(areas):
            hit, _ = shapely.STRtree(areas.geometry.values).query(rep, predicate="intersects")
            ok[hit] = True
        rule = "building=yes counted only inside residential land-use polygons"
    else:
        ok = np.ones(len(buildings), dtype=bool)
        rule = "no residential land-use information: building=yes counted as residential"
    return kind, residential | (yes & ok), rule


def building_levels(buildings: gpd.GeoDataFrame, kind: pd.Series, default_levels: dict[str, float],
                    path: str | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Levels of each building, defaults filled in.

    Parameters
    ----------
    buildings : GeoDataFrame
        ``building:levels`` (or ``levels``/``floors``/层数). Text such as ``"6;7"``
        or ``"5.5"`` takes its first number.
    kind : Series
        From :func:`classify_buildings`.
    default_levels : dict
        Levels by kind where missing (kinds not listed: 1).
    path : str, optional
        The file, for messages.

    Returns
    -------
    levels : ndarray of float
    defaulted : ndarray of bool
        Where the default was used.
    unreadable : int
        Non-blank values that held no number (defaulted too).

    Raises
    ------
    ValueInputError
        A level count above :data:`MAX_LEVELS` (a typo such as 330 for 33).
    """
    col = _column(buildings, _LEVEL_COLUMNS)
    n = len(buildings)
    levels = np.full(n, np.nan)
    unreadable = 0
    if col is not None:
        raw = buildings[col]
        num = np.array(pd.to_numeric(raw, errors="coerce"), dtype=float)  # writable copy
        text = raw.astype("string").str.strip()
        need = np.isnan(num) & text.notna().to_numpy(dtype=bool) & (text != "").fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(need):
            m = re.search(r"\d+(?:\.\d+)?", str(text.iloc[i]))
            if m:
                num[i] = float(m.group())
            else:
                unreadable += 1
        too_many = num > MAX_LEVELS
        if too_many.any():
            row = int(np.flatnonzero(too_many)[0])
            raise ValueInputError(f"building has {num[row]:g} levels ({col}); more than {MAX_LEVELS} is surely a "
                                  "typo: correct it or leave it blank for the default", path=path, row=row)
        levels = np.where(num > 0, num, np.nan)
    defaulted = np.isnan(levels)
    defaults = np.array([float(default_levels.get(k, 1.0)) for k in kind], dtype=float)
    return np.where(defaulted, defaults, levels), defaulted, unreadable


def _streets_osm_path(study) -> Path | None:
    p = study.sources.get("streets")
    if p and str(p).lower().endswith((".osm", ".osm.xml", ".xml")) and Path(p).exists():
        return Path(p)
    return None


def demand_from_buildings(study, *, buildings: gpd.GeoDataFrame | str | Path | None = None,
                          landuse: gpd.GeoDataFrame | str | Path | None = None,
                          default_levels: dict[str, float] | None = None,
                          floor_area_per_person: float | None = None, **other: Any) -> Demand:
    """Community totals spread over residential buildings by floor area.

    Parameters
    ----------
    study : StudyArea
    buildings : GeoDataFrame or path, optional
        Building footprints; default ``study.buildings``, else the ``building=*``
        ways of the streets' OSM XML file (:func:`buildings_from_osm`).
    landuse : GeoDataFrame or path, optional
        Residential-area polygons for the strict ``building=yes`` rule (see
        :func:`classify_buildings`). When the buildings come from the OSM
        file, its ``landuse=*`` areas are used if it has residential ones.
    default_levels : dict, optional
        Overrides of :data:`DEFAULT_LEVELS` (levels by kind where missing).
    floor_area_per_person : float, optional
        m² of floor area per resident, only for communities without a given
        population. Default: calibrated on the communities that have one
        (their total population over their residential floor area), else
        :data:`DEFAULT_FLOOR_AREA_PER_PERSON`.
    **other
        Options of the other models (ignored).

    Returns
    -------
    Demand
        One point per residential building at its representative point; a
        building belongs to the community containing that point. Buildings in
        no community are dropped (they have no population of their own).

    Raises
    ------
    ValueInputError
        No buildings, or none residential.
    """
    _check_options(other)
    skipped: list[Skipped] = []
    path = study.sources.get("buildings")
    source = "buildings layer"
    if buildings is not None:
        b, sk, path = _to_metric(buildings, study, "buildings", "polygon")
        skipped += sk
    elif study.buildings is not None and len(study.buildings):
        b = study.buildings
    elif (osm := _streets_osm_path(study)) is not None:
        b = buildings_from_osm(osm)
        if not len(b):
            raise ValueInputError("population model 'buildings' needs buildings: the streets OSM file has no "
                                  "building=* way and there is no buildings layer (buildings.geojson with "
                                  "building, building:levels)", path=osm)
        skipped += b.attrs.get("skipped", [])
        b = b.to_crs(study.crs)
        path, source = str(osm), "OSM building=* ways of the streets file"
        if landuse is None:
            lu = landuse_from_osm(osm)
            if len(lu) and lu["landuse"].isin(_RESIDENTIAL_LANDUSE).any():
                landuse = lu
    else:
        raise ValueInputError("population model 'buildings' needs a buildings layer (buildings.geojson with "
                              "building, building:levels) or streets given as OSM XML with building=* ways")
    lu_gdf = None
    if landuse is not None:
        lu_gdf, sk, _ = _to_metric(landuse, study, "landuse", "polygon")
        skipped += sk
    kind, residential, yes_rule = classify_buildings(b, lu_gdf)
    if not residential.any():
        found = kind.value_counts().head(8).to_dict()
        raise ValueInputError(f"no residential building among {len(b)} buildings (kinds found: {found}); residential "
                              f"kinds are {', '.join(RESIDENTIAL_KINDS)} (or yes inside residential areas). Choose "
                              "another population model or tag the housing", path=path)
    levels_default = {**DEFAULT_LEVELS, **(default_levels or {})}
    levels, defaulted, unreadable = building_levels(b, kind, levels_default, path)
    if unreadable:
        skipped.append(Skipped("buildings", "levels_unreadable", unreadable, action="repaired",
                               message="building:levels held no number: default levels used"))
    res = np.flatnonzero(residential)
    geoms = b.geometry.values[res]
    area = shapely.area(geoms)
    floor = area * levels[res]
    rep = shapely.point_on_surface(geoms)
    cidx = first_containing(rep, study.communities.geometry.values)
    outside = cidx < 0
    if outside.any():
        skipped.append(Skipped("buildings", "outside_all_communities", int(outside.sum()), action="dropped",
                               message="residential buildings in no community: they have no community total to "
                                       "share, so nobody is placed in them"))
    keep = ~outside & (floor > 0)
    names = b["name"].to_numpy(dtype=object)[res] if "name" in b.columns else np.full(len(res), None, dtype=object)
    labels = [f"{k} {nm}" if isinstance(nm, str) and nm else str(k)
              for k, nm in zip(kind.to_numpy(dtype=object)[res][keep], names[keep])]
    pts = gpd.GeoDataFrame({"weight": floor[keep], "_cidx": cidx[keep], "origin": "building", "label": labels},
                           geometry=rep[keep], crs=study.crs)
    # calibrate m² per person on communities whose total is known
    total = study.communities["population"].to_numpy(dtype=float)
    wsum = np.bincount(cidx[keep], weights=floor[keep], minlength=len(total))
    cal = ~np.isnan(total) & (total > 0) & (wsum > 0)
    if floor_area_per_person is not None:
        if not (np.isfinite(floor_area_per_person) and floor_area_per_person > 0):
            raise ValueInputError(f"floor_area_per_person must be a positive number, got {floor_area_per_person!r}")
        fapp, fapp_src = float(floor_area_per_person), "given"
    elif cal.any():
        fapp, fapp_src = float(wsum[cal].sum() / total[cal].sum()), "calibrated on communities with a population"
    else:
        fapp, fapp_src = DEFAULT_FLOOR_AREA_PER_PERSON, "default (7th census urban housing floor area per person)"
    out, sk, rows = _allocate(study, pts, layer="buildings", reason_zh="住宅楼", to_persons=1.0 / fapp)
    skipped += sk
    n_fb = sum(r["method"] == "street_nodes_fallback" for r in rows)
    zh = ("各社区人口按住宅楼建筑面积（占地面积×层数，缺层数时用默认层数）分配到社区内的住宅楼，每栋楼一个需求点"
          + (f"；{n_fb} 个社区无住宅楼，按路网节点平均分配。" if n_fb else "。"))
    en = ("Each community's population is spread over its residential buildings in proportion to floor area "
          "(footprint × levels, default levels where missing), one demand point per building"
          + (f"; {n_fb} communities without a residential building fall back to their street nodes." if n_fb
             else "."))
    details = {
        "buildings": {"total": len(b), "residential": int(residential.sum()),
                      "non_residential": int((~residential).sum()),
                      "yes_counted": int((residential & (kind == "yes").to_numpy()).sum()),
                      "levels_defaulted": int(defaulted[res].sum()), "outside_communities": int(outside.sum()),
                      "by_kind": {str(k): int(v) for k, v in kind[residential].value_counts().items()}},
        "yes_rule": yes_rule,
        "default_levels": levels_default,
        "floor_area_m2": float(floor[keep].sum()),
        "floor_area_per_person_m2": round(fapp, 3),
        "floor_area_per_person_source": fapp_src,
    }
    return _finish(study, out, "buildings", source, zh, en, skipped, details, rows)


# --------------------------------------------------------------------------- compounds


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
    skipped: list[Skipped] = []
    path = study.sources.get("compounds")
    if compounds is not None:
        comp, sk, path = _to_metric(compounds, study, "compounds", "polygon")
        skipped += sk
    elif study.compounds is not None and len(study.compounds):
        comp = study.compounds
    else:
        raise ValueInputError("population model 'compounds' needs a compounds layer (compounds.geojson: 小区 "
                              "polygons with population or households/户数)")
    comp = comp.reset_index(drop=True)
    pcol = "population" if "population" in comp.columns else None
    hcol = _column(comp, _HOUSEHOLD_COLUMNS)
    if pcol is None and hcol is None:
        raise MissingColumnError("the compounds layer needs a 'population' (人口) or 'households' (户数) column; "
                                 f"columns found: {[c for c in comp.columns if c != 'geometry']}", path=path)
    n = len(comp)
    residents = _numeric(comp, pcol, "compound", path, "population") if pcol else np.full(n, np.nan)
    households = _numeric(comp, hcol, "compound", path, "households") if hcol else np.full(n, np.nan)
    if household_size is not None:
        if not (np.isfinite(household_size) and 0 < household_size <= 20):
            raise ValueInputError(f"household_size must be a number of persons between 0 and 20, got "
                                  f"{household_size!r}")
        sizes = np.full(n, float(household_size))
        size_src = np.full(n, "given", dtype=object)
    else:
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
    from_households = np.isnan(residents) & ~np.isnan(households)
    residents = np.where(from_households, households * sizes, residents)
    missing = np.isnan(residents)
    names = comp["name"].astype(object).to_numpy() if "name" in comp.columns else np.arange(n).astype(object)
    if missing.any():
        skipped.append(Skipped("compounds", "population_missing", int(missing.sum()), action="dropped",
                               items=names[missing].tolist(),
                               message="compound with neither population nor households: left out"))
    rep = shapely.point_on_surface(comp.geometry.values)
    cidx_c = first_containing(rep, study.communities.geometry.values)
    ent, sk, ent_src = _entrances_by_compound(study, comp, entrances, entrance_max_m, path)
    skipped += sk
    geoms, weight, cidx, origin, cname = [], [], [], [], []
    for i in np.flatnonzero(~missing):
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
    out, sk, rows = _allocate(study, pts, layer="compounds", reason_zh="小区")
    skipped += sk
    used = ~missing & from_households
    sizes_used: dict[str, float] = {}
    for src, s in zip(size_src[used], sizes[used]):
        sizes_used[str(src)] = float(s)
    comms = study.communities
    scale = [{"name": comms["name"].iloc[i], "subdistrict": comms["subdistrict"].iloc[i],
              "compounds_population": r["estimated"], "scale": r["scale"]}
             for i, r in enumerate(rows) if r["method"] == "rescaled"]
    n_fb = sum(r["method"] == "street_nodes_fallback" for r in rows)
    zh = ("人口按小区计算（常住人口，或户数×户均人口），需求点位于小区出入口（无出入口时位于小区内部），"
          "并按社区人口总数等比例调整" + (f"；{n_fb} 个社区无小区，按路网节点平均分配。" if n_fb else "。"))
    en = ("Population from residential compounds (residents, or households × household size) placed at their "
          "entrances (else inside the compound), scaled to each community's total"
          + (f"; {n_fb} communities without a compound fall back to their street nodes." if n_fb else "."))
    details = {
        "compounds": {"total": int(n), "used": int((~missing).sum()), "from_households": int(used.sum()),
                      "with_entrances": int(sum(1 for i in ent if not missing[i])),
                      "residents": float(np.nansum(residents))},
        "household_size": sizes_used,
        "entrances": ent_src,
        "scale_factors": scale,
    }
    return _finish(study, out, "compounds", "compounds layer", zh, en, skipped, details, rows)


# --------------------------------------------------------------------------- raster


def demand_from_raster(study, *, raster: str | Path | None = None, rescale: bool | None = None, band: int = 1,
                       **other: Any) -> Demand:
    """Population raster cells (persons per cell, e.g. WorldPop) as demand points.

    Parameters
    ----------
    study : StudyArea
    raster : path
        A GeoTIFF of *counts* per cell (WorldPop "ppp"), any CRS.
    rescale : bool, optional
        Scale each community's cells to its given total. Default: rescale
        when any community has a population. With ``False`` the raster's
        own numbers are kept (community totals are then *not* preserved; the
        report shows both).
    band : int
        Band holding the counts.
    **other
        Options of the other models (ignored).

    Returns
    -------
    Demand
        One point per cell with a positive count whose centre lies in the
        study area (union of the subdistricts), at the cell centre reprojected
        to the metric CRS. Cells in the study area but in no community keep
        their raster value (community ``None``).
    """
    import rasterio
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window

    _check_options(other)
    if raster is None:
        raise ValueInputError("population model 'raster' needs a population GeoTIFF: pass --raster FILE "
                              "(population_options={'raster': path})")
    path = Path(raster)
    if not path.exists():
        raise LayerReadError("population raster not found", path=path)
    skipped: list[Skipped] = []
    area = shapely.union_all(study.subdistricts.geometry.values)
    try:
        src = rasterio.open(path)
    except Exception as exc:
        raise LayerReadError(f"cannot read as a GeoTIFF ({type(exc).__name__}: {exc})", path=path) from exc
    with src:
        if src.crs is None:
            raise CRSError("the population raster has no CRS; save it as a GeoTIFF with one (WorldPop is EPSG:4326)",
                           path=path)
        if not 1 <= band <= src.count:
            raise ValueInputError(f"band {band} does not exist; the raster has {src.count} band(s)", path=path)
        b = transform_bounds(study.crs, src.crs, *area.bounds, densify_pts=21)
        inv = ~src.transform
        bx = np.array([b[0], b[0], b[2], b[2]])
        by = np.array([b[1], b[3], b[1], b[3]])
        cols_b = inv.c + inv.a * bx + inv.b * by
        rows_b = inv.f + inv.d * bx + inv.e * by
        # whole cells, padded by one: a centre just inside the area may sit in a cell cut off by rounding
        c0 = max(int(np.floor(cols_b.min())) - 1, 0)
        r0 = max(int(np.floor(rows_b.min())) - 1, 0)
        c1 = min(int(np.ceil(cols_b.max())) + 1, src.width)
        r1 = min(int(np.ceil(rows_b.max())) + 1, src.height)
        if c1 <= c0 or r1 <= r0:
            raise ValueInputError("the population raster does not cover the study area; is it the right place "
                                  f"and CRS ({src.crs})?", path=path)
        win = Window(c0, r0, c1 - c0, r1 - r0)
        data = src.read(band, window=win, masked=True)
        transform = src.window_transform(win)
        src_crs = src.crs
    values = np.ma.filled(data.astype(float), np.nan)
    neg = values < 0
    if neg.any():
        skipped.append(Skipped("raster", "negative_cells", int(neg.sum()), action="dropped",
                               message="cells with negative counts (undeclared nodata?) ignored"))
    rows, cols = np.nonzero(np.isfinite(values) & (values > 0))
    cc, rr = cols + 0.5, rows + 0.5
    xs = transform.c + transform.a * cc + transform.b * rr
    ys = transform.f + transform.d * cc + transform.e * rr
    tr = pyproj.Transformer.from_crs(src_crs, study.crs, always_xy=True)
    mx, my = tr.transform(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    mx, my = np.asarray(mx, dtype=float), np.asarray(my, dtype=float)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, mx, my) if len(mx) else np.zeros(0, dtype=bool)
    if not inside.any():
        raise ValueInputError("no populated raster cell has its centre inside the study area; is it the right "
                              f"place and CRS ({src_crs})?", path=path)
    v = values[rows[inside], cols[inside]]
    geoms = shapely.points(mx[inside], my[inside])
    cidx = first_containing(geoms, study.communities.geometry.values)
    pts = gpd.GeoDataFrame({"weight": v, "_cidx": cidx, "origin": "cell"}, geometry=geoms, crs=study.crs)
    has_totals = bool(study.communities["population"].notna().any())
    do_rescale = has_totals if rescale is None else bool(rescale)
    out, sk, rows_c = _allocate(study, pts, layer="raster", reason_zh="人口栅格单元", rescale=do_rescale)
    skipped += sk
    n_fb = sum(r["method"] == "street_nodes_fallback" for r in rows_c)
    zh = ("人口来自人口栅格（每个栅格单元中心一个需求点）" + ("，并按社区人口总数等比例调整" if do_rescale else "，未按社区人口调整")
          + (f"；{n_fb} 个社区内无栅格单元，按路网节点平均分配。" if n_fb else "。"))
    en = ("Population from a population raster (one demand point per cell centre)"
          + (", scaled to each community's total" if do_rescale else ", not scaled to community totals")
          + (f"; {n_fb} communities without a cell fall back to their street nodes." if n_fb else "."))
    res_x, res_y = abs(transform.a), abs(transform.e)
    details = {
        "raster": {"file": path.name, "crs": str(src_crs), "cell_size": [res_x, res_y], "band": int(band),
                   "cells": int(inside.sum()), "population": float(v.sum())},
        "rescaled": do_rescale,
        "scale_factors": [{"name": study.communities["name"].iloc[i],
                           "subdistrict": study.communities["subdistrict"].iloc[i], "scale": r["scale"]}
                          for i, r in enumerate(rows_c) if r["method"] == "rescaled"],
    }
    return _finish(study, out, "raster", f"raster {path.name}", zh, en, skipped, details, rows_c)


# --------------------------------------------------------------------------- street nodes


def demand_from_street_nodes_model(study, **other: Any) -> Demand:
    """Each community's total spread evenly over its street nodes: the crudest model.

    Delegates to :func:`coverage.population.demand_from_street_nodes` and adds
    the per-community report. People land on arterials and park edges as much
    as in housing; use it only when nothing better exists.
    """
    _check_options(other)
    d = demand_from_street_nodes(study.network, study.communities)
    comms = study.communities
    key = {_key(nm, sd): i for i, (nm, sd) in enumerate(zip(comms["name"], comms["subdistrict"]))}
    pts = d.points.copy()
    pts["_cidx"] = np.asarray([key.get(_key(nm, sd), -1) for nm, sd in zip(pts["community"], pts["subdistrict"])],
                              dtype=np.int64)
    pts["origin"] = "street_node"
    return _finish(study, pts, "street_nodes", "street nodes",
                   d.note_zh, d.note_en + " Use buildings, compounds or a raster where available.", d.skipped, {})


# --------------------------------------------------------------------------- OSM areas


def _osm_areas(path: str | Path, key: str, extra: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Closed ways and multipolygon relations tagged ``key=*`` from OSM XML, as WGS84 polygons."""
    from .safety import check_xml_safe

    path = Path(path)
    if not path.exists():
        raise LayerReadError("OSM file not found", path=path)
    if not path.name.lower().endswith((".osm", ".xml")):
        raise LayerReadError("buildings can be read from OSM XML (.osm) only; convert a .pbf with "
                             "'osmium cat in.pbf -o out.osm'", path=path)
    check_xml_safe(path)
    nodes: dict[int, tuple[float, float]] = {}
    way_refs: dict[int, np.ndarray] = {}
    ways: list[tuple[int, dict]] = []
    rels: list[tuple[int, list[tuple[int, str]], dict]] = []
    try:
        ctx = ET.iterparse(path, events=("start", "end"))
        _, root = next(ctx)
        for event, el in ctx:
            if event != "end":
                continue
            tag = el.tag
            if tag == "node":
                nodes[int(el.get("id"))] = (float(el.get("lon")), float(el.get("lat")))
            elif tag == "way":
                wid = int(el.get("id"))
                way_refs[wid] = np.array([int(nd.get("ref")) for nd in el.iter("nd")], dtype=np.int64)
                tags = {t.get("k"): t.get("v") for t in el.iter("tag")}
                if tags.get(key, "no") != "no":
                    ways.append((wid, tags))
            elif tag == "relation":
                tags = {t.get("k"): t.get("v") for t in el.iter("tag")}
                if tags.get("type") == "multipolygon" and tags.get(key, "no") != "no":
                    mem = [(int(m.get("ref")), m.get("role") or "outer") for m in el.iter("member")
                           if m.get("type") == "way"]
                    rels.append((int(el.get("id")), mem, tags))
            else:
                continue
            el.clear()
            root.clear()  # drop finished children so memory stays flat on city extracts
    except (ET.ParseError, TypeError, ValueError) as exc:
        raise LayerReadError(f"cannot read as OSM XML ({type(exc).__name__}: {exc})", path=path) from exc
    skipped: list[Skipped] = []
    bad: dict[str, list] = {"unclosed_way": [], "missing_nodes": [], "empty_polygon": []}

    def coords(refs: np.ndarray) -> list[tuple[float, float]] | None:
        try:
            return [nodes[int(r)] for r in refs]
        except KeyError:
            return None

    records, geoms = [], []
    for wid, tags in ways:
        refs = way_refs[wid]
        if len(refs) < 4 or refs[0] != refs[-1]:
            bad["unclosed_way"].append(f"way/{wid}")
            continue
        xy = coords(refs)
        if xy is None:
            bad["missing_nodes"].append(f"way/{wid}")
            continue
        g = shapely.Polygon(xy)
        if not g.is_valid:
            g = shapely.make_valid(g)
            g = shapely.union_all([p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")]
                                  ) if g.geom_type not in ("Polygon", "MultiPolygon") else g
        if g.is_empty or g.area == 0:
            bad["empty_polygon"].append(f"way/{wid}")
            continue
        records.append({"osm_id": f"way/{wid}", **{k: tags.get(k) for k in (key,) + extra}})
        geoms.append(g)
    for rid, members, tags in rels:
        lines = {"outer": [], "inner": []}
        missing = False
        for ref, role in members:
            refs = way_refs.get(ref)
            xy = coords(refs) if refs is not None else None
            if xy is None or len(xy) < 2:
                missing = True
                continue
            lines["inner" if role == "inner" else "outer"].append(shapely.LineString(xy))
        outer = shapely.union_all(list(shapely.polygonize(lines["outer"]).geoms)) if lines["outer"] else None
        inner = shapely.union_all(list(shapely.polygonize(lines["inner"]).geoms)) if lines["inner"] else None
        if outer is None or outer.is_empty:
            bad["missing_nodes" if missing else "empty_polygon"].append(f"relation/{rid}")
            continue
        g = outer.difference(inner) if inner is not None and not inner.is_empty else outer
        records.append({"osm_id": f"relation/{rid}", **{k: tags.get(k) for k in (key,) + extra}})
        geoms.append(g)
    messages = {"unclosed_way": "way is not closed: not an area",
                "missing_nodes": "way/relation refers to nodes or ways missing from the extract (clipped at its "
                                 "edge)",
                "empty_polygon": "area of zero size"}
    for reason, items in bad.items():
        if items:
            skipped.append(Skipped(key if key != "building" else "buildings", reason, len(items), items=items,
                                   message=messages[reason]))
    cols = ["osm_id", key, *extra]
    gdf = gpd.GeoDataFrame(pd.DataFrame(records, columns=cols), geometry=geoms, crs=4326)
    gdf.attrs["skipped"] = skipped
    return gdf


def buildings_from_osm(path: str | Path) -> gpd.GeoDataFrame:
    """Building footprints from the same OSM XML file as the streets.

    Parameters
    ----------
    path : path
        ``.osm`` XML. Checked with :func:`coverage.safety.check_xml_safe` and
        streamed with :func:`xml.etree.ElementTree.iterparse`.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 polygons of closed ways and multipolygon relations tagged
        ``building=*`` (not ``building=no``): ``osm_id``, ``building``,
        ``building:levels``, ``name``, ``landuse``. Ways that are not closed or
        lack nodes are left out and counted in ``gdf.attrs["skipped"]``
        (a list of :class:`~coverage.io.Skipped`). Streets and other ways are
        ignored.
    """
    return _osm_areas(path, "building", ("building:levels", "name", "landuse"))


def landuse_from_osm(path: str | Path) -> gpd.GeoDataFrame:
    """``landuse=*`` areas of an OSM XML file (for the strict ``building=yes`` rule).

    Returns
    -------
    GeoDataFrame
        EPSG:4326 polygons with ``osm_id``, ``landuse``, ``name``.
    """
    return _osm_areas(path, "landuse", ("name",))


# --------------------------------------------------------------------------- registry


def _has_residential_buildings(study, landuse: Any = None) -> bool:
    b = study.buildings
    if b is None or not len(b):
        return False
    lu = None
    if landuse is not None:
        lu, _, _ = _to_metric(landuse, study, "landuse", "polygon")
    return bool(classify_buildings(b, lu)[1].any())


def auto_model(study, **options: Any) -> str | None:
    """The best model the study's data allow.

    ``compounds`` if the study has a compounds layer; else ``buildings`` if its
    buildings layer holds residential buildings; else ``raster`` if a
    ``raster=`` option is given; else None (the caller falls back to street
    nodes).
    """
    if options.get("compounds") is not None or (study.compounds is not None and len(study.compounds)):
        return "compounds"
    if options.get("buildings") is not None or _has_residential_buildings(study, options.get("landuse")):
        return "buildings"
    if options.get("raster"):
        return "raster"
    return None


#: Model name → ``callable(study, **options) -> Demand``.
MODELS: dict[str, Callable[..., Demand]] = {
    "buildings": demand_from_buildings,
    "compounds": demand_from_compounds,
    "raster": demand_from_raster,
    "street_nodes": demand_from_street_nodes_model,
}

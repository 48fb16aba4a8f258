"""Population model ``buildings``: residential footprints × floors (floor area per person), community totals preserved.

Buildings come from a buildings layer or from the ``building=*`` ways of the streets' OSM file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.demand.base import (
    Demand,
    _allocate,
    _check_options,
    _column,
    _fallback_note,
    _finish,
    _option_layer,
    _to_metric,
)
from coverage.errors import ValueInputError
from coverage.geo.areas import first_containing
from coverage.read.layers import OSM_FORMATS
from coverage.read.osmareas import buildings_from_osm, landuse_from_osm
from coverage.skipped import Skipped

__all__ = ["DEFAULT_FLOOR_AREA_PER_PERSON", "DEFAULT_LEVELS", "RESIDENTIAL_KINDS", "building_levels", "classify_buildings", "demand_from_buildings"]

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

#: Gross floor area per resident (m²) used only to estimate communities without a
#: given population when no community with a total can calibrate it. 7th census:
#: urban family households had 36.52 m² of housing floor area per person.
DEFAULT_FLOOR_AREA_PER_PERSON = 36.5

#: More levels than this is a typo (Inner Mongolia's tallest tower has < 80).
MAX_LEVELS = 120

_KIND_COLUMNS = ("building", "kind", "用途", "建筑用途", "建筑类型", "building_type")

_LEVEL_COLUMNS = ("building:levels", "levels", "floors", "层数", "楼层数", "地上层数", "building_levels")

_RESIDENTIAL_LANDUSE = ("residential", "住宅用地", "居住用地", "住宅", "居住")


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
        ok = first_containing(rep, areas.geometry.values) >= 0
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
    """The streets file when it is OSM in any format the OSM readers take (XML, compressed XML, PBF), else None."""
    p = study.sources.get("streets")
    if p and str(p).lower().endswith(tuple(OSM_FORMATS)) and Path(p).exists():
        return Path(p)
    return None


@functools.lru_cache(maxsize=4)
def _osm_areas_cached(key: str, path: str, mtime_ns: int, size: int) -> gpd.GeoDataFrame:
    """The OSM file's buildings or land use, read once per file version (``auto`` looks before the model reads)."""
    return buildings_from_osm(path) if key == "building" else landuse_from_osm(path)


def _osm_buildings(osm: Path, key: str = "building") -> gpd.GeoDataFrame:
    """The ``building=*`` (or ``landuse=*``) areas of the streets' OSM file, as a copy callers may change."""
    st = osm.stat()
    b = _osm_areas_cached(key, str(osm), st.st_mtime_ns, st.st_size)
    out = b.copy()
    out.attrs["skipped"] = list(b.attrs.get("skipped", []))
    return out


def _osm_residential_landuse(osm: Path) -> gpd.GeoDataFrame | None:
    """The streets file's ``landuse=*`` areas when it has residential ones (for the strict ``building=yes`` rule)."""
    lu = _osm_buildings(osm, "landuse")
    return lu if len(lu) and lu["landuse"].isin(_RESIDENTIAL_LANDUSE).any() else None


def osm_buildings_source(osm: str | Path) -> str:
    """How the population model names buildings read from the streets' OSM file: ``streets.osm (buildings)``."""
    return f"{Path(osm).name} (buildings)"


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
    b, landuse, skipped, path, source = _buildings_layer(study, buildings, landuse)
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
    pts, n_outside, sk = _building_points(study, b, kind, res, levels)
    skipped += sk
    fapp, fapp_src = _floor_area_per_person(study, pts, floor_area_per_person)
    out, sk, rows = _allocate(study, pts, layer="buildings", reason_zh="住宅楼", to_persons=1.0 / fapp)
    skipped += sk
    zh_end, en_end = _fallback_note(rows, "无住宅楼", "a residential building")
    zh = "各社区人口按住宅楼建筑面积（占地面积×层数，缺层数时用默认层数）分配到社区内的住宅楼，每栋楼一个需求点" + zh_end
    en = ("Each community's population is spread over its residential buildings in proportion to floor area "
          "(footprint × levels, default levels where missing), one demand point per building" + en_end)
    details = {
        "buildings": {"total": len(b), "residential": int(residential.sum()),
                      "non_residential": int((~residential).sum()),
                      "yes_counted": int((residential & (kind == "yes").to_numpy()).sum()),
                      "levels_defaulted": int(defaulted[res].sum()), "outside_communities": n_outside,
                      "by_kind": {str(k): int(v) for k, v in kind[residential].value_counts().items()}},
        "yes_rule": yes_rule,
        "default_levels": levels_default,
        "floor_area_m2": float(pts["weight"].to_numpy(dtype=float).sum()),
        "floor_area_per_person_m2": round(fapp, 3),
        "floor_area_per_person_source": fapp_src,
    }
    return _finish(study, out, "buildings", source, zh, en, skipped, details, rows)


def _buildings_layer(study, buildings: gpd.GeoDataFrame | str | Path | None,
                     landuse: gpd.GeoDataFrame | str | Path | None
                     ) -> tuple[gpd.GeoDataFrame, Any, list[Skipped], str | None, str]:
    """The buildings to use: the option, the study's layer, else the streets' OSM ``building=*`` ways.

    Returns the buildings (metric CRS), the land-use layer to use (the OSM
    file's residential areas when the buildings come from it and none was
    given), skip records, the file for messages and a source label.
    """
    b, skipped, path = _option_layer(study, buildings, "buildings", "polygon")
    if b is not None:
        # name the file: the option's path, or the data folder's buildings layer (a GeoDataFrame has none)
        file = buildings if isinstance(buildings, (str, Path)) else path if buildings is None else None
        return b, landuse, skipped, path, Path(file).name if file else "buildings layer"
    osm = _streets_osm_path(study)
    if osm is None:
        raise ValueInputError("population model 'buildings' needs a buildings layer (buildings.geojson with "
                              "building, building:levels) or streets given as an OSM file (.osm, .osm.pbf, "
                              ".osm.bz2 ...) with building=* ways")
    b = _osm_buildings(osm)
    if not len(b):
        raise ValueInputError("population model 'buildings' needs buildings: the streets OSM file has no "
                              "building=* way and there is no buildings layer (buildings.geojson with "
                              "building, building:levels)", path=osm)
    skipped = list(b.attrs.get("skipped", []))
    if landuse is None:
        landuse = _osm_residential_landuse(osm)
    return b.to_crs(study.crs), landuse, skipped, str(osm), osm_buildings_source(osm)


def _building_points(study, b: gpd.GeoDataFrame, kind: pd.Series, res: np.ndarray, levels: np.ndarray
                     ) -> tuple[gpd.GeoDataFrame, int, list[Skipped]]:
    """One weighted point (floor area) per residential building ``res`` inside a community.

    Returns the points, how many residential buildings lie in no community
    (dropped: they have no community total to share) and the skip record.
    """
    skipped: list[Skipped] = []
    geoms = b.geometry.values[res]
    floor = shapely.area(geoms) * levels[res]
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
    return pts, int(outside.sum()), skipped


def _floor_area_per_person(study, pts: gpd.GeoDataFrame, given: float | None) -> tuple[float, str]:
    """m² of floor area per person and where it came from: given, calibrated on known totals, or the default."""
    if given is not None:
        if not (np.isfinite(given) and given > 0):
            raise ValueInputError(f"floor_area_per_person must be a positive number, got {given!r}")
        return float(given), "given"
    # calibrate m² per person on communities whose total is known
    total = study.communities["population"].to_numpy(dtype=float)
    wsum = np.bincount(pts["_cidx"].to_numpy(dtype=np.int64), weights=pts["weight"].to_numpy(dtype=float),
                       minlength=len(total))
    cal = ~np.isnan(total) & (total > 0) & (wsum > 0)
    if cal.any():
        return float(wsum[cal].sum() / total[cal].sum()), "calibrated on communities with a population"
    return DEFAULT_FLOOR_AREA_PER_PERSON, "default (7th census urban housing floor area per person)"


def _has_residential_buildings(study, landuse: Any = None) -> bool:
    """Whether the study's buildings layer holds a residential building."""
    b = study.buildings
    if b is None or not len(b):
        return False
    lu = None
    if landuse is not None:
        lu, _, _ = _to_metric(landuse, study, "landuse", "polygon")
    return bool(classify_buildings(b, lu)[1].any())


def osm_residential_buildings(study, landuse: Any = None) -> str | None:
    """The source label (``streets.osm (buildings)``) when the streets' OSM file holds residential buildings.

    Used by ``auto`` when the data folder has no buildings layer: the buildings
    model then reads the ``building=*`` ways of the streets file. Land use
    (given, or the file's residential ``landuse=*`` areas) decides
    ``building=yes`` as in :func:`classify_buildings`. None when the streets
    are not OSM or hold no residential building.
    """
    osm = _streets_osm_path(study)
    if osm is None:
        return None
    b = _osm_buildings(osm)
    if not len(b):
        return None
    if landuse is None:
        landuse = _osm_residential_landuse(osm)
    lu_gdf = _to_metric(landuse, study, "landuse", "polygon")[0] if landuse is not None else None
    return osm_buildings_source(osm) if classify_buildings(b.to_crs(study.crs), lu_gdf)[1].any() else None

"""The study area: every layer of a city in one metric CRS, validated and linked.

:func:`load_study_area` reads a data folder (or explicit files) and returns a
:class:`StudyArea`; :func:`build_study_area` does the same from GeoDataFrames
already in memory (notebooks, the app). Linking done here:

- communities get their subdistrict (given by name or code, else the one they
  overlap most);
- facilities get their normalised ``kind``, ``counted`` flag and the
  subdistrict and community whose polygon contains them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.datasets import demo_data_dir
from coverage.errors import CRSError, LayerReadError, MissingColumnError, NetworkError, ValueInputError
from coverage.geo.areas import first_containing
from coverage.geo.crs import check_metric_crs, choose_metric_crs, describe_crs, suggest_crs
from coverage.network import walk_graph
from coverage.network.graph import WalkNetwork
from coverage.params import DEFAULT_COUNTED_KINDS
from coverage.read.cells import KNOWN_KINDS, classify_kind, code_text, population_numbers
from coverage.read.layers import (
    STREET_EXTENSIONS,
    VECTOR_EXTENSIONS,
    _polygonal,
    find_layer_files,
    read_layer,
    read_meta,
    validate_geometries,
)
from coverage.skipped import Skipped

__all__ = ["DEFAULT_COUNTED_KINDS", "StudyArea", "build_study_area", "load_study_area"]

#: Kinds :func:`coverage.read.cells.classify_kind` recognises; others are listed as unknown when not counted.
#: Overlaps between communities and gaps in a subdistrict smaller than this (m²), or thinner than
#: :data:`SLIVER_WIDTH_M`, are digitising noise and not reported.
PARTITION_MIN_AREA_M2 = 100.0
SLIVER_WIDTH_M = 1.0
#: A layer whose extent lies farther than this from the subdistricts' is refused as misplaced.
MAX_LAYER_GAP_M = 5_000.0


@dataclass
class StudyArea:
    """All layers of a study, in one metric CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        The metric CRS (UTM zone chosen from the data).
    network : WalkNetwork
        Walkable streets.
    subdistricts : GeoDataFrame
        ``name``, ``code`` (may be empty), polygons.
    communities : GeoDataFrame
        ``name``, ``code``, ``subdistrict``, ``population`` (NaN where unknown), polygons.
    facilities : GeoDataFrame
        ``name``, ``kind`` (normalised), ``kind_raw``, ``counted``, ``subdistrict``, ``community``, points.
    population : GeoDataFrame or None
        Demand points or polygons with ``population`` when the user gave them.
    buildings, candidates, exclusions : GeoDataFrame or None
        Optional layers.
    meta : dict
        ``meta.json`` of the data folder (title, synthetic flag, sources).
    skipped : list of Skipped
        What was repaired or left out while loading.
    sources : dict
        File of each layer.
    """

    crs: pyproj.CRS
    network: WalkNetwork
    subdistricts: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    population: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    candidates: gpd.GeoDataFrame | None = None
    exclusions: gpd.GeoDataFrame | None = None
    meta: dict = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """Data-set title, Chinese first."""
        return self.meta.get("title") or self.meta.get("title_en") or "study area"

    @property
    def synthetic(self) -> bool:
        """True for generated demo data."""
        return bool(self.meta.get("synthetic", False))

    def with_facilities(self, facilities: gpd.GeoDataFrame) -> StudyArea:
        """Return a copy with another facility layer (scenarios: add or remove a station)."""
        import copy

        other = copy.copy(self)
        other.facilities = _link_facilities(facilities.to_crs(self.crs), self.subdistricts, self.communities,
                                            counted_kinds=None)[0]
        return other

    def source_names(self) -> dict:
        """Each layer's source as a file name: what outputs and the app show (never a server path)."""
        return {k: PurePath(str(v)).name if isinstance(v, (str, PurePath)) and str(v) else v
                for k, v in self.sources.items()}

    def describe(self) -> dict:
        """JSON-friendly summary of the layers (sources by file name)."""
        return {
            "crs": describe_crs(self.crs),
            "subdistricts": len(self.subdistricts),
            "communities": len(self.communities),
            "facilities": {str(k): int(v) for k, v in self.facilities["kind"].value_counts().sort_index().items()},
            "network": self.network.summary(),
            "sources": self.source_names(),
        }


def _require(gdf: gpd.GeoDataFrame, column: str, layer: str, path: str | None) -> None:
    if column not in gdf.columns:
        raise MissingColumnError(f"the {layer} layer needs a '{column}' column (also accepted: 名称 for name); "
                                 f"columns found: {[c for c in gdf.columns if c != 'geometry']}", path=path)


_SINGULAR = {"subdistricts": "subdistrict", "communities": "community", "facilities": "facility"}


def _clean_names(gdf: gpd.GeoDataFrame, layer: str, path: str | None) -> gpd.GeoDataFrame:
    names = gdf["name"].astype("string").str.strip()
    blank = names.isna() | (names == "")
    if blank.any():
        row = gdf.index[int(np.flatnonzero(blank.to_numpy())[0])]
        raise ValueInputError(f"{layer} feature has no name ({int(blank.sum())} such); every {_SINGULAR.get(layer, layer)} "
                              "needs a name in the 'name' (名称) column", path=path, row=row)
    gdf = gdf.copy()
    gdf["name"] = names.astype(str)
    if "code" in gdf.columns:
        gdf["code"] = gdf["code"].map(code_text)
    else:
        gdf["code"] = None
    return gdf


def _population_column(gdf: gpd.GeoDataFrame, layer: str, path: str | None, required: bool) -> gpd.GeoDataFrame:
    if "population" not in gdf.columns:
        if required:
            raise MissingColumnError(f"the {layer} layer needs a 'population' column (人口)", path=path)
        gdf = gdf.copy()
        gdf["population"] = np.nan
        return gdf
    raw = gdf["population"]
    if isinstance(raw, pd.DataFrame):
        raise MissingColumnError(f"the {layer} layer has two population columns ({list(raw.columns)}, e.g. "
                                 "population and 人口); keep one", path=path)
    values, nonnum = population_numbers(raw)
    if nonnum.any():
        i = int(np.flatnonzero(nonnum)[0])
        row = gdf.index[i]
        raise ValueInputError(f"population {raw.iloc[i]!r}{_named(gdf, i)} is not a number "
                              f"({int(nonnum.sum())} such row(s)); write digits only (e.g. 5230), or leave the cell "
                              "empty if unknown", path=path, row=row)
    infinite = np.isinf(values)
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        row = gdf.index[i]
        raise ValueInputError(f"population {raw.iloc[i]!r}{_named(gdf, i)} is not a finite number; write the "
                              "head count (e.g. 5230)", path=path, row=row)
    neg = values < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        row = gdf.index[i]
        raise ValueInputError(f"population {values[i]:g}{_named(gdf, i)} is negative "
                              f"({int(neg.sum())} such row(s)); correct it, or leave the cell empty if unknown",
                              path=path, row=row)
    gdf = gdf.copy()
    gdf["population"] = values
    return gdf


def _named(gdf: pd.DataFrame, i: int) -> str:
    """`` of '甲一社区'`` when the row at position ``i`` has a name."""
    name = gdf["name"].iloc[i] if "name" in gdf.columns else None
    return f" of {name!r}" if isinstance(name, str) and name else ""


def _assign_subdistricts(communities: gpd.GeoDataFrame, subdistricts: gpd.GeoDataFrame, path: str | None
                         ) -> tuple[gpd.GeoDataFrame, list[Skipped]]:
    """Give each community its subdistrict name: by the given name/code, else by largest overlap."""
    skipped: list[Skipped] = []
    communities = communities.copy()
    names = set(subdistricts["name"])
    code_to_name = {c: n for c, n in zip(subdistricts["code"], subdistricts["name"]) if c}
    given = communities["subdistrict"] if "subdistrict" in communities.columns else pd.Series(None, index=communities.index)
    resolved = []
    for i, value in enumerate(given.tolist()):
        # a subdistrict's name, or its code (as text, whatever the file stored)
        text = None if value is None or pd.isna(value) else str(value).strip() or None
        code = code_text(value)
        if text is None:
            resolved.append(None)
        elif text in names:
            resolved.append(text)
        elif code in code_to_name:
            resolved.append(code_to_name[code])
        else:
            close = difflib.get_close_matches(text, list(names), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(close)}?" if close else f" Known: {', '.join(sorted(names))}."
            raise ValueInputError(f"community {communities['name'].iloc[i]!r} names subdistrict {text!r}, which is "
                                  f"not in the subdistricts layer.{hint}", path=path, row=i)
    communities["subdistrict"] = resolved
    # codes: a 12-digit community code starts with its 9-digit subdistrict code
    need = communities["subdistrict"].isna()
    if need.any() and communities["code"].notna().any():
        for idx in communities.index[need]:
            code = communities.at[idx, "code"]
            if isinstance(code, str) and len(code) >= 9 and code[:9] in code_to_name:
                communities.at[idx, "subdistrict"] = code_to_name[code[:9]]
        need = communities["subdistrict"].isna()
    if need.any():
        inter = gpd.overlay(communities.loc[need, ["name", "geometry"]].reset_index(names="_cid"),
                            subdistricts[["name", "geometry"]].rename(columns={"name": "_sub"}),
                            how="intersection", keep_geom_type=True)
        inter["_area"] = inter.geometry.area
        best = inter.sort_values("_area", ascending=False).drop_duplicates("_cid").set_index("_cid")["_sub"]
        communities.loc[best.index, "subdistrict"] = best
        orphan = communities["subdistrict"].isna()
        skipped.append(Skipped("communities", "subdistrict_by_overlap", int(need.sum() - orphan.sum()),
                               action="repaired", items=communities.loc[need & ~orphan, "name"].tolist(),
                               message="subdistrict assigned by largest overlap"))
        if orphan.any():
            skipped.append(Skipped("communities", "outside_all_subdistricts", int(orphan.sum()), action="kept",
                                   population=float(communities.loc[orphan, "population"].fillna(0).sum()),
                                   items=communities.loc[orphan, "name"].tolist(),
                                   message="community overlaps no subdistrict; counted in totals, in no subdistrict"))
    return communities, skipped


def _kind_label(raw: object, kind: str) -> str:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or raw is pd.NA or not str(raw).strip():
        return "(no kind)"
    return str(raw).strip()


def _check_counted_kinds(kinds: Iterable[str], present: pd.Series) -> set[str]:
    """The counted kinds, refused when empty or, if not the defaults, when no facility has any of them.

    With the default kinds and none present the study starts from scratch (siting); kinds
    the user chose that match nothing are a typo, and coverage would silently be 0 %.
    """
    kinds = {str(k).strip() for k in kinds if str(k).strip()}
    if not kinds:
        raise ValueInputError("--count-kinds: no facility kind given; give kinds such as "
                              f"{','.join(DEFAULT_COUNTED_KINDS)}")
    if len(present) and kinds != set(DEFAULT_COUNTED_KINDS) and not present.isin(kinds).any():
        have = ", ".join(f"{k} ({n})" for k, n in present.value_counts().items())
        raise ValueInputError(f"--count-kinds: no facility has the kind {' or '.join(map(repr, sorted(kinds)))}; "
                              f"the facilities' kinds are {have}")
    return kinds


def _link_facilities(facilities: gpd.GeoDataFrame, subdistricts: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                     counted_kinds: Iterable[str] | None = DEFAULT_COUNTED_KINDS
                     ) -> tuple[gpd.GeoDataFrame, list[Skipped]]:
    """Normalise kinds and find the subdistrict and community containing each facility."""
    skipped: list[Skipped] = []
    f = facilities.copy()
    if "kind_raw" not in f.columns:
        f["kind_raw"] = f["kind"] if "kind" in f.columns else None
        f["kind"] = [classify_kind(k, n) for k, n in zip(f["kind_raw"], f["name"])]
    if counted_kinds is not None or "counted" not in f.columns:
        kinds = _check_counted_kinds(DEFAULT_COUNTED_KINDS if counted_kinds is None else counted_kinds, f["kind"])
        f["counted"] = f["kind"].isin(kinds)
    for col, layer in (("subdistrict", subdistricts), ("community", communities)):
        # the one point-in-area rule: a facility on a shared boundary counts for the first area in layer order
        idx = first_containing(f.geometry.values, layer.geometry.values)
        names = layer["name"].to_numpy(dtype=object)
        f[col] = pd.Series([names[i] if i >= 0 else None for i in idx], index=f.index, dtype=object)
    unknown = (~f["kind"].isin(KNOWN_KINDS) & ~f["counted"]).to_numpy()
    if unknown.any():
        raw = [_kind_label(r, k) for r, k in zip(f.loc[unknown, "kind_raw"], f.loc[unknown, "kind"])]
        counts = pd.Series(raw).value_counts()
        listed = [f"{k} ×{n}" for k, n in counts.items()]
        skipped.append(Skipped("facilities", "unknown_kind", int(unknown.sum()), action="listed", items=listed,
                               message=f"facility kinds not recognised, so not counted: {', '.join(listed[:10])}. If "
                                       "some are community health facilities, write 社区卫生服务中心 or 社区卫生服务站 "
                                       "in their kind (类型) column, or count the kind with --count-kinds"))
    outside = f["subdistrict"].isna()
    if outside.any():
        skipped.append(Skipped("facilities", "outside_all_subdistricts", int(outside.sum()), action="kept",
                               items=f.loc[outside, "name"].tolist(),
                               message="facility lies in no subdistrict: it serves residents but counts for no "
                                       "subdistrict's rules"))
    return f, skipped


def _metric_crs(crs: pyproj.CRS | str | int | None, subdistricts: gpd.GeoDataFrame) -> pyproj.CRS:
    """The analysis CRS: the user's (checked) or the UTM zone of the subdistricts."""
    if crs is None:
        return choose_metric_crs(subdistricts)
    bounds = tuple(subdistricts.to_crs(4326).total_bounds)
    try:
        given = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"--crs {crs!r} is not a coordinate reference system pyproj knows; give an EPSG code such "
                       f"as {suggest_crs((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)}") from exc
    return check_metric_crs(given, bounds)


def _refuse_duplicates(gdf: gpd.GeoDataFrame, keys: list[str], what: str, path: str | None, fix: str) -> None:
    dup = gdf.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return
    groups = gdf.loc[dup].groupby(keys if len(keys) > 1 else keys[0], dropna=False).groups
    listed = []
    for key, idx in list(groups.items())[:5]:
        key = key if isinstance(key, tuple) else (key,)
        label = " / ".join(str(k) for k in key if k is not None and not pd.isna(k))
        listed.append(f"{label} (rows {', '.join(str(i) for i in idx)})")
    raise ValueInputError(f"{what}; repeated: {'; '.join(listed)}; {fix}", path=path,
                          row=gdf.index[int(np.flatnonzero(dup)[0])])


def _bbox_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two bounding boxes (0 if they overlap)."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))


def _misplaced(layer: str, path: str | None, gap: float, error=CRSError):
    return error(f"the {layer} lie {gap / 1000:,.1f} km from the subdistricts: the layers do not overlap. Check "
                 "that this file covers the same city and that its CRS/coordinate system is declared correctly "
                 "(projected coordinates saved as degrees, or degrees labelled as a projected CRS, end up far away)",
                 path=path)


def _check_extent(gdf: gpd.GeoDataFrame, subdistricts: gpd.GeoDataFrame, layer: str, path: str | None) -> None:
    """Refuse a layer lying wholly away from the subdistricts (wrong file or wrong CRS)."""
    if gdf is None or len(gdf) == 0:
        return
    b = gdf.total_bounds
    if not np.isfinite(b).all():
        return
    gap = _bbox_gap(b, subdistricts.total_bounds)
    if gap > MAX_LAYER_GAP_M:
        raise _misplaced(layer, path, gap)


def _check_network_extent(network: WalkNetwork, subdistricts: gpd.GeoDataFrame, path: str | None) -> None:
    if network.n_nodes == 0:
        raise NetworkError("the street network has no nodes", path=path or network.source or None)
    b = np.array([network.node_x.min(), network.node_y.min(), network.node_x.max(), network.node_y.max()])
    gap = _bbox_gap(b, subdistricts.total_bounds)
    if gap > MAX_LAYER_GAP_M:
        raise _misplaced("streets", path or network.source or None, gap, error=NetworkError)


def _revalidate(gdf: gpd.GeoDataFrame, layer: str) -> tuple[gpd.GeoDataFrame, list[Skipped]]:
    """Repair polygons that reprojection made invalid (rounding can make a ring touch itself)."""

    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf, []
    geoms = geoms.copy()
    geoms[invalid] = np.array([_polygonal(g) for g in shapely.make_valid(geoms[invalid])], dtype=object)
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    names = gdf.loc[invalid, "name"].tolist() if "name" in gdf.columns else []
    return gdf, [Skipped(layer, "invalid_after_reprojection_repaired", int(invalid.sum()), items=names,
                         action="repaired", message="polygons made invalid by reprojection rounding repaired with "
                                                    "make_valid (a few centimetres at most)")]


def _robust(op, *args):
    """A GEOS overlay, retried on a 1 cm grid if floating-point noise makes it fail."""
    try:
        return op(*args)
    except shapely.errors.GEOSException:
        return op(*args, grid_size=0.01)


def _significant(geoms: np.ndarray) -> np.ndarray:
    """Polygon parts large and wide enough to be real (not digitising slivers)."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))] if len(parts) else parts
    if not len(parts):
        return parts
    area = shapely.area(parts)
    width = 2 * area / np.maximum(shapely.length(parts), 1e-9)
    return parts[(area >= PARTITION_MIN_AREA_M2) & (width >= SLIVER_WIDTH_M)]


def _check_partition(communities: gpd.GeoDataFrame, subdistricts: gpd.GeoDataFrame) -> list[Skipped]:
    """List communities that overlap each other, and parts of subdistricts in no community.

    Neither stops the run: overlapping areas count once (a home belongs to the
    first community containing it) and homes in gaps count in the totals but
    in no community. Both are listed so the planner can fix the boundaries.
    """
    skipped: list[Skipped] = []
    geoms = communities.geometry.values
    names = communities["name"].to_numpy()
    if len(geoms) > 1:
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        items, total, pieces = [], 0.0, 0
        if len(a):
            inter = _robust(shapely.intersection, geoms[a], geoms[b])
            for i, j, g in zip(a, b, inter):
                sig = _significant([g])
                if not len(sig):
                    continue
                area = float(shapely.area(sig).sum())
                total += area
                pieces += 1
                items.append((area, f"{names[i]} ∩ {names[j]}: {area:,.0f} m²"))
        if pieces:
            items.sort(key=lambda t: -t[0])
            skipped.append(Skipped(
                "communities", "communities_overlap", pieces, action="listed", area_m2=total,
                items=[t for _, t in items],
                message=f"{pieces} pair(s) of communities overlap, {total / 1e6:,.3f} km² in all; homes there count "
                        "once (in the first community). Fix the boundaries so that communities do not overlap"))
    if len(geoms):
        union = _robust(shapely.union_all, geoms)
        items, total, pieces = [], 0.0, 0
        for name, sub in zip(subdistricts["name"], subdistricts.geometry.values):
            gaps = _significant([_robust(shapely.difference, sub, union)])
            if not len(gaps):
                continue
            area = float(shapely.area(gaps).sum())
            total += area
            pieces += len(gaps)
            items.append((area, f"{name}: {area:,.0f} m² in {len(gaps)} piece(s)"))
        if pieces:
            items.sort(key=lambda t: -t[0])
            skipped.append(Skipped(
                "communities", "communities_gap", pieces, action="listed", area_m2=total,
                items=[t for _, t in items],
                message=f"{total / 1e6:,.3f} km² of subdistricts lie in no community ({pieces} piece(s)); homes "
                        "there count in the totals but in no community. Draw the missing communities or extend "
                        "their boundaries"))
    return skipped


def build_study_area(
    streets: WalkNetwork | str | Path | gpd.GeoDataFrame,
    subdistricts: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame | None = None,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    exclusions: gpd.GeoDataFrame | None = None,
    counted_kinds: Iterable[str] = DEFAULT_COUNTED_KINDS,
    crs: pyproj.CRS | str | int | None = None,
    meta: dict | None = None,
    sources: dict[str, str] | None = None,
    snap_tolerance: float = 2.0,
) -> StudyArea:
    """Validate, reproject and link layers already in memory.

    Parameters
    ----------
    streets : WalkNetwork, path or GeoDataFrame
        The street network (see :func:`coverage.network.walk_graph`).
    subdistricts, communities, facilities : GeoDataFrame
        Any CRS; columns as in the data folder contract.
    population : GeoDataFrame, optional
        Points or polygons with ``population``.
    buildings, compounds, candidates, exclusions : GeoDataFrame, optional
    counted_kinds : iterable of str
        Facility kinds that count towards coverage (default centre and station).
    crs : CRS, optional
        Metric CRS; by default the UTM zone of the subdistricts.
    meta, sources : dict, optional
        Data-set description and file names, for the report.
    snap_tolerance : float
        For street line layers: join ends closer than this many metres.

    Returns
    -------
    StudyArea
    """
    sources = dict(sources or {})
    skipped: list[Skipped] = []
    layers = {}
    for layer, gdf, expect in (("subdistricts", subdistricts, "polygon"), ("communities", communities, "polygon"),
                               ("facilities", facilities, "point")):
        src = sources.get(layer)
        if gdf is None or len(gdf) == 0:
            raise LayerReadError(f"the {layer} layer is empty", path=src)
        if gdf.crs is None:
            raise CRSError(f"the {layer} layer has no CRS", path=src)
        _require(gdf, "name", layer, src)
        gdf, sk = validate_geometries(gdf, layer, expect, path=src)
        skipped += sk
        layers[layer] = _clean_names(gdf, layer, src)
    metric = _metric_crs(crs, layers["subdistricts"])
    if not metric.is_projected:
        raise CRSError(f"the analysis CRS {metric.name} is not projected; choose a metric CRS such as a UTM zone "
                       "(e.g. --crs EPSG:32648 for Wuhai)")
    subs, sk = _revalidate(layers["subdistricts"].to_crs(metric), "subdistricts")
    skipped += sk
    _refuse_duplicates(subs, ["name"], "subdistrict names must be unique", sources.get("subdistricts"),
                       "rename one (e.g. add its district) or merge the polygons into one feature")
    comms, sk = _revalidate(layers["communities"].to_crs(metric), "communities")
    skipped += sk
    comms = _population_column(comms, "communities", sources.get("communities"), required=False)
    comms, sk = _assign_subdistricts(comms, subs, sources.get("communities"))
    skipped += sk
    _refuse_duplicates(comms, ["subdistrict", "name"], "community names must be unique within a subdistrict",
                       sources.get("communities"), "rename one, or merge the polygons into one feature")
    _check_extent(comms, subs, "communities", sources.get("communities"))
    skipped += _check_partition(comms, subs)
    _check_extent(layers["facilities"].to_crs(metric), subs, "facilities", sources.get("facilities"))
    facs, sk = _link_facilities(layers["facilities"].to_crs(metric), subs, comms, counted_kinds)
    skipped += sk
    network = streets if isinstance(streets, WalkNetwork) else walk_graph(streets, crs=metric,
                                                                           snap_tolerance=snap_tolerance)
    if not network.crs.equals(metric):
        raise ValueInputError(f"the street network is in {network.crs.name} but the study uses {metric.name}; "
                              "build both with the same crs")
    _check_network_extent(network, subs, sources.get("streets"))
    pop = None
    if population is not None:
        pop, sk = validate_geometries(population, "population", "any", path=sources.get("population"))
        skipped += sk
        pop = _population_column(pop.to_crs(metric), "population", sources.get("population"), required=True)
        _check_extent(pop, subs, "population", sources.get("population"))
    opt = {}
    for layer, gdf, expect in (("buildings", buildings, "polygon"), ("compounds", compounds, "polygon"),
                               ("candidates", candidates, "point"), ("exclusions", exclusions, "polygon")):
        if gdf is None:
            opt[layer] = None
            continue
        if gdf.crs is None:
            raise CRSError(f"the {layer} layer has no CRS; set or declare it", path=sources.get(layer))
        gdf, sk = validate_geometries(gdf, layer, expect, path=sources.get(layer))
        skipped += sk
        opt[layer] = gdf.to_crs(metric)
        _check_extent(opt[layer], subs, layer, sources.get(layer))
    return StudyArea(crs=metric, network=network, subdistricts=subs, communities=comms, facilities=facs,
                     population=pop, meta=dict(meta or {}), skipped=skipped, sources=sources, **opt)


def load_study_area(
    folder: str | Path | None = None,
    *,
    streets: str | Path | None = None,
    subdistricts: str | Path | None = None,
    communities: str | Path | None = None,
    facilities: str | Path | None = None,
    population: str | Path | None = None,
    buildings: str | Path | None = None,
    compounds: str | Path | None = None,
    candidates: str | Path | None = None,
    exclusions: str | Path | None = None,
    coordinate_systems: dict[str, str] | None = None,
    counted_kinds: Iterable[str] = DEFAULT_COUNTED_KINDS,
    crs: pyproj.CRS | str | int | None = None,
    snap_tolerance: float = 2.0,
) -> StudyArea:
    """Read a data folder (or explicit files) into a :class:`StudyArea`.

    Parameters
    ----------
    folder : path, optional
        A data folder (see docs/ARCHITECTURE.md); default: the embedded
        Haibowan demo. Explicit file arguments override the folder's files.
    streets, subdistricts, communities, facilities, population, buildings, compounds, candidates, exclusions : path, optional
        Individual files.
    coordinate_systems : dict, optional
        Datum of lon/lat layers, e.g. ``{"facilities": "gcj02"}``; merged over
        ``meta.json``'s ``layers`` declarations.
    counted_kinds : iterable of str
        Facility kinds that count (default centre and station).
    crs : CRS, optional
        Metric CRS; default the UTM zone of the data.
    snap_tolerance : float
        For street line layers, in metres.

    Returns
    -------
    StudyArea

    Examples
    --------
    >>> from coverage import load_study_area
    >>> study = load_study_area()          # the embedded demo  # doctest: +SKIP
    """
    explicit = {k: v for k, v in {"streets": streets, "subdistricts": subdistricts, "communities": communities,
                                      "facilities": facilities, "population": population, "buildings": buildings,
                                      "compounds": compounds, "candidates": candidates, "exclusions": exclusions}.items()
                if v is not None}
    if folder is None and not explicit:
        folder = demo_data_dir()
    files: dict[str, Path] = find_layer_files(folder) if folder is not None else {}
    files.update({k: Path(v) for k, v in explicit.items()})
    meta = read_meta(folder) if folder is not None else {}
    for required in ("streets", "subdistricts", "communities", "facilities"):
        if required not in files:
            kinds = VECTOR_EXTENSIONS + (STREET_EXTENSIONS if required == "streets" else ())
            raise LayerReadError(f"no {required} layer: put {required}{kinds[0]} (or "
                                 f"{'/'.join(kinds[1:])}) in the data folder or pass --{required}", path=folder)
    declared = {k: (v or {}).get("coordinate_system") for k, v in (meta.get("layers") or {}).items()}
    declared.update(coordinate_systems or {})
    layers = {k: read_layer(p, kind=k, coordinate_system=declared.get(k)) for k, p in files.items() if k != "streets"}
    metric = _metric_crs(crs, layers["subdistricts"])
    network = walk_graph(files["streets"], crs=metric, snap_tolerance=snap_tolerance, clip=layers["subdistricts"])
    meta = {**meta, "declared_coordinate_systems": {k: v for k, v in declared.items() if v}}
    return build_study_area(
        network, layers["subdistricts"], layers["communities"], layers["facilities"], layers.get("population"),
        buildings=layers.get("buildings"), compounds=layers.get("compounds"), candidates=layers.get("candidates"),
        exclusions=layers.get("exclusions"), counted_kinds=counted_kinds, crs=metric, meta=meta,
        sources={k: str(p) for k, p in files.items()},
    )

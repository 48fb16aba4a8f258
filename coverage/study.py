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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from .crs import choose_metric_crs, describe_crs
from .errors import LayerReadError, MissingColumnError, ValueInputError
from .io import Skipped, classify_kind, find_layer_files, read_layer, read_meta, validate_geometries
from .network import WalkNetwork, walk_graph

__all__ = ["StudyArea", "load_study_area", "build_study_area", "DEFAULT_COUNTED_KINDS"]

DEFAULT_COUNTED_KINDS = ("centre", "station")


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

    def with_facilities(self, facilities: gpd.GeoDataFrame) -> "StudyArea":
        """Return a copy with another facility layer (scenarios: add or remove a station)."""
        import copy

        other = copy.copy(self)
        other.facilities = _link_facilities(facilities.to_crs(self.crs), self.subdistricts, self.communities,
                                            counted_kinds=None)[0]
        return other

    def describe(self) -> dict:
        """JSON-friendly summary of the layers."""
        return {
            "crs": describe_crs(self.crs),
            "subdistricts": int(len(self.subdistricts)),
            "communities": int(len(self.communities)),
            "facilities": {str(k): int(v) for k, v in self.facilities["kind"].value_counts().sort_index().items()},
            "network": self.network.summary(),
            "sources": dict(self.sources),
        }


def _require(gdf: gpd.GeoDataFrame, column: str, layer: str, path: str | None) -> None:
    if column not in gdf.columns:
        raise MissingColumnError(f"the {layer} layer needs a '{column}' column (also accepted: 名称 for name); "
                                 f"columns found: {[c for c in gdf.columns if c != 'geometry']}", path=path)


def _clean_names(gdf: gpd.GeoDataFrame, layer: str, path: str | None) -> gpd.GeoDataFrame:
    names = gdf["name"].astype("string").str.strip()
    blank = names.isna() | (names == "")
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise ValueInputError(f"{layer} feature has no name ({int(blank.sum())} such); every {layer[:-1]} needs a name",
                              path=path, row=row)
    gdf = gdf.copy()
    gdf["name"] = names.astype(str)
    if "code" in gdf.columns:
        gdf["code"] = gdf["code"].map(_code_text)
    else:
        gdf["code"] = None
    return gdf


def _code_text(value: object) -> str | None:
    """Statistical codes must stay text (leading digits matter; Excel may store them as floats)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _population_column(gdf: gpd.GeoDataFrame, layer: str, path: str | None, required: bool) -> gpd.GeoDataFrame:
    if "population" not in gdf.columns:
        if required:
            raise MissingColumnError(f"the {layer} layer needs a 'population' column (人口)", path=path)
        gdf = gdf.copy()
        gdf["population"] = np.nan
        return gdf
    raw = gdf["population"]
    num = pd.to_numeric(raw, errors="coerce")
    nonnum = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if nonnum.any():
        row = int(np.flatnonzero(nonnum.to_numpy())[0])
        raise ValueInputError(f"population {raw.iloc[row]!r} is not a number; write digits only (e.g. 5230)",
                              path=path, row=row)
    if (num < 0).any():
        row = int(np.flatnonzero((num < 0).to_numpy())[0])
        raise ValueInputError(f"population {num.iloc[row]} is negative; correct it", path=path, row=row)
    gdf = gdf.copy()
    gdf["population"] = num.astype(float)
    return gdf


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
        text = _code_text(value)
        if text is None:
            resolved.append(None)
        elif text in names:
            resolved.append(text)
        elif text in code_to_name:
            resolved.append(code_to_name[text])
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
        kinds = set(counted_kinds or DEFAULT_COUNTED_KINDS)
        f["counted"] = f["kind"].isin(kinds)
    for col, layer in (("subdistrict", subdistricts), ("community", communities)):
        f = f.drop(columns=[col], errors="ignore")
        j = gpd.sjoin(f[["geometry"]], layer[["name", "geometry"]], how="left", predicate="within")
        j = j[~j.index.duplicated(keep="first")]
        f[col] = j["name"].reindex(f.index).astype(object).where(j["name"].reindex(f.index).notna(), None)
    outside = f["subdistrict"].isna()
    if outside.any():
        skipped.append(Skipped("facilities", "outside_all_subdistricts", int(outside.sum()), action="kept",
                               items=f.loc[outside, "name"].tolist(),
                               message="facility lies in no subdistrict: it serves residents but counts for no "
                                       "subdistrict's rules"))
    return f, skipped


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
            from .errors import CRSError
            raise CRSError(f"the {layer} layer has no CRS", path=src)
        _require(gdf, "name", layer, src)
        gdf, sk = validate_geometries(gdf, layer, expect, path=src)
        skipped += sk
        layers[layer] = _clean_names(gdf, layer, src)
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else choose_metric_crs(layers["subdistricts"])
    if not metric.is_projected:
        from .errors import CRSError
        raise CRSError(f"the analysis CRS {metric.name} is not projected; choose a metric CRS such as a UTM zone")
    subs = layers["subdistricts"].to_crs(metric)
    dup = subs["name"].duplicated(keep=False)
    if dup.any():
        raise ValueInputError(f"subdistrict names must be unique; repeated: {sorted(set(subs.loc[dup, 'name']))}",
                              path=sources.get("subdistricts"), row=int(np.flatnonzero(dup.to_numpy())[0]))
    comms = _population_column(layers["communities"].to_crs(metric), "communities", sources.get("communities"),
                               required=False)
    comms, sk = _assign_subdistricts(comms, subs, sources.get("communities"))
    skipped += sk
    dupc = comms.duplicated(["subdistrict", "name"], keep=False)
    if dupc.any():
        raise ValueInputError(f"community names must be unique within a subdistrict; repeated: "
                              f"{sorted(set(comms.loc[dupc, 'name']))}", path=sources.get("communities"),
                              row=int(np.flatnonzero(dupc.to_numpy())[0]))
    facs, sk = _link_facilities(layers["facilities"].to_crs(metric), subs, comms, counted_kinds)
    skipped += sk
    network = streets if isinstance(streets, WalkNetwork) else walk_graph(streets, crs=metric,
                                                                           snap_tolerance=snap_tolerance)
    if not network.crs.equals(metric):
        raise ValueInputError(f"the street network is in {network.crs.name} but the study uses {metric.name}; "
                              "build both with the same crs")
    pop = None
    if population is not None:
        pop, sk = validate_geometries(population, "population", "any", path=sources.get("population"))
        skipped += sk
        pop = _population_column(pop.to_crs(metric), "population", sources.get("population"), required=True)
    opt = {}
    for layer, gdf, expect in (("buildings", buildings, "polygon"), ("compounds", compounds, "polygon"),
                               ("candidates", candidates, "point"), ("exclusions", exclusions, "polygon")):
        if gdf is None:
            opt[layer] = None
            continue
        gdf, sk = validate_geometries(gdf, layer, expect, path=sources.get(layer))
        skipped += sk
        opt[layer] = gdf.to_crs(metric)
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
    explicit = {k: v for k, v in dict(streets=streets, subdistricts=subdistricts, communities=communities,
                                      facilities=facilities, population=population, buildings=buildings,
                                      compounds=compounds, candidates=candidates, exclusions=exclusions).items()
                if v is not None}
    if folder is None and not explicit:
        from .demo import default_data_dir
        folder = default_data_dir()
    files: dict[str, Path] = find_layer_files(folder) if folder is not None else {}
    files.update({k: Path(v) for k, v in explicit.items()})
    meta = read_meta(folder) if folder is not None else {}
    for required in ("streets", "subdistricts", "communities", "facilities"):
        if required not in files:
            raise LayerReadError(f"no {required} layer: put {required}.geojson (or .gpkg/.shp"
                                 f"{'/.osm/.graphml' if required == 'streets' else ''}) in the data folder or pass "
                                 f"--{required}", path=folder)
    declared = {k: (v or {}).get("coordinate_system") for k, v in (meta.get("layers") or {}).items()}
    declared.update(coordinate_systems or {})
    layers = {k: read_layer(p, kind=k, coordinate_system=declared.get(k)) for k, p in files.items() if k != "streets"}
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else choose_metric_crs(layers["subdistricts"])
    network = walk_graph(files["streets"], crs=metric, snap_tolerance=snap_tolerance)
    return build_study_area(
        network, layers["subdistricts"], layers["communities"], layers["facilities"], layers.get("population"),
        buildings=layers.get("buildings"), compounds=layers.get("compounds"), candidates=layers.get("candidates"),
        exclusions=layers.get("exclusions"), counted_kinds=counted_kinds, crs=metric, meta=meta,
        sources={k: str(p) for k, p in files.items()},
    )

"""Areas and points from OSM files: buildings and land use (any OSM format), health facilities and boundaries (PBF), and the clip polygon of an extract."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from coverage.errors import CRSError, GeometryError, LayerReadError
from coverage.geo.crs import choose_metric_crs
from coverage.read.layers import OSM_FORMATS, read_layer
from coverage.read.safety import check_xml_safe
from coverage.skipped import Skipped

__all__ = ["HEALTH_TAGS", "buildings_from_osm", "clip_polygon", "features_from_pbf", "landuse_from_osm"]


_OsmRelation = tuple[int, list[tuple[int, str]], dict]


def _read_osm_elements(path: Path, fmt: str, key: str) -> tuple[dict[int, tuple[float, float]],
                                                                 dict[int, np.ndarray], list[tuple[int, dict]],
                                                                 list[_OsmRelation]]:
    """Decode an OSM file with libosmium: the ways and relations tagged ``key=*`` and the nodes they need.

    Parameters
    ----------
    path : Path
        The OSM file (already checked to exist; plain XML checked to be safe).
    fmt : str
        libosmium format (:data:`~coverage.read.layers.OSM_FORMATS`): XML, compressed XML or PBF
        give the same elements, so the same areas.
    key : str
        The tag that marks the areas wanted (``building``, ``landuse`` ...).

    Returns
    -------
    nodes : dict
        Node id to ``(lon, lat)``, for the nodes of the ways returned (nodes missing from the extract are absent).
    way_refs : dict
        Way id to its node ids: the tagged ways and the way members of the tagged relations.
    ways : list of (int, dict)
        Tagged ways with their tags.
    rels : list of (int, list, dict)
        Tagged multipolygon relations with their way members ``(ref, role)`` and tags.

    Raises
    ------
    LayerReadError
        The file is not readable as OSM.
    """
    nodes: dict[int, tuple[float, float]] = {}
    way_refs: dict[int, np.ndarray] = {}
    ways: list[tuple[int, dict]] = []
    rels: list[_OsmRelation] = []
    try:
        # pass 1: the multipolygon relations, so that pass 2 keeps their (untagged) member ways
        for rel in osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.RELATION).with_filter(
                osmium.filter.KeyFilter(key)):
            tags = {t.k: t.v for t in rel.tags}
            if tags.get("type") == "multipolygon" and tags.get(key, "no") != "no":
                rels.append((rel.id, [(m.ref, m.role or "outer") for m in rel.members if m.type == "w"], tags))
        members = {ref for _, mem, _ in rels for ref, _ in mem}
        # pass 2: the ways, with node locations (libosmium's index; a node missing from an extract has none)
        proc = osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE | osmium.osm.WAY)
        for way in proc.with_locations("flex_mem").with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)):
            value = way.tags.get(key, "no")
            if value == "no" and way.id not in members:
                continue
            refs = []
            for nd in way.nodes:
                refs.append(nd.ref)
                if nd.location.valid():
                    nodes[nd.ref] = (nd.location.lon, nd.location.lat)
            way_refs[way.id] = np.array(refs, dtype=np.int64)
            if value != "no":
                ways.append((way.id, {t.k: t.v for t in way.tags}))
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:  # libosmium's parse/decode errors
        kind = "an OSM PBF extract" if fmt == "pbf" else "OSM XML"
        raise LayerReadError(f"cannot read as {kind} ({type(exc).__name__}: {exc})", path=path) from exc
    return nodes, way_refs, ways, rels


def _node_coords(nodes: dict[int, tuple[float, float]], refs: np.ndarray) -> list[tuple[float, float]] | None:
    """The coordinates of ``refs``, or None when a node is missing from the extract."""
    try:
        return [nodes[int(r)] for r in refs]
    except KeyError:
        return None


def _way_polygon(nodes: dict[int, tuple[float, float]], refs: np.ndarray) -> tuple[Any, str | None]:
    """The polygon of one closed way (repaired if invalid), or None and the reason it is skipped.

    Parameters
    ----------
    nodes : dict
        Node id to ``(lon, lat)``.
    refs : ndarray
        The way's node ids.

    Returns
    -------
    tuple
        ``(polygon, None)``, or ``(None, reason)`` with reason ``unclosed_way``,
        ``missing_nodes`` or ``empty_polygon``.
    """
    if len(refs) < 4 or refs[0] != refs[-1]:
        return None, "unclosed_way"
    xy = _node_coords(nodes, refs)
    if xy is None:
        return None, "missing_nodes"
    g = shapely.Polygon(xy)
    if not g.is_valid:
        g = shapely.make_valid(g)
        g = shapely.union_all([p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")]
                              ) if g.geom_type not in ("Polygon", "MultiPolygon") else g
    if g.is_empty or g.area == 0:
        return None, "empty_polygon"
    return g, None


def _relation_polygon(nodes: dict[int, tuple[float, float]], way_refs: dict[int, np.ndarray],
                      members: list[tuple[int, str]]) -> tuple[Any, str | None]:
    """The polygon of one multipolygon relation (outer rings less inner), or None and the reason.

    Parameters
    ----------
    nodes : dict
        Node id to ``(lon, lat)``.
    way_refs : dict
        Way id to its node ids.
    members : list of (int, str)
        The relation's way members and roles.

    Returns
    -------
    tuple
        ``(polygon, None)``, or ``(None, reason)`` with reason ``missing_nodes`` or ``empty_polygon``.
    """
    lines: dict[str, list] = {"outer": [], "inner": []}
    missing = False
    for ref, role in members:
        refs = way_refs.get(ref)
        xy = _node_coords(nodes, refs) if refs is not None else None
        if xy is None or len(xy) < 2:
            missing = True
            continue
        lines["inner" if role == "inner" else "outer"].append(shapely.LineString(xy))
    outer = shapely.union_all(list(shapely.polygonize(lines["outer"]).geoms)) if lines["outer"] else None
    inner = shapely.union_all(list(shapely.polygonize(lines["inner"]).geoms)) if lines["inner"] else None
    if outer is None or outer.is_empty:
        return None, "missing_nodes" if missing else "empty_polygon"
    return (outer.difference(inner) if inner is not None and not inner.is_empty else outer), None


def _osm_format(path: Path) -> str:
    """libosmium format of an OSM file from its ending (longest match), or a one-line error listing the endings."""
    name = path.name.lower()
    for end in sorted(OSM_FORMATS, key=len, reverse=True):
        if name.endswith(end):
            return OSM_FORMATS[end]
    raise LayerReadError(f"not an OSM file; buildings and land use are read from {', '.join(OSM_FORMATS)}",
                         path=path)


def _osm_areas(path: str | Path, key: str, extra: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Closed ways and multipolygon relations tagged ``key=*`` from an OSM file, as WGS84 polygons."""

    path = Path(path)
    if not path.exists():
        raise LayerReadError("OSM file not found", path=path)
    if path.stat().st_size == 0:
        raise LayerReadError("the OSM file is empty (0 bytes)", path=path)
    fmt = _osm_format(path)
    if fmt == "osm":
        check_xml_safe(path)
    nodes, way_refs, ways, rels = _read_osm_elements(path, fmt, key)
    skipped: list[Skipped] = []
    bad: dict[str, list] = {"unclosed_way": [], "missing_nodes": [], "empty_polygon": []}
    records, geoms = [], []
    elements = [(f"way/{wid}", tags, _way_polygon(nodes, way_refs[wid])) for wid, tags in ways]
    elements += [(f"relation/{rid}", tags, _relation_polygon(nodes, way_refs, members))
                 for rid, members, tags in rels]
    for osm_id, tags, (g, reason) in elements:
        if reason is not None:
            bad[reason].append(osm_id)
            continue
        records.append({"osm_id": osm_id, **{k: tags.get(k) for k in (key,) + extra}})
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
    """Building footprints from the same OSM file as the streets.

    Parameters
    ----------
    path : path
        ``.osm``/``.osm.xml`` XML (checked with :func:`coverage.read.safety.check_xml_safe`),
        ``.osm.bz2``/``.osm.gz`` or ``.osm.pbf``: decoded by libosmium, so every
        format gives the same buildings.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 polygons of closed ways and multipolygon relations tagged
        ``building=*`` (not ``building=no``): ``osm_id``, ``building``,
        ``building:levels``, ``name``, ``landuse``. Ways that are not closed or
        lack nodes are left out and counted in ``gdf.attrs["skipped"]``
        (a list of :class:`~coverage.skipped.Skipped`). Streets and other ways are
        ignored.
    """
    return _osm_areas(path, "building", ("building:levels", "name", "landuse"))


def landuse_from_osm(path: str | Path) -> gpd.GeoDataFrame:
    """``landuse=*`` areas of an OSM file, any format of :func:`buildings_from_osm` (for the strict ``building=yes`` rule).

    Returns
    -------
    GeoDataFrame
        EPSG:4326 polygons with ``osm_id``, ``landuse``, ``name``.
    """
    return _osm_areas(path, "landuse", ("name",))


ClipLike = gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry | str | Path


def _pyrosm() -> Any:
    try:
        import pyrosm
    except ImportError as exc:  # pragma: no cover - pyrosm is in requirements.txt
        raise LayerReadError("reading .osm.pbf needs pyrosm: python -m pip install pyrosm") from exc
    return pyrosm


def clip_polygon(clip: ClipLike, buffer_m: float = 0.0) -> shapely.Geometry:
    """Turn a study-area description into one WGS84 (EPSG:4326) polygon.

    Parameters
    ----------
    clip : GeoDataFrame, GeoSeries, shapely geometry or path
        Polygons with a CRS (all features are merged), a shapely polygon in
        longitude/latitude degrees, or a polygon layer file read with
        :func:`coverage.read.layers.read_layer`.
    buffer_m : float
        Grow the polygon by this many metres (so that streets and facilities
        just across the boundary, which residents also use, are kept).

    Returns
    -------
    shapely.Polygon or MultiPolygon
        In EPSG:4326.
    """
    if isinstance(clip, (str, Path)):

        clip = read_layer(clip, kind="study area")
    if isinstance(clip, shapely.Geometry):
        minx, miny, maxx, maxy = clip.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise CRSError(f"the clip polygon's bounds {clip.bounds} are not longitude/latitude degrees; pass a "
                           "GeoDataFrame with its CRS instead")
        series = gpd.GeoSeries([clip], crs=4326)
    else:
        if clip.crs is None:
            raise CRSError("the clip layer has no coordinate reference system; set one (e.g. EPSG:4326)")
        series = gpd.GeoSeries(clip.geometry.values if isinstance(clip, gpd.GeoDataFrame) else clip.values,
                               crs=clip.crs)
    geoms = series.values
    if len(geoms) == 0 or not np.isin(shapely.get_type_id(geoms), (3, 6)).any():
        raise GeometryError("the study area must be given as polygons (a boundary layer, not points or lines)")
    series = gpd.GeoSeries(shapely.make_valid(geoms[np.isin(shapely.get_type_id(geoms), (3, 6))]), crs=series.crs)
    if buffer_m:
        metric = choose_metric_crs(series)
        series = series.to_crs(metric).buffer(buffer_m)
    area = shapely.union_all(series.to_crs(4326).values)
    if area.is_empty:
        raise GeometryError("the study area polygon is empty")
    return area


def _open(path: Path, area: shapely.Geometry | None, complete_relations: bool = False) -> Any:
    pyrosm = _pyrosm()
    if not path.exists():
        raise LayerReadError(".osm.pbf file not found", path=path)
    if path.stat().st_size == 0:
        raise LayerReadError("the .osm.pbf file is empty (0 bytes)", path=path)
    bbox = list(area.bounds) if area is not None else None
    try:
        return pyrosm.OSM(str(path), bounding_box=bbox, keep_metadata=False,
                          complete_relations=complete_relations and bbox is not None)
    except Exception as exc:
        raise LayerReadError(f"cannot read as an OSM PBF extract ({type(exc).__name__}: {exc}); download it again "
                             "from download.geofabrik.de or re-export it with osmium", path=path) from exc


#: OSM tags of health facilities (as for :func:`osmnx.features_from_polygon`).
HEALTH_TAGS: dict[str, bool | list[str]] = {"amenity": ["clinic", "doctors", "hospital"], "healthcare": True}


def features_from_pbf(path: str | Path, clip: ClipLike | None = None) -> gpd.GeoDataFrame:
    """Read health POIs and administrative boundaries from an ``.osm.pbf`` extract.

    Parameters
    ----------
    path : str or Path
        ``.osm.pbf`` file.
    clip : GeoDataFrame, GeoSeries, shapely geometry or path, optional
        Study area; features intersecting it are kept.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per OSM element, with an ``element`` column
        (``node``/``way``/``relation``), ``id`` and tag columns (``name``,
        ``amenity``, ``healthcare``, ``boundary``, ``admin_level``, ``ref``
        ...) as :func:`osmnx.features_from_xml` gives them, so that
        :mod:`coverage.fetch` treats both sources alike. Empty when the
        extract has none.
    """
    path = Path(path)
    area = clip_polygon(clip) if clip is not None else None
    osm = _open(path, area, complete_relations=True)  # boundaries reaching beyond the box come out whole
    parts = []
    extra = ["name:zh", "name:en", "ref", "admin_code", "china_admin_code", "healthcare", "amenity", "admin_level",
             "boundary", "official_name"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Could not find any")
        pois = osm.get_pois(custom_filter=HEALTH_TAGS, extra_attributes=extra)
    if pois is not None and len(pois):
        parts.append(pois)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Could not find any")
        bounds = osm.get_boundaries(boundary_type="administrative", extra_attributes=extra)
    if bounds is not None and len(bounds):
        parts.append(bounds)
    if not parts:
        return gpd.GeoDataFrame({"element": [], "id": []}, geometry=[], crs=4326)
    gdf = pd.concat([p.drop(columns=[c for c in ("tags",) if c in p.columns]).assign(
        element=p["osm_type"] if "osm_type" in p.columns else "node") for p in parts], ignore_index=True)
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=4326)
    gdf = gdf.loc[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if area is not None:
        gdf = gdf.loc[shapely.intersects(gdf.geometry.values, area)]
    return gdf.reset_index(drop=True)

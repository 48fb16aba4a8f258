"""Reading OpenStreetMap ``.osm.pbf`` extracts (Geofabrik, BBBike, osmium) clipped to a study area.

A planner usually starts from a provincial or national extract, far larger
than the city. :func:`read_osm_pbf` reads only the bounding box of the study
area, keeps the street segments that touch the (optionally buffered) study
polygon, applies the project's walk filter (:func:`coverage.network.walk_mask`)
and builds a :class:`~coverage.network.WalkNetwork`.
:func:`features_from_pbf` reads health POIs and administrative boundaries from
the same extract for :mod:`coverage.fetch`.

The reader is `pyrosm <https://pyrosm.readthedocs.io>`_ (0.25), chosen over
pyosmium because it is already a project dependency (requirements.txt), its
default out-of-core engine decodes a large extract in one streaming pass with
bounded memory while filtering by bounding box, it assembles boundary
relations that straddle the box (``complete_relations``), and it returns the
network split at every node with OSM node ids, which maps directly onto
:func:`~coverage.network.network_from_edges`. pyosmium would add a compiled
dependency plus hand-written way splitting and multipolygon assembly.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .crs import choose_metric_crs
from .errors import CRSError, GeometryError, LayerReadError, NetworkError
from .network import WALK_EXCLUDE, WalkNetwork, network_from_edges, walk_mask

__all__ = ["HEALTH_TAGS", "clip_polygon", "features_from_pbf", "read_osm_pbf"]

#: Way tags read as columns so that the walk filter sees them.
_WALK_TAGS = sorted(set(WALK_EXCLUDE) | {"name", "name:en", "highway", "foot", "access", "service", "area"})
#: Edge columns kept on the network (the rest of pyrosm's tags are dropped).
_KEEP_COLUMNS = ("osmid", "name", "highway", "foot", "access", "service", "sidewalk", "bridge", "tunnel")

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
        :func:`coverage.io.read_layer`.
    buffer_m : float
        Grow the polygon by this many metres (so that streets and facilities
        just across the boundary, which residents also use, are kept).

    Returns
    -------
    shapely.Polygon or MultiPolygon
        In EPSG:4326.
    """
    if isinstance(clip, (str, Path)):
        from .io import read_layer

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


def read_osm_pbf(path: str | Path, crs: pyproj.CRS | None = None, clip: ClipLike | None = None, *,
                 buffer_m: float = 0.0) -> WalkNetwork:
    """Read the walkable streets of an ``.osm.pbf`` extract, clipped to a study area.

    Parameters
    ----------
    path : str or Path
        ``.osm.pbf`` file (a provincial extract is fine).
    crs : pyproj.CRS, optional
        Metric CRS of the result; by default the UTM zone of the streets.
    clip : GeoDataFrame, GeoSeries, shapely geometry or path, optional
        Study area (see :func:`clip_polygon`). Only its bounding box is
        decoded; street segments that touch the polygon are kept (a segment
        crossing the boundary is kept whole). Default: the whole file.
    buffer_m : float
        Grow the study area by this many metres before clipping.

    Returns
    -------
    WalkNetwork
        Edges are the OSM way segments between consecutive nodes, with
        ``osmid`` (the way id), ``name``, ``highway`` and the access tags;
        ``excluded`` counts the OSM ways removed by the walk filter.

    Raises
    ------
    LayerReadError
        Missing or unreadable file.
    NetworkError
        No street in the study area, or none walkable.
    """
    path = Path(path)
    area = clip_polygon(clip, buffer_m) if clip is not None else None
    osm = _open(path, area)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Could not find any")  # reported below as an error
            got = osm.get_network(network_type="all", nodes=True, extra_attributes=_WALK_TAGS)
    except Exception as exc:
        raise LayerReadError(f"cannot read the street network ({type(exc).__name__}: {exc})", path=path) from exc
    if got is None or got[1] is None or len(got[1]) == 0:
        where = " inside the study area" if area is not None else ""
        raise NetworkError(f"contains no street (highway=*){where}; is the extract the right region? "
                           "Check the study area's coordinates", path=path)
    nodes, edges = got
    edges = edges.loc[edges.geometry.notna() & ~edges.geometry.is_empty]
    if area is not None:
        shapely.prepare(area)
        keep = shapely.intersects(edges.geometry.values, area)
        edges = edges.loc[keep]
        if len(edges) == 0:
            raise NetworkError("has no street inside the study area; check that the study area lies within the "
                               "extract", path=path)
    edges = edges.rename(columns={"id": "osmid"}).reset_index(drop=True)
    ok, _ = walk_mask(edges)
    # count OSM ways, not the segments each way was split into
    _, excluded = walk_mask(edges.loc[~edges["osmid"].duplicated()])
    edges = edges.loc[ok]
    if len(edges) == 0:
        raise NetworkError(f"no walkable street left after the walk filter (excluded: {excluded})", path=path)
    if crs is None:
        crs = choose_metric_crs(edges)
    used = np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))
    nodes = nodes.drop_duplicates("id").set_index("id")
    missing = np.setdiff1d(used, nodes.index.to_numpy())
    if len(missing):
        raise LayerReadError(f"{len(missing)} street node(s) have no location (first id {missing[0]}); the extract "
                             "is truncated: cut it again with osmium extract --strategy complete_ways", path=path)
    lonlat = np.column_stack([nodes.loc[used, "lon"].to_numpy(dtype=float), nodes.loc[used, "lat"].to_numpy(dtype=float)])
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    pos = pd.Series(np.arange(len(used)), index=used)
    columns = [c for c in _KEEP_COLUMNS if c in edges.columns]
    out = gpd.GeoDataFrame(edges[columns].reset_index(drop=True),
                           geometry=gpd.GeoSeries(edges.geometry.values, crs=4326).to_crs(crs).values, crs=crs)
    out["u"] = pos.loc[edges["u"].to_numpy()].to_numpy()
    out["v"] = pos.loc[edges["v"].to_numpy()].to_numpy()
    source = path.name + (" (clipped to the study area)" if area is not None else "")
    return network_from_edges(out, np.column_stack([x, y]), node_id=used, source=source, excluded=excluded)


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

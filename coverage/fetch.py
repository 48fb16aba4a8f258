"""Build a data folder for a real city from OpenStreetMap, downloaded or from a local extract.

:func:`fetch_city` writes the folder :func:`coverage.study.load_study_area`
reads (see docs/ARCHITECTURE.md):

- ``streets.graphml``: the walkable street graph (osmnx GraphML, WGS84);
- ``subdistricts.geojson``: admin_level 8 boundaries (街道/镇), or 9 if the
  area has no level 8, with ``name``, ``name_en`` and ``code`` when OSM tags
  carry one;
- ``communities.geojson``: admin_level 10 boundaries (社区/村), only where OSM
  has them, which is rare: otherwise the folder has no communities file and
  ``meta.json`` says how to add one;
- ``facilities.geojson``: health POIs (``amenity=clinic|doctors|hospital``,
  ``healthcare=*``) as points with ``name`` and ``kind``;
- ``study_area.geojson``: the query polygon;
- ``meta.json``: source "OpenStreetMap contributors, ODbL", the query, the date
  and what is missing.

Downloads (``place``/``bbox``/``polygon``) and local files (``osm_file``:
``.osm`` XML or ``.osm.pbf``) produce the same three things (an osmnx graph,
a GeoDataFrame of OSM features and a study polygon) and share everything after
that: :func:`build_folder` classifies, filters and writes.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from coverage.errors import LayerReadError, NetworkError, ValueInputError
from coverage.geo.crs import choose_metric_crs
from coverage.network.filter import filter_graph, osmnx_with_walk_tags
from coverage.network.graph import WalkNetwork
from coverage.network.osmpbf import read_osm_pbf
from coverage.read.cells import KNOWN_KINDS, classify_kind
from coverage.read.osmareas import HEALTH_TAGS, clip_polygon, features_from_pbf
from coverage.read.safety import check_xml_safe

__all__ = ["FEATURE_TAGS", "OSM_SOURCE", "build_folder", "fetch_city", "graph_from_network", "online"]

#: Attribution required by the ODbL.
OSM_SOURCE = "OpenStreetMap contributors, ODbL"
#: Every feature tag fetched: health POIs and administrative boundaries.
FEATURE_TAGS: dict[str, bool | str | list[str]] = {**HEALTH_TAGS, "boundary": "administrative"}
#: A boundary is kept when at least this share of its area lies inside the study area.
MIN_SHARE_INSIDE = 0.5
#: Tags that may carry a statistical division code, in order of preference.
CODE_TAGS = ("admin_code", "china_admin_code", "ref:admin_code", "ref:CN", "ref")
#: Facility kinds :func:`coverage.read.cells.classify_kind` recognises.
#: OSM tag values, as text classify_kind understands. healthcare=centre is any multi-service
#: health centre, not necessarily a 社区卫生服务中心: without a telling name it is not counted.
_TAG_KIND = {"doctor": "doctors", "doctors": "doctors", "clinic": "clinic", "hospital": "hospital",
             "centre": "health_centre", "yes": "healthcare"}
#: ``COVERAGE_OFFLINE=1``: never try to download (:func:`online` says False without trying).
OFFLINE_ENV = "COVERAGE_OFFLINE"
#: ``host:port`` :func:`online` connects to instead of :data:`ONLINE_CHECK_ADDRESS` (a mirror; tests).
ONLINE_CHECK_ENV = "COVERAGE_ONLINE_CHECK"
#: The Overpass API server osmnx downloads from (HTTPS).
ONLINE_CHECK_ADDRESS = ("overpass-api.de", 443)
_LAYER_FILES = ("streets.graphml", "subdistricts.geojson", "communities.geojson", "facilities.geojson",
                "study_area.geojson", "meta.json")


# --------------------------------------------------------------------------
# study area
# --------------------------------------------------------------------------


def _bbox_polygon(bbox: Sequence[float]) -> shapely.Polygon:
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise ValueInputError(f"bbox must be four numbers west,south,east,north in degrees, got {bbox!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ValueInputError(f"bbox {list(bbox)} is not west,south,east,north in degrees with west<east and "
                              "south<north (Wuhai is about 106.7,39.4,107.1,39.9)")
    return shapely.box(w, s, e, n)


def _geocode(place: str) -> shapely.Geometry:
    import osmnx as ox

    try:
        gdf = ox.geocode_to_gdf(place)
    except (TypeError, ValueError) as exc:  # osmnx: no result, or a point rather than a polygon
        if type(exc).__name__ == "ResponseStatusCodeError":  # HTTP error from Nominatim: a download problem
            raise _download_error("the place boundary", exc) from exc
        raise ValueInputError(f"OpenStreetMap has no boundary polygon for place {place!r} ({exc}); try the full "
                              "name, e.g. '海勃湾区, 乌海市, 内蒙古自治区, 中国', or give --bbox / --polygon") from exc
    except Exception as exc:
        raise _download_error("the place boundary", exc) from exc
    area = shapely.union_all(gdf.to_crs(4326).geometry.values)
    if area.is_empty or area.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueInputError(f"the geocoder returned a {area.geom_type} for {place!r}, not an area; give --bbox or "
                              "--polygon")
    return area


def _download_error(what: str, exc: Exception) -> LayerReadError:
    return LayerReadError(f"could not download {what} from OpenStreetMap ({type(exc).__name__}: {exc}); check the "
                          "internet connection and the Overpass server, or download an extract (e.g. "
                          "download.geofabrik.de) and pass it with --osm-file")


def _empty_response(exc: Exception) -> bool:
    return type(exc).__name__ == "InsufficientResponseError"


def _check_address() -> tuple[str, int]:
    """Where :func:`online` connects: the override, else the HTTPS proxy downloads go through, else Overpass."""
    given = os.environ.get(ONLINE_CHECK_ENV) or ""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or ""
    if not given and proxy:
        given = re.sub(r"^[a-z]+://(?:[^@/]*@)?", "", proxy).split("/")[0]
    host, sep, port = given.rpartition(":")
    if sep and host and port.isdigit():
        return host.strip("[]"), int(port)
    return ONLINE_CHECK_ADDRESS


def online(timeout: float = 2.0) -> bool:
    """Whether OpenStreetMap downloads can work here: a TCP connection to the Overpass server within ``timeout``.

    Parameters
    ----------
    timeout : float
        Seconds to wait, name lookup included: an offline machine is told
        within this time, never left hanging.

    Returns
    -------
    bool
        False at once when ``COVERAGE_OFFLINE=1``; else whether a connection
        to ``overpass-api.de:443`` (or the ``HTTPS_PROXY`` downloads would go
        through, or ``COVERAGE_ONLINE_CHECK=host:port``) opens in time. True
        does not promise the download succeeds (the server may be busy), so
        callers still handle a failed download.

    Examples
    --------
    >>> from coverage.fetch import online
    >>> if not online():  # doctest: +SKIP
    ...     print("skipped: offline / 离线，已跳过")
    """
    if os.environ.get(OFFLINE_ENV, "0") == "1":
        return False
    address = _check_address()
    answer: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                answer.append(True)
        except OSError:  # refused, unreachable, no route, name not found, timed out
            answer.append(False)

    # a thread, so that a slow name lookup (not bound by the socket timeout) cannot exceed the timeout either
    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answer and answer[0])


# --------------------------------------------------------------------------
# sources: download, OSM XML, PBF -> (graph, features)
# --------------------------------------------------------------------------


def _download(area: shapely.Geometry, bbox: Sequence[float] | None) -> tuple[nx.MultiDiGraph, gpd.GeoDataFrame]:
    ox = osmnx_with_walk_tags()
    try:
        if bbox is not None:
            G = ox.graph_from_bbox(tuple(float(v) for v in bbox), network_type="walk", retain_all=True)
        else:
            G = ox.graph_from_polygon(area, network_type="walk", retain_all=True)
    except Exception as exc:
        if _empty_response(exc):
            raise NetworkError("OpenStreetMap has no walkable street in the study area; check the place, bbox "
                               "or polygon") from exc
        raise _download_error("the street network", exc) from exc
    try:
        features = ox.features_from_polygon(area, tags=FEATURE_TAGS)
    except Exception as exc:
        if not _empty_response(exc):
            raise _download_error("boundaries and health facilities", exc) from exc
        features = gpd.GeoDataFrame(geometry=[], crs=4326)
    return G, features


def _from_osm_xml(path: Path, area: shapely.Geometry | None) -> tuple[nx.MultiDiGraph, gpd.GeoDataFrame]:
    check_xml_safe(path)
    ox = osmnx_with_walk_tags()
    try:
        G = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=False)
    except Exception as exc:
        raise LayerReadError(f"cannot read as OSM XML ({type(exc).__name__}: {exc}); export the area from "
                             "OSM/JOSM as .osm XML", path=path) from exc
    if area is not None and G.number_of_nodes():
        try:
            G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
        except ValueError as exc:  # osmnx: "Found no graph nodes within the requested polygon"
            raise NetworkError("has no walkable street inside the study area; check that the area lies within the "
                               "extract", path=path) from exc
    try:
        features = ox.features_from_xml(path, polygon=area, tags=FEATURE_TAGS)
    except Exception as exc:
        if not _empty_response(exc):
            raise LayerReadError(f"cannot read OSM features ({type(exc).__name__}: {exc})", path=path) from exc
        features = gpd.GeoDataFrame(geometry=[], crs=4326)
    return G, features


def graph_from_network(network: WalkNetwork) -> nx.MultiDiGraph:
    """Turn a :class:`~coverage.network.graph.WalkNetwork` into an osmnx graph in EPSG:4326.

    Parameters
    ----------
    network : WalkNetwork

    Returns
    -------
    networkx.MultiDiGraph
        One edge ``u -> v`` per network edge (walking ignores direction), with
        ``geometry``, ``length`` (m) and the tag columns; nodes with ``x``/``y``
        in degrees and their OSM ids. Ready for :func:`osmnx.save_graphml`.
    """
    import pyproj

    to_ll = pyproj.Transformer.from_crs(network.crs, 4326, always_xy=True)
    lon, lat = to_ll.transform(network.node_x, network.node_y)
    G = nx.MultiDiGraph(crs="epsg:4326")
    ids = [int(i) for i in network.node_id]
    G.add_nodes_from((nid, {"x": float(x), "y": float(y)}) for nid, x, y in zip(ids, lon, lat))
    edges = network.edges
    geoms = gpd.GeoSeries(edges.geometry.values, crs=network.crs).to_crs(4326).values
    tags = [c for c in edges.columns if c not in ("u", "v", "length", edges.geometry.name)]
    records = edges[tags].to_dict("records")
    for u, v, length, geom, rec in zip(edges["u"], edges["v"], edges["length"], geoms, records):
        data = {k: val for k, val in rec.items() if not _blank(val)}
        G.add_edge(ids[int(u)], ids[int(v)], length=float(length), geometry=geom, **data)
    return G


def _blank(value: object) -> bool:
    if isinstance(value, (list, tuple, set)):
        return len(value) == 0
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _from_pbf(path: Path, area: shapely.Geometry | None) -> tuple[nx.MultiDiGraph, gpd.GeoDataFrame]:

    net = read_osm_pbf(path, clip=area)
    G = graph_from_network(net)
    G.graph["walk_filtered"] = net.excluded
    return G, features_from_pbf(path, clip=area)


# --------------------------------------------------------------------------
# shared: graph preparation, classification, writing
# --------------------------------------------------------------------------


def _prepare_graph(G: nx.MultiDiGraph) -> tuple[nx.MultiDiGraph, dict[str, int]]:
    """Walk-filter (before simplifying, so unwalkable ways are never merged into walkable edges) and simplify."""
    import osmnx as ox

    G, excluded = filter_graph(G)
    excluded = {**G.graph.get("walk_filtered", {}), **excluded}
    if G.number_of_edges() == 0:
        raise NetworkError(f"no walkable street in the study area (walk filter excluded: {excluded}); check the area "
                           "and that the data holds highway=* ways")
    if not G.graph.get("simplified"):
        G = ox.simplify_graph(G)
    G.graph.pop("walk_filtered", None)
    return G, excluded


def _text(row: pd.Series, *keys: str) -> str | None:
    for k in keys:
        if k in row.index and not _blank(row[k]) and str(row[k]).strip():
            return str(row[k]).strip()
    return None


def _osm_ref(row: pd.Series) -> str:
    return f"{row.get('element', 'element')}/{row.get('id', '?')}"


def _facility_kind(name: str | None, row: pd.Series) -> tuple[str, str]:
    """Kind from the name first (Chinese names say 社区卫生服务中心/站), else from the OSM tags."""
    if name:
        by_name = classify_kind(name)
        if by_name in KNOWN_KINDS:
            return by_name, "name"
    for key in ("healthcare", "amenity"):
        value = _text(row, key)
        if value:
            return classify_kind(_TAG_KIND.get(value, value)), f"{key}={value}"
    return "other", "none"


def _facilities(features: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    amenity = features["amenity"] if "amenity" in features.columns else pd.Series(None, index=features.index)
    health = features["healthcare"] if "healthcare" in features.columns else pd.Series(None, index=features.index)
    mask = amenity.isin(HEALTH_TAGS["amenity"]).to_numpy() | health.notna().to_numpy()
    fac = features.loc[mask]
    rows = []
    unnamed = 0
    for _, row in fac.iterrows():
        name = _text(row, "name:zh", "name", "official_name")
        kind, why = _facility_kind(name, row)
        if name is None:
            unnamed += 1
            name = f"unnamed {kind} (OSM {_osm_ref(row)})"
        tags = "; ".join(f"{k}={row[k]}" for k in ("amenity", "healthcare") if k in row.index and not _blank(row[k]))
        rows.append({"name": name, "kind": kind, "kind_from": why, "osm_tags": tags, "osm_id": _osm_ref(row),
                     "address": _address(row)})
    geoms = fac.geometry.values
    polygonal = ~np.isin(shapely.get_type_id(geoms), (0,))
    points = shapely.point_on_surface(geoms) if len(geoms) else geoms
    out = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(points, crs=4326).values, crs=4326) if rows else None
    notes = {"facilities": len(rows), "facilities_unnamed": unnamed,
             "facilities_from_areas": int(polygonal.sum()) if len(geoms) else 0}
    return out, notes


def _address(row: pd.Series) -> str | None:
    parts = [_text(row, k) for k in ("addr:province", "addr:city", "addr:district", "addr:street",
                                      "addr:housenumber")]
    text = "".join(p for p in parts if p)
    return text or _text(row, "addr:full")


def _code(row: pd.Series, digits: int) -> str | None:
    for key in CODE_TAGS:
        value = _text(row, key)
        if not value:
            continue
        value = re.sub(r"\s", "", value)
        if re.fullmatch(rf"\d{{{digits}}}", value):
            return value
        if digits == 9 and re.fullmatch(r"\d{9}000", value):  # 12-digit form of a township code
            return value[:9]
    return None


def _boundaries(features: gpd.GeoDataFrame, area: shapely.Geometry | None
                ) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None, dict[str, Any]]:
    """admin_level 8 (else 9) polygons -> subdistricts, admin_level 10 -> communities."""
    if "boundary" not in features.columns or "admin_level" not in features.columns:
        return None, None, {"admin_levels_found": []}
    b = features.loc[(features["boundary"] == "administrative").to_numpy()
                     & np.isin(shapely.get_type_id(features.geometry.values), (3, 6))]
    levels = b["admin_level"].astype("string").str.strip().fillna("")
    if area is not None and len(b):
        metric = _metric_for(area)
        geoms = gpd.GeoSeries(b.geometry.values, crs=4326).to_crs(metric).values
        inside = shapely.area(shapely.intersection(geoms, gpd.GeoSeries([area], crs=4326).to_crs(metric).iloc[0]))
        share = inside / np.maximum(shapely.area(geoms), 1e-9)
        b, levels = b.loc[share >= MIN_SHARE_INSIDE], levels.loc[share >= MIN_SHARE_INSIDE]
    found = sorted({str(v) for v in levels if v}, key=lambda v: (len(v), v))
    sub_level = "8" if (levels == "8").any() else ("9" if (levels == "9").any() else None)

    def layer(level: str | None, digits: int) -> gpd.GeoDataFrame | None:
        if level is None or not (levels == level).any():
            return None
        rows, geoms = [], []
        for _, row in b.loc[(levels == level).to_numpy()].iterrows():
            rows.append({"name": _text(row, "name:zh", "name", "official_name") or f"unnamed (OSM {_osm_ref(row)})",
                         "name_en": _text(row, "name:en"), "code": _code(row, digits),
                         "admin_level": level, "osm_id": _osm_ref(row)})
            geoms.append(row.geometry)
        return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)

    subs = layer(sub_level, 9)
    comms = layer("10", 12)
    return subs, comms, {"admin_levels_found": found, "subdistrict_admin_level": sub_level}


def _metric_for(area: shapely.Geometry) -> Any:

    return choose_metric_crs(gpd.GeoSeries([area], crs=4326))


def _normalise_features(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """osmnx indexes features by (element, id); the PBF reader has them as columns: make both columns."""
    if features.crs is None:
        features = features.set_crs(4326)
    features = features.to_crs(4326)
    if isinstance(features.index, pd.MultiIndex) or "element" not in features.columns:
        features = features.reset_index()
        features = features.rename(columns={"element_type": "element", "osmid": "id"})
    return features.loc[features.geometry.notna() & ~features.geometry.is_empty].reset_index(drop=True)


def build_folder(graph: nx.MultiDiGraph, features: gpd.GeoDataFrame, out: str | Path, *,
                 area: shapely.Geometry | None = None, query: dict[str, Any] | None = None,
                 overwrite: bool = False) -> Path:
    """Write a data folder from an osmnx street graph and OSM features.

    The step shared by downloads and local files.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        osmnx street graph (any CRS osmnx knows). It is walk-filtered with
        :func:`coverage.network.filter.walk_mask` and simplified unless
        ``graph.graph["simplified"]``.
    features : GeoDataFrame
        OSM features as :func:`osmnx.features_from_xml` returns them (tags as
        columns): health POIs and ``boundary=administrative`` polygons.
    out : path
        Folder to write (created).
    area : shapely geometry, optional
        Study area in EPSG:4326: boundaries with less than half their area
        inside are left out; written as ``study_area.geojson``.
    query : dict, optional
        The request, recorded in ``meta.json``.
    overwrite : bool
        Replace the data files of an existing folder (default: refuse).

    Returns
    -------
    Path
        The folder.
    """
    import osmnx as ox

    out = Path(out)
    existing = [n for n in _LAYER_FILES if (out / n).exists()]
    if existing and not overwrite:
        raise LayerReadError(f"the folder already holds {existing}; choose another --out folder, delete them, or "
                             "pass overwrite=True", path=out)
    G, excluded = _prepare_graph(graph)
    features = _normalise_features(features)
    facilities, fac_notes = _facilities(features) if len(features) else (None, {"facilities": 0})
    subs, comms, b_notes = _boundaries(features, area) if len(features) else (None, None, {"admin_levels_found": []})

    out.mkdir(parents=True, exist_ok=True)
    for name in existing:  # only files fetch writes: the user's own layers (communities.gpkg ...) stay
        (out / name).unlink()
    ox.save_graphml(G, out / "streets.graphml")
    written = ["streets.graphml"]
    for stem, layer in (("subdistricts", subs), ("communities", comms), ("facilities", facilities)):
        if layer is not None and len(layer):
            layer.to_file(out / f"{stem}.geojson", driver="GeoJSON")
            written.append(f"{stem}.geojson")
    if area is not None:
        gpd.GeoDataFrame({"name": [(query or {}).get("place") or "study area"]}, geometry=[area],
                         crs=4326).to_file(out / "study_area.geojson", driver="GeoJSON")
        written.append("study_area.geojson")
    meta = _meta(query or {}, G, excluded, subs, comms, facilities, {**fac_notes, **b_notes})
    meta["files"] = written + ["meta.json"]
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str) + "\n",
                                   encoding="utf-8")
    return out


def _meta(query: dict[str, Any], G: nx.MultiDiGraph, excluded: dict[str, int], subs: gpd.GeoDataFrame | None,
          comms: gpd.GeoDataFrame | None, facilities: gpd.GeoDataFrame | None, notes: dict[str, Any]) -> dict:
    import osmnx as ox

    place = query.get("place")
    title = place or (Path(query["osm_file"]).name if query.get("osm_file") else "OpenStreetMap extract")
    missing: dict[str, dict[str, str]] = {}
    if comms is None:
        missing["communities"] = {
            "zh": "OpenStreetMap 中没有该地区的社区（admin_level=10）边界。请放入 communities.geojson/.gpkg/.shp"
                  "（名称、代码、人口），或用 coverage.geo.boundaries.communities_from_points 由社区点位生成近似边界。",
            "en": "OpenStreetMap has no community (admin_level=10) boundaries here. Add communities.geojson/.gpkg/.shp "
                  "(name, code, population) from the planning office, or build approximate areas from community "
                  "points with coverage.geo.boundaries.communities_from_points.",
        }
    if subs is None:
        missing["subdistricts"] = {
            "zh": "OpenStreetMap 中没有该地区的街道/乡镇（admin_level=8/9）边界，请放入 subdistricts 图层。",
            "en": "OpenStreetMap has no subdistrict (admin_level 8/9) boundaries here; add a subdistricts layer.",
        }
    if facilities is None:
        missing["facilities"] = {
            "zh": "OpenStreetMap 中没有该地区的医疗设施点，请放入 facilities 图层（如卫健委清单 .xlsx）。",
            "en": "OpenStreetMap has no health facilities here; add a facilities layer (e.g. the health "
                  "commission's .xlsx list).",
        }
    codes = int(subs["code"].notna().sum()) if subs is not None else 0
    return {
        "title": title,
        "title_en": title,
        "synthetic": False,
        "source": OSM_SOURCE,
        "sources": [f"© {OSM_SOURCE} 1.0 — https://www.openstreetmap.org/copyright"],
        "license": "ODbL-1.0",
        "query": {k: v for k, v in query.items() if v is not None},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": f"coverage.fetch (osmnx {ox.__version__})",
        "layers": {"facilities": {"coordinate_system": "wgs84"}},
        "missing": missing,
        "counts": {
            "street_nodes": G.number_of_nodes(), "street_edges": G.number_of_edges(),
            "subdistricts": 0 if subs is None else len(subs), "subdistrict_codes": codes,
            "communities": 0 if comms is None else len(comms),
            **{k: v for k, v in notes.items() if k.startswith("facilities")},
            "facilities_by_kind": ({} if facilities is None else
                                   {str(k): int(v) for k, v in facilities["kind"].value_counts().items()}),
        },
        "walk_filter_excluded_ways": dict(sorted(excluded.items())),
        "admin_levels_found": notes.get("admin_levels_found", []),
        "subdistrict_admin_level": notes.get("subdistrict_admin_level"),
        "notes": [
            ("facility kind is read from the name (社区卫生服务中心/站, 卫生院, 医院, 诊所) and otherwise from the OSM "
             "tags; healthcare=centre without such a name is 'health_centre' and is not counted: check kinds before "
             "planning"),
            f"boundaries with less than {MIN_SHARE_INSIDE:.0%} of their area inside the study area are left out",
        ],
    }


def fetch_city(place: str | None = None, bbox: Sequence[float] | None = None, polygon: str | Path | None = None,
               osm_file: str | Path | None = None, out: str | Path = "data/city", *,
               overwrite: bool = False) -> Path:
    """Make a data folder for a city from OpenStreetMap.

    Parameters
    ----------
    place : str, optional
        A place name the Nominatim geocoder resolves to a boundary, e.g.
        ``"海勃湾区, 乌海市"`` (downloads).
    bbox : sequence of 4 floats, optional
        ``west, south, east, north`` in degrees (downloads; with
        ``osm_file`` it clips the file instead).
    polygon : path, optional
        A polygon layer of the study area (downloads; with ``osm_file`` it
        clips the file instead).
    osm_file : path, optional
        A local ``.osm`` XML or ``.osm.pbf`` extract: works offline.
    out : path
        Folder to write.
    overwrite : bool
        Replace the data files of an existing folder (default: refuse).

    Returns
    -------
    Path
        The folder, holding ``streets.graphml``, ``meta.json`` and, where OSM
        has them, ``subdistricts.geojson``, ``communities.geojson``,
        ``facilities.geojson`` (plus ``study_area.geojson`` when an area was
        given). ``meta.json`` ``missing`` says which layers the user must add.

    Raises
    ------
    ValueInputError
        No source, several sources, a bad bbox, or a place the geocoder does not know.
    LayerReadError
        Download failure (with the offline alternative), unreadable files, or an
        existing folder without ``overwrite``.
    NetworkError
        No walkable street in the area.

    Examples
    --------
    >>> fetch_city(place="海勃湾区, 乌海市", out="data/haibowan_osm")          # doctest: +SKIP
    >>> fetch_city(osm_file="nei-mongol-latest.osm.pbf", polygon="haibowan.geojson",
    ...            out="data/haibowan_osm")                                  # doctest: +SKIP
    """
    areas = [a for a in (place, bbox, polygon) if a is not None]
    if osm_file is None and len(areas) != 1:
        raise ValueInputError("give exactly one of place (--place), bbox (--bbox) or polygon (--polygon) to "
                              "download, or osm_file (--osm-file) for a local extract"
                              + (f"; got {len(areas)}" if areas else ""))
    if osm_file is not None and place is not None:
        raise ValueInputError("a local --osm-file is clipped with --bbox or --polygon; --place needs the internet "
                              "geocoder: download the place's boundary once and pass it as --polygon")
    if osm_file is not None and bbox is not None and polygon is not None:
        raise ValueInputError("give --bbox or --polygon to clip the --osm-file, not both")
    area: shapely.Geometry | None = None
    if bbox is not None:
        area = _bbox_polygon(bbox)
    elif polygon is not None:
        area = clip_polygon(polygon)
    query: dict[str, Any] = {"place": place, "bbox": [float(v) for v in bbox] if bbox is not None else None,
                             "polygon": str(polygon) if polygon is not None else None,
                             "osm_file": str(osm_file) if osm_file is not None else None}
    if osm_file is not None:
        path = Path(osm_file)
        if not path.exists():
            raise LayerReadError("OSM file not found", path=path)
        name = path.name.lower()
        if name.endswith((".osm.pbf", ".pbf")):
            graph, features = _from_pbf(path, area)
        elif name.endswith((".osm", ".osm.xml", ".xml")):
            graph, features = _from_osm_xml(path, area)
        else:
            raise LayerReadError("unsupported OSM file type; give an .osm (XML) or .osm.pbf extract", path=path)
    else:
        if place is not None:
            area = _geocode(place)
        graph, features = _download(area, bbox)
    return build_folder(graph, features, out, area=area, query=query, overwrite=overwrite)

"""Small cities built in metres, where distances are known by construction.

Coordinates are given in UTM 48N (EPSG:32648) metres relative to an origin near
Wuhai and written out as OSM XML / GeoJSON in WGS84, so the tests exercise the
real readers and the reprojection back to metres.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pyproj
import shapely

ORIGIN = (655_000.0, 4_392_000.0)
UTM = pyproj.CRS.from_epsg(32648)
_TO_LL = pyproj.Transformer.from_crs(UTM, 4326, always_xy=True)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres → (lon, lat)."""
    return _TO_LL.transform(ORIGIN[0] + x, ORIGIN[1] + y)


def write_osm(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[list[int], dict]]) -> Path:
    """Write OSM XML: ``nodes`` {id: (x, y) metres}, ``ways`` [(node ids, tags)]."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    for nid, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        lines.append(f'  <node id="{nid}" lat="{lat:.9f}" lon="{lon:.9f}" version="1"/>')
    for wid, (refs, tags) in enumerate(ways, start=1):
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f"    <tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def points(rows: list[dict], crs=4326) -> gpd.GeoDataFrame:
    """Rows with local ``x``, ``y`` metres → a WGS84 point layer."""
    geoms = [shapely.Point(lonlat(r["x"], r["y"])) for r in rows]
    data = [{k: v for k, v in r.items() if k not in ("x", "y")} for r in rows]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326).to_crs(crs)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle in local metres, as a WGS84 polygon (densified so it stays straight enough)."""
    ring = shapely.segmentize(shapely.box(x0, y0, x1, y1), 50)
    coords = [lonlat(x, y) for x, y in ring.exterior.coords]
    return shapely.Polygon(coords)


def polygons(rows: list[dict]) -> gpd.GeoDataFrame:
    """Rows with ``bounds`` (x0, y0, x1, y1 metres) → a WGS84 polygon layer."""
    geoms = [box(*r["bounds"]) for r in rows]
    data = [{k: v for k, v in r.items() if k != "bounds"} for r in rows]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)

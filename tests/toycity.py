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


# --- the toy city: a complete 200 m grid (x 0–2000, y 0–1000), two subdistricts, four communities ---
# Every facility sits on a grid node, so node-to-facility network distances are Manhattan distances.

FACILITIES = [
    {"x": 0, "y": 0, "name": "甲街道社区卫生服务中心", "kind": "社区卫生服务中心"},
    {"x": 1000, "y": 1000, "name": "甲一社区卫生服务站", "kind": "社区卫生服务站"},
    {"x": 1400, "y": 600, "name": "乙一社区卫生服务站", "kind": "station"},
    {"x": 2000, "y": 0, "name": "乌海市人民医院", "kind": "医院"},   # listed, not counted
]
COMMUNITIES = [
    {"name": "甲一社区", "code": "150302901001", "population": 1000, "bounds": (-100, -100, 500, 1100)},
    {"name": "甲二社区", "code": "150302901002", "population": 1000, "bounds": (500, -100, 1100, 1100)},
    {"name": "乙一社区", "code": "150302902001", "population": 3000, "bounds": (1100, -100, 1700, 1100)},
    {"name": "乙二社区", "code": None, "population": 500, "bounds": (1700, -100, 2100, 1100)},
]
SUBDISTRICTS = [{"name": "甲街道", "code": "150302901", "bounds": (-100, -100, 1100, 1100)},
                {"name": "乙街道", "code": "150302902", "bounds": (1100, -100, 2100, 1100)}]


def street_grid(extra_nodes: dict | None = None, extra_ways: list | None = None, width: int = 2000,
                height: int = 1000, spacing: int = 200):
    """Nodes and ways of a complete street grid (default: the toy city's 200 m grid, x 0–2000, y 0–1000)."""
    nodes, ways, ids = {}, [], {}
    nid = 1
    for x in range(0, width + 1, spacing):
        for y in range(0, height + 1, spacing):
            nodes[nid] = (x, y)
            ids[(x, y)] = nid
            nid += 1
    for y in range(0, height + 1, spacing):
        ways.append(([ids[(x, y)] for x in range(0, width + 1, spacing)],
                     {"highway": "residential", "name": f"纬{y}路"}))
    for x in range(0, width + 1, spacing):
        ways.append(([ids[(x, y)] for y in range(0, height + 1, spacing)],
                     {"highway": "residential", "name": f"经{x}路"}))
    nodes.update(extra_nodes or {})
    ways += extra_ways or []
    return nodes, ways


def make_toy(folder: Path, communities: list[dict] = COMMUNITIES, facilities: list[dict] = FACILITIES,
             subdistricts: list[dict] = SUBDISTRICTS, motorway: bool = False) -> Path:
    """Write the toy city as a data folder (OSM XML streets, GeoJSON layers in WGS84)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    extra = [([ids_at(0, 1000), ids_at(2000, 0)], {"highway": "motorway"})] if motorway else None
    write_osm(folder / "streets.osm", *street_grid(extra_ways=extra))
    polygons(subdistricts).to_file(folder / "subdistricts.geojson")
    polygons(communities).to_file(folder / "communities.geojson")
    points(facilities).to_file(folder / "facilities.geojson")
    return folder




def ids_at(x: int, y: int) -> int:
    """OSM node id of the grid node at (x, y) in :func:`street_grid`."""
    return (x // 200) * 6 + (y // 200) + 1


def pbf_to_xml(src: str | Path, dst: Path) -> Path:
    """Write an ``.osm.pbf`` extract as OSM XML (osmium), each way split into its runs of nodes in the file.

    Extracts cut at a bounding box keep ways whose nodes lie partly outside; the XML path
    cannot read a way with missing nodes, so each run of present nodes becomes a way.
    """
    import osmium

    writer = osmium.SimpleWriter(str(dst))
    for obj in osmium.FileProcessor(str(src)).with_locations():
        if obj.is_node():
            writer.add_node(obj)
        elif obj.is_way():
            runs, cur = [], []
            for n in obj.nodes:
                if n.location.valid():
                    cur.append(n.ref)
                elif cur:
                    runs.append(cur)
                    cur = []
            runs.append(cur)
            for k, run in enumerate(r for r in runs if len(r) >= 2):
                writer.add_way(obj.replace(id=obj.id if k == 0 else 10**12 + obj.id * 100 + k, nodes=run))
    writer.close()
    return dst

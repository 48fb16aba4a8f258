"""Known answers for the defects the one-way redesign fixed (issue 15).

- a facility exactly on a shared boundary counts for exactly one subdistrict: the first in layer order,
  by the same rule that places candidates, homes and street nodes;
- with ``--radius-m 300 --minutes 5`` every header and rule name says 300 m and 5 minutes;
- ``hc.isochrones`` is a module (``hc.isochrones.DEFAULT_MINUTES``) and callable as the function;
- osmnx's global settings are never changed back and forth by a read.
"""

from __future__ import annotations

import csv
import inspect
import json

import numpy as np
import pytest
import shapely
from toycity import FACILITIES, SUBDISTRICTS, make_toy

import coverage as hc
from coverage.cli import main
from coverage.geo.areas import first_containing
from coverage.study import load_study_area

ON_BORDER = (1100.0, -100.0)  # a corner shared by 甲街道 and 乙街道, and by 甲二社区 and 乙一社区


def test_a_facility_on_a_shared_boundary_counts_for_the_first_subdistrict(tmp_path):
    fac = FACILITIES + [{"x": ON_BORDER[0], "y": ON_BORDER[1], "name": "边界服务站", "kind": "station"}]
    for order in (SUBDISTRICTS, SUBDISTRICTS[::-1]):
        folder = make_toy(tmp_path / f"toy_{order[0]['name']}", facilities=fac, subdistricts=order)
        study = load_study_area(folder)
        row = study.facilities[study.facilities["name"] == "边界服务站"].iloc[0]
        assert row["subdistrict"] == order[0]["name"]          # first in layer order, whichever it is
        assert row["community"] == "甲二社区"                   # communities in their own layer order
        assert not [s for s in study.skipped if s.reason == "outside_all_subdistricts"]
        # the same rule as every other point-in-area lookup (candidates, homes, street nodes)
        pt = study.facilities[study.facilities["name"] == "边界服务站"].geometry.values
        assert first_containing(pt, study.subdistricts.geometry.values)[0] == 0
        result = hc.run_plan(study, isochrone_minutes=(5,))
        stations = dict(zip(result.rules["name"], result.rules["stations"]))
        assert stations[order[0]["name"]] == 2 and stations[order[1]["name"]] == 1  # one own station each + border
        assert sum(stations.values()) == 3                      # counted once, not twice, not zero


def test_point_in_area_rule_puts_border_points_in_the_first_cell_of_a_tiling():
    cells = np.array([shapely.box(x, y, x + 1, y + 1) for y in range(5) for x in range(5)], dtype=object)
    xs, ys = np.meshgrid(np.arange(6.0), np.arange(6.0))
    pts = shapely.points(xs.ravel(), ys.ravel())
    got = first_containing(pts, cells)
    # brute force: the lowest-index cell that intersects (contains or touches) each point
    want = [min((i for i, c in enumerate(cells) if c.intersects(p)), default=-1) for p in pts]
    assert got.tolist() == want


def test_thresholds_name_every_header(tmp_path):
    folder = make_toy(tmp_path / "toy")
    out = tmp_path / "out"
    assert main(["plan", str(folder), "--out", str(out), "--radius-m", "300", "--minutes", "5",
                 "--isochrone-minutes", "5", "-q"]) == 0
    with open(out / "compliance.csv", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    joined = " ".join(header)
    assert "300米覆盖率 / radius share" in header and "5分钟步行覆盖率 / walk share" in header
    assert "500" not in joined and "15分钟" not in joined
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    names = " ".join(v["name_zh"] + " " + v["name_en"] for v in summary["rules"])
    assert "300米" in names and "300 m" in names and "5分钟" in names and "5-minute" in names
    assert "500" not in names and "15" not in names
    page = (out / "report.html").read_text(encoding="utf-8")
    for stale in ("500米", "500 m", "15分钟", "10分钟"):
        assert stale not in page, stale
    assert "300米" in page and "5分钟" in page


def test_isochrones_is_a_module_and_a_function(tmp_path):
    assert hc.isochrones.DEFAULT_MINUTES == (5, 10, 15)
    assert inspect.ismodule(hc.isochrones) and callable(hc.isochrones)
    assert "minutes" in inspect.signature(hc.isochrones).parameters
    study = load_study_area(make_toy(tmp_path / "toy"))
    counted = study.facilities[study.facilities["counted"]]
    iso = hc.isochrones(study.network, counted, minutes=(5,))
    same = hc.isochrones.isochrones(study.network, counted, minutes=(5,))
    assert len(iso) == len(counted) and iso.geometry.equals(same.geometry)


def test_reading_osm_xml_leaves_osmnx_settings_widened_not_toggled(tmp_path):
    ox = pytest.importorskip("osmnx")
    from coverage.network.filter import OSM_WAY_TAGS
    from coverage.network.osmxml import read_osm_xml

    folder = make_toy(tmp_path / "toy")
    read_osm_xml(folder / "streets.osm")
    after_first = list(ox.settings.useful_tags_way)
    read_osm_xml(folder / "streets.osm")
    assert list(ox.settings.useful_tags_way) == after_first     # a second read changes nothing
    assert set(OSM_WAY_TAGS) <= set(after_first)


def test_public_api_names_resolve_lazily():
    for name in hc.__all__:
        assert getattr(hc, name) is not None
    with pytest.raises(AttributeError):
        hc.no_such_name  # noqa: B018


def test_every_layer_of_a_data_folder_can_be_uploaded_and_overridden():
    from coverage.cli import build_parser
    from coverage.read.layers import LAYER_STEMS
    from coverage.webapp.state import UPLOAD_LAYERS, tr

    assert set(UPLOAD_LAYERS) == set(LAYER_STEMS) and "compounds" in UPLOAD_LAYERS
    for layer in UPLOAD_LAYERS:  # each upload box has a label in both languages
        assert tr(f"layer_name_{layer}", "zh") != f"layer_name_{layer}"
        assert tr(f"layer_name_{layer}", "en") != f"layer_name_{layer}"
    args = build_parser().parse_args(["plan", *[a for s in LAYER_STEMS for a in (f"--{s}", f"{s}.geojson")]])
    assert all(getattr(args, s) == f"{s}.geojson" for s in LAYER_STEMS)

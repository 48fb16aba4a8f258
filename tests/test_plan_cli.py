"""The main job end to end on a toy city whose answers follow from its construction.

Streets form a complete 200 m grid, and every facility sits on a grid node, so
the network distance from a node to a facility is the Manhattan distance: an
oracle independent of the implementation.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from toycity import COMMUNITIES, FACILITIES, ORIGIN, make_toy

from coverage.cli import main
from coverage.study import load_study_area


@pytest.fixture
def toy_folder(tmp_path):
    # a motorway diagonal shortcut that must not count
    return make_toy(tmp_path / "toy", motorway=True)


def oracle(study, radius, walk):
    """Population-weighted shares from Manhattan distances on the actual demand nodes."""
    net = study.network
    fx = np.array([f["x"] for f in FACILITIES[:3]], float)
    fy = np.array([f["y"] for f in FACILITIES[:3]], float)
    rows = []
    for c in COMMUNITIES:
        x0, y0, x1, y1 = c["bounds"]
        nx_ = net.node_x - ORIGIN[0]
        ny_ = net.node_y - ORIGIN[1]
        inside = (nx_ > x0) & (nx_ < x1) & (ny_ > y0) & (ny_ < y1)
        xs, ys = nx_[inside], ny_[inside]
        d = np.min(np.abs(xs[:, None] - fx) + np.abs(ys[:, None] - fy), axis=1)
        e = np.min(np.hypot(xs[:, None] - fx, ys[:, None] - fy), axis=1)
        w = c["population"] / inside.sum()
        rows.append({"name": c["name"], "pop": c["population"], "r": w * (d <= radius + 1e-6).sum(),
                     "re": w * (e <= radius + 1e-6).sum(), "w": w * (d <= walk + 1e-6).sum()})
    return pd.DataFrame(rows).set_index("name")


def test_plan_end_to_end(toy_folder, tmp_path):
    out = tmp_path / "out"
    # 4.2 km/h: 15 minutes = 1050 m, so no node sits exactly on a threshold (grid distances are multiples of 200)
    assert main(["plan", str(toy_folder), "--out", str(out), "--quiet", "--speed-kmh", "4.2"]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    study = load_study_area(toy_folder)
    o = oracle(study, 500, 1050)
    total = o["pop"].sum()
    assert s["population"] == pytest.approx(total, abs=1e-6)
    assert s["coverage"]["radius"]["share"] == pytest.approx(o["r"].sum() / total, abs=1e-6)
    assert s["coverage"]["radius_euclidean"]["share"] == pytest.approx(o["re"].sum() / total, abs=1e-6)
    assert s["coverage"]["walk"]["share"] == pytest.approx(o["w"].sum() / total, abs=1e-6)
    assert 0 < s["coverage"]["radius"]["share"] < 1
    comms = {c["name"]: c for c in s["communities"]}
    for name, row in o.iterrows():
        assert comms[name]["radius_share"] == pytest.approx(row["r"] / row["pop"], abs=1e-6)
        assert comms[name]["walk_share"] == pytest.approx(row["w"] / row["pop"], abs=1e-6)
        assert comms[name]["population"] == pytest.approx(row["pop"], abs=1e-6)
    assert comms["乙二社区"]["subdistrict"] == "乙街道"   # no code: by largest overlap
    assert comms["甲二社区"]["subdistrict"] == "甲街道"   # by its code prefix
    subs = {x["name"]: x for x in s["subdistricts"]}
    assert {k: subs["甲街道"][k] for k in ("communities", "centres", "stations", "stations_required", "centre_rule",
                                          "station_rule")} == {"communities": 2, "centres": 1, "stations": 1,
                                                               "stations_required": 1, "centre_rule": True,
                                                               "station_rule": True}
    assert subs["乙街道"]["centres"] == 0 and subs["乙街道"]["centre_rule"] is False
    assert subs["乙街道"]["stations"] == 1 and subs["乙街道"]["station_rule"] is True
    # hospital listed but not counted
    fac = {f["name"]: f for f in s["facilities"]}
    assert fac["乌海市人民医院"]["kind"] == "hospital" and fac["乌海市人民医院"]["counted"] is False
    assert fac["甲街道社区卫生服务中心"]["kind"] == "centre"
    p = s["parameters"]
    assert p["crs"]["epsg"] == 32648 and p["radius_m"] == 500 and p["walk_m"] == pytest.approx(1050)
    assert s["network"]["excluded_ways"] == {"highway=motorway": 1}
    assert any(k["reason"] == "subdistrict_by_overlap" for k in s["skipped"])
    # the other files
    raw = (out / "compliance.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    comp = pd.read_csv(out / "compliance.csv", encoding="utf-8-sig")
    assert len(comp) == 2 and comp.columns[0].startswith("街道")
    iso = json.loads((out / "isochrones.geojson").read_text(encoding="utf-8"))
    assert len(iso["features"]) == 3 * 3
    assert sorted({f["properties"]["minutes"] for f in iso["features"]}) == [5, 10, 15]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "甲街道" in html and "乙街道" in html


def test_parameters_change_results(toy_folder, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["plan", str(toy_folder), "--out", str(a), "-q", "--radius-m", "300", "--no-report"]) == 0
    assert main(["plan", str(toy_folder), "--out", str(b), "-q", "--radius-m", "700", "--minutes", "5",
                 "--count-kinds", "centre,station,hospital", "--no-report"]) == 0
    sa = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    sb = json.loads((b / "summary.json").read_text(encoding="utf-8"))
    assert sa["coverage"]["radius"]["share"] < sb["coverage"]["radius"]["share"]
    assert sb["parameters"]["walk_m"] == pytest.approx(5 * 4000 / 60)
    assert "hospital" in sb["parameters"]["counted_kinds"]


@pytest.mark.parametrize("breakage, message", [
    ("missing_layer", "no communities layer"),
    ("no_name", "needs a 'name' column"),
    ("bad_population", "is not a number"),
    ("unknown_subdistrict", "not in the subdistricts layer"),
    ("no_population", "no population"),
])
def test_bad_input_exits_2_with_one_line(toy_folder, tmp_path, capsys, breakage, message):
    import geopandas as gpd

    comm = toy_folder / "communities.geojson"
    g = gpd.read_file(comm)
    if breakage == "missing_layer":
        comm.unlink()
    elif breakage == "no_name":
        g.drop(columns=["name"]).to_file(comm)
    elif breakage == "bad_population":
        g["population"] = g["population"].astype(str)
        g.loc[1, "population"] = "约三千"
        g.to_file(comm)
    elif breakage == "no_population":
        g.drop(columns=["population"]).to_file(comm)
    elif breakage == "unknown_subdistrict":
        g["subdistrict"] = ["甲街道", "甲街道", "丙街道", "乙街道"]
        g.to_file(comm)
    code = main(["plan", str(toy_folder), "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err

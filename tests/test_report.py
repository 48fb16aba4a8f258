"""report.html: self-contained, every layer present, figures equal to summary.json."""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup
from toycity import make_toy

from coverage.cli import main
from coverage.i18n import t
from coverage.outputs.offline import assert_offline


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    folder = make_toy(tmp_path_factory.mktemp("toy") / "toy")
    out = tmp_path_factory.mktemp("out")
    # a small radius leaves people uncovered, so the uncovered layer is drawn; --sites adds proposals
    assert main(["plan", str(folder), "--out", str(out), "-q", "--radius-m", "300", "--minutes", "5",
                 "--sites", "2"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return html, summary


def test_no_external_script_or_stylesheet(planned):
    html, _ = planned
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all("script"):
        assert not tag.get("src") or tag["src"].startswith("data:")
    for tag in soup.find_all("link"):
        assert not tag.get("href", "").startswith(("http:", "https:", "//"))
    assert assert_offline(html) == []
    assert "leaflet" in html.lower() and "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_every_layer_is_in_the_layer_control(planned):
    html, summary = planned
    # layer names sit in the layer control's JavaScript, where JSON may escape them as \uXXXX
    html = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    for key in ("layer_streets", "layer_communities", "layer_subdistricts", "layer_facilities", "layer_uncovered",
                "layer_proposals", "layer_proposal_isochrones"):
        assert t(key, "zh") in html, key
    for minutes in summary["parameters"]["isochrone_minutes"]:
        assert t("layer_isochrone", "zh", m=minutes) in html


def _cells(table) -> list[list[str]]:
    return [[c.get_text(" ", strip=True) for c in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]


def test_figures_match_summary(planned):
    html, s = planned
    soup = BeautifulSoup(html, "html.parser")
    rules = _cells(soup.find("table", class_="rules"))
    assert len(rules) == len(s["subdistricts"])
    for row, sub in zip(rules, s["subdistricts"]):
        assert row[0].startswith(sub["name"])
        assert [int(row[1]), int(row[2]), int(row[3]), int(row[4])] == \
            [sub["communities"], sub["centres"], sub["stations"], sub["stations_required"]]
        assert ("达标" in row[5] and "未达标" not in row[5]) == sub["centre_rule"]
        assert ("未达标" in row[6]) == (not sub["station_rule"])
        assert row[8] == f"{sub['radius_share']:.1%}" and row[9] == f"{sub['walk_share']:.1%}"
    comms = {r[0]: r for r in _cells(soup.find("table", class_="communities"))}
    for c in s["communities"]:
        assert comms[c["name"]][3] == f"{c['radius_share']:.1%}"
        assert comms[c["name"]][5] == f"{c['walk_share']:.1%}"
    kpis = [k.get_text(" ", strip=True) for k in soup.find_all("span", class_="kpi")]
    assert any(k.startswith(f"{s['coverage']['radius']['share']:.1%}") for k in kpis)
    assert any(k.startswith(f"{s['coverage']['walk']['share']:.1%}") for k in kpis)
    assert any(k.startswith(f"{s['after']['radius']['share']:.1%}") for k in kpis)
    props = _cells(soup.find("table", class_="proposals"))
    assert len(props) == len(s["proposals"])
    for row, p in zip(props, s["proposals"]):
        assert int(row[0]) == p["rank"]
        assert row[6] == f"{p['adds_population']:,.0f}"
    before_after = _cells(soup.find("table", class_="before-after"))
    assert before_after[0][2] == f"{s['coverage']['radius']['share']:.1%}"
    assert before_after[0][4] == f"{s['after']['radius']['share']:.1%}"


def test_title_block_names_parameters_crs_and_method(planned):
    html, s = planned
    assert s["parameters"]["crs"]["name"] in html
    assert re.search(r"300 m · 5 min @ 4 km/h", html)
    assert "方法说明" in html and "Method" in html


def test_large_networks_draw_streets_as_one_offline_image(tmp_path, monkeypatch):
    """Above the vector limit the streets become one PNG overlay that lines up with the network."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    import coverage.outputs.mapview as mapview
    from coverage.outputs.offline import to_standalone_html
    from coverage.outputs.streetimage import street_png
    from coverage.pipeline import run_plan
    from coverage.study import load_study_area

    study = load_study_area(make_toy(tmp_path / "toy"))
    uri, bounds = street_png(study.network, max_px=512)
    img = np.array(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGBA"))
    (south, west), (north, east) = bounds
    lon0, lat0, lon1, lat1 = study.network.nodes.to_crs(4326).total_bounds
    assert west <= lon0 and east >= lon1 and south <= lat0 and north >= lat1
    # the 200 m grid: 11 north-south streets, each a band of a few columns (UTM north is ~1° off
    # Web Mercator north here), each band covering (nearly) the full image height
    opaque = img[:, :, 3] > 0
    assert 0.01 < opaque.mean() < 0.2
    # two colours: the street colour at its alpha, and transparent
    assert (img[opaque] == (110, 110, 110, 170)).all() and (img[~opaque][:, 3] == 0).all()
    dense = opaque.sum(axis=0) > 15
    starts = np.flatnonzero(dense & ~np.r_[False, dense[:-1]])
    ends = np.flatnonzero(dense & ~np.r_[dense[1:], False])
    assert len(starts) == 11
    for a, b in zip(starts, ends):
        assert opaque[:, a:b + 1].any(axis=1).mean() > 0.8
    monkeypatch.setattr(mapview, "STREET_VECTOR_LIMIT", 10)
    html = to_standalone_html(mapview.plan_map(run_plan(study)))
    assert "data:image/png;base64" in html and assert_offline(html) == []


def test_isochrone_outlines_on_the_map_fit_a_vertex_budget(tmp_path, monkeypatch):
    """A city's isochrones are simplified more coarsely only when they exceed the budget, and say so."""
    import shapely

    from coverage.outputs import mapview
    from coverage.outputs.offline import to_standalone_html
    from coverage.pipeline import run_plan
    from coverage.study import load_study_area

    study = load_study_area(make_toy(tmp_path / "toy"))
    result = run_plan(study)

    def vertices(layers) -> int:
        return sum(int(shapely.get_num_coordinates(g.geometry.values).sum()) for g in layers.values())

    fine, tol = mapview.isochrone_web_layers(result.isochrones)
    assert tol == mapview.ISOCHRONE_WEB_TOLERANCES_M[0]  # a district fits the default budget at 5 m
    budget = vertices(fine) // 3
    coarse, tol = mapview.isochrone_web_layers(result.isochrones, max_vertices=budget)
    assert tol > mapview.ISOCHRONE_WEB_TOLERANCES_M[0] and vertices(coarse) <= budget
    assert list(coarse) == list(fine) == sorted(result.isochrones["minutes"].unique(), reverse=True)
    for minutes in fine:  # each coarse outline stays within its tolerance of the fine one (+ 5 m, + rounding)
        a = coarse[minutes].to_crs(study.crs).geometry.iloc[0]
        b = fine[minutes].to_crs(study.crs).geometry.iloc[0]
        assert shapely.hausdorff_distance(a, b) <= tol + 5.0 + 0.5
    monkeypatch.setattr(mapview, "ISOCHRONE_WEB_VERTICES", budget)
    html = to_standalone_html(mapview.plan_map(result))
    html = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    assert t("layer_isochrone", "zh", m=15) + t("simplified_m", "zh", m=tol) in html


def test_uncovered_people_are_binned_to_a_bounded_number_of_points():
    import geopandas as gpd
    import numpy as np
    import shapely

    from coverage.outputs.mapview import _aggregate_points

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 20_000, size=(20_000, 2)) + [600_000, 4_390_000]
    pts = gpd.GeoDataFrame({"population": rng.integers(1, 50, len(xy)).astype(float)},
                           geometry=shapely.points(xy), crs=32648)
    agg = _aggregate_points(pts, 100.0, 500)
    assert len(agg) <= 500
    assert agg["population"].sum() == pytest.approx(pts["population"].sum())
    small = pts.iloc[:300]
    assert len(_aggregate_points(small, 100.0, 500)) == 300   # few points: drawn one by one

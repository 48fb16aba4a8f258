"""The Streamlit app (app.py) with streamlit.testing.v1.AppTest, and its helpers (coverage/appstate.py).

The AppTest sessions run the real script in this process: the demo's walking
network is built once (``st.cache_resource``), so the first test pays ~15 s and
the others reuse it. Helpers are tested on a toy city built here in metres.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from toycity import lonlat, points, polygons, street_grid, write_osm

from coverage.errors import CoverageInputError, LayerReadError, UnsafeInputError
from coverage.geo.chinese_crs import wgs84_to_gcj02
from coverage.params import CoverageParams
from coverage.pipeline import run_plan
from coverage.read.safety import MAX_UPLOAD_BYTES
from coverage.webapp.state import (
    PRESETS,
    LRUStore,
    Scenario,
    before_after,
    compliance_csv_bytes,
    compliance_xlsx_bytes,
    counted_study,
    folder_source,
    in_study_area,
    layer_filename,
    load_source,
    overall_figures,
    params_key,
    rules_display,
    save_uploads,
    scenario_study,
    siting_available,
    station_at,
    summary_bytes,
    tr,
    upload_source,
    worst_communities,
)

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 180


# --------------------------------------------------------------------------
# a toy city: 200 m street grid, two subdistricts, four communities
# --------------------------------------------------------------------------

FACILITIES = [
    {"x": 0, "y": 0, "name": "甲街道社区卫生服务中心", "kind": "社区卫生服务中心"},
    {"x": 1000, "y": 1000, "name": "甲一社区卫生服务站", "kind": "社区卫生服务站"},
    {"x": 1400, "y": 600, "name": "乙一社区卫生服务站", "kind": "station"},
    {"x": 2000, "y": 0, "name": "乌海市人民医院", "kind": "医院"},
]


def write_toy(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nodes, ways = street_grid()
    write_osm(folder / "streets.osm", nodes, ways)
    polygons([{"name": "甲街道", "code": "150302901", "bounds": (-100, -100, 1100, 1100)},
              {"name": "乙街道", "code": "150302902", "bounds": (1100, -100, 2100, 1100)}]
             ).to_file(folder / "subdistricts.geojson")
    polygons([{"name": "甲一社区", "population": 1000, "bounds": (-100, -100, 500, 1100)},
              {"name": "甲二社区", "population": 1000, "bounds": (500, -100, 1100, 1100)},
              {"name": "乙一社区", "population": 3000, "bounds": (1100, -100, 1700, 1100)},
              {"name": "乙二社区", "population": 500, "bounds": (1700, -100, 2100, 1100)}]
             ).to_file(folder / "communities.geojson")
    points(FACILITIES).to_file(folder / "facilities.geojson")
    return folder


def facilities_csv(system: str = "wgs84") -> bytes:
    """The toy facilities as a lon/lat table in Chinese headers, in WGS84 or GCJ-02."""
    rows = []
    for f in FACILITIES:
        lon, lat = lonlat(f["x"], f["y"])
        if system == "gcj02":
            lon, lat = wgs84_to_gcj02(lon, lat)
        rows.append({"名称": f["name"], "类型": f["kind"], "经度": round(float(lon), 8), "纬度": round(float(lat), 8)})
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8-sig")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = write_toy(tmp_path_factory.mktemp("toy") / "toy")
    study = load_source(folder_source(folder))
    return folder, study


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------

def test_streamlit_config_matches_safety_limit():
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["headless"] is True
    assert cfg["server"]["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES


def test_every_app_string_has_both_languages():
    from coverage.webapp.strings import APP_STRINGS

    for key, pair in APP_STRINGS.items():
        assert len(pair) == 2 and all(isinstance(s, str) and s for s in pair), key
    keys = set(re.findall(r"""\btr\(\s*f?["']([a-z0-9_]+)["']""", APP.read_text(encoding="utf-8")))
    from coverage.i18n import STRINGS

    missing = sorted(k for k in keys if k not in APP_STRINGS and k not in STRINGS)
    assert not missing, f"app.py uses untranslated keys {missing}"


# --------------------------------------------------------------------------
# helpers (coverage.webapp.state)
# --------------------------------------------------------------------------

def test_layer_filename():
    assert layer_filename("streets", "乌海 路网.OSM") == "streets.osm"
    assert layer_filename("streets", "x.osm.xml") == "streets.osm.xml"
    assert layer_filename("facilities", "高德POI.xlsx") == "facilities.xlsx"
    assert layer_filename("subdistricts", "jd.zip") == "subdistricts.zip"
    with pytest.raises(LayerReadError, match="zipped together"):
        layer_filename("communities", "sq.shp")
    with pytest.raises(LayerReadError, match="cannot read a .docx"):
        layer_filename("facilities", "list.docx")
    with pytest.raises(LayerReadError, match="cannot read a .csv as the streets"):
        layer_filename("streets", "streets.csv")


def test_save_uploads_names_layers_and_declares_gcj02(toy, tmp_path):
    folder, _ = toy
    uploads = {"streets": ("my streets.osm", (folder / "streets.osm").read_bytes()),
               "subdistricts": ("街道.geojson", (folder / "subdistricts.geojson").read_bytes()),
               "communities": ("社区.geojson", (folder / "communities.geojson").read_bytes()),
               "facilities": ("高德.csv", facilities_csv("gcj02"))}
    out = save_uploads(uploads, root=tmp_path, coordinate_systems={"facilities": "gcj02"})
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        ["communities.geojson", "facilities.csv", "meta.json", "streets.osm", "subdistricts.geojson"]
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["layers"]["facilities"]["coordinate_system"] == "gcj02"
    # the same upload gives the same folder (the cache key)
    assert save_uploads(uploads, root=tmp_path, coordinate_systems={"facilities": "gcj02"}) == out
    study = load_source(upload_source(out))
    # GCJ-02 converted back: the facilities sit on their grid nodes again (within 1 m)
    fac = study.facilities.sort_values("name")
    ref = points(FACILITIES).to_crs(study.crs).set_index("name").loc[fac["name"]]
    assert np.allclose(fac.geometry.x, ref.geometry.x, atol=1.0)
    assert np.allclose(fac.geometry.y, ref.geometry.y, atol=1.0)


def test_save_uploads_fills_missing_layers_from_the_loaded_data(toy, tmp_path):
    _, study = toy
    out = save_uploads({"facilities": ("fac.csv", facilities_csv())}, root=tmp_path,
                       base_files=study.sources, base_meta={"title": "玩具城", "synthetic": True})
    assert {p.name for p in out.iterdir()} >= {"streets.osm", "subdistricts.geojson", "communities.geojson",
                                                "facilities.csv"}
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and "玩具城" in meta["title"]


def test_save_uploads_zipped_shapefile_and_refusals(toy, tmp_path):
    folder, _ = toy
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gpd.read_file(folder / "subdistricts.geojson").to_file(shp_dir / "jd.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in shp_dir.iterdir():
            zf.write(p, f"边界/{p.name}")
    base = {k: (f"{k}.geojson", (folder / f"{k}.geojson").read_bytes()) for k in ("communities", "facilities")}
    base["streets"] = ("streets.osm", (folder / "streets.osm").read_bytes())
    out = save_uploads({**base, "subdistricts": ("jd.zip", buf.getvalue())}, root=tmp_path / "up")
    assert (out / "subdistricts.shp").exists() and (out / "subdistricts.prj").exists()
    assert len(load_source(upload_source(out)).subdistricts) == 2

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.geojson", "{}")
    with pytest.raises(UnsafeInputError, match="outside the target folder"):
        save_uploads({**base, "subdistricts": ("evil.zip", evil.getvalue())}, root=tmp_path / "up")
    assert not (tmp_path / "escape.geojson").exists()
    with pytest.raises(UnsafeInputError, match="limit"):
        save_uploads(base, root=tmp_path / "up", limit=100)
    with pytest.raises(UnsafeInputError, match="DOCTYPE"):
        save_uploads({**base, "streets": ("s.osm", b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "a">]><osm/>')},
                     root=tmp_path / "up")
    with pytest.raises(LayerReadError, match="missing layer"):
        save_uploads({"facilities": base["facilities"]}, root=tmp_path / "up")


def test_folder_source_changes_with_the_files(toy, tmp_path):
    folder = write_toy(tmp_path / "copy")
    a = folder_source(folder)
    assert a == folder_source(str(folder) + "  ")
    gpd.read_file(folder / "facilities.geojson").iloc[:3].to_file(folder / "facilities.geojson")
    assert folder_source(folder) != a
    with pytest.raises(CoverageInputError, match="not found"):
        folder_source(tmp_path / "nowhere")


def test_lru_store_and_params_key():
    s = LRUStore(maxsize=2)
    calls = []
    assert s.get_or_compute("a", lambda: calls.append(1) or 1) == 1
    assert s.get_or_compute("a", lambda: calls.append(1) or 2) == 1
    s.put("b", 2)
    s.put("c", 3)
    assert "a" not in s and len(s) == 2 and calls == [1]
    assert params_key(CoverageParams(radius_m=500)) == params_key(CoverageParams(radius_m=500.0))
    assert params_key(CoverageParams(radius_m=500)) != params_key(CoverageParams(radius_m=300))


def test_station_at_converts_chinese_systems():
    lon, lat = 106.8, 39.67
    g = wgs84_to_gcj02(lon, lat)
    back = station_at(g[0], g[1], "gcj02")
    assert abs(back[0] - lon) < 1e-5 and abs(back[1] - lat) < 1e-5
    assert station_at(lon, lat) == (lon, lat)
    with pytest.raises(CoverageInputError):
        station_at(lat * 10, lon, "wgs84")


def test_scenario_adds_and_removes_stations(toy):
    _, study = toy
    base = run_plan(counted_study(study, ["centre", "station"]))
    # 乙二社区 (x 1700–2100) is beyond 500 m of every counted facility: a station at (2000, 600) covers it
    lon, lat = lonlat(2000, 600)
    assert in_study_area(study, lon, lat) and not in_study_area(study, *lonlat(5000, 5000))
    add = Scenario(added=(("新站", lon, lat),))
    after = run_plan(scenario_study(counted_study(study, ["centre", "station"]), add), demand=base.demand)
    b, a = overall_figures(base), overall_figures(after)
    assert a["radius_share"] > b["radius_share"] and a["counted_facilities"] == b["counted_facilities"] + 1
    assert after.rules.set_index("name").at["乙街道", "stations"] == 2
    table = before_after(base, after, "zh")
    assert any("→" in v for v in table["500米网络覆盖率"])
    # removing the centre breaks the centre rule of 甲街道
    counted = counted_study(study, ["centre", "station"])
    centre = counted.facilities.index[counted.facilities["kind"] == "centre"][0]
    gone = run_plan(scenario_study(counted, Scenario(removed=(centre,))), demand=base.demand)
    assert not gone.rules.set_index("name").at["甲街道", "centre_rule"]
    assert rules_display(gone, "en")["Centre"].iloc[0] == "0 fail"
    # counting hospitals adds one facility without reloading anything
    assert counted_study(study, ["centre", "station", "hospital"]).facilities["counted"].sum() == 4


def test_display_tables_and_downloads(toy):
    _, study = toy
    result = run_plan(counted_study(study, ["centre", "station"]))
    r = rules_display(result, "zh")
    assert list(r["街道/乡镇"]) == ["甲街道", "乙街道"] and set(r["全部达标"]) <= {"达标", "未达标"}
    assert r["中心"].tolist() == ["1 达标", "0 未达标"] and r["500米网络覆盖率"].iloc[0].endswith(("% 达标", "% 未达标"))
    w = worst_communities(result, "en", "radius_share")
    assert w["Community"].iloc[0] == "乙二社区"          # 0 % within 500 m
    s = json.loads(summary_bytes(result))
    assert s["population"] == pytest.approx(5500)
    csv = compliance_csv_bytes(result)
    assert csv.startswith(b"\xef\xbb\xbf") and "甲街道".encode() in csv
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(compliance_xlsx_bytes(result)))
    assert wb.sheetnames == ["达标 compliance", "社区 communities"]
    assert wb.worksheets[0].cell(2, 1).value == "甲街道"


def test_proposal_downloads(toy, tmp_path):
    if not siting_available():
        pytest.skip("coverage.siting (propose_sites) is not in this checkout yet")
    from coverage.siting.propose import propose_sites
    from coverage.webapp.state import proposals_bytes, proposals_display

    _, study = toy
    result = run_plan(counted_study(study, ["centre", "station"]))
    siting = propose_sites(result, sites=1, time_limit=10)
    assert len(siting.proposals) == 1
    gj = json.loads(proposals_bytes(siting, "geojson"))
    assert len(gj["features"]) == 1 and gj["features"][0]["geometry"]["type"] == "Point"
    assert proposals_bytes(siting, "csv").startswith(b"\xef\xbb\xbf")
    (tmp_path / "p.gpkg").write_bytes(proposals_bytes(siting, "gpkg"))
    g = gpd.read_file(tmp_path / "p.gpkg")
    assert len(g) == 1 and g.crs.to_epsg() == 4326
    assert abs(g.geometry.x.iloc[0] - gj["features"][0]["geometry"]["coordinates"][0]) < 1e-6
    table = proposals_display(siting, "en")
    assert list(table["Rank"]) == [1] and table["kind"].iloc[0] in ("station", "centre")


def test_presets_follow_gb50180():
    assert PRESETS["15"] == {"radius_m": 500.0, "minutes": 15.0, "speed_kmh": 4.0}   # the CLI defaults
    assert PRESETS["5"]["radius_m"] == 300.0 and PRESETS["10"]["minutes"] == 10.0
    assert tr("preset_15", "en").startswith("15-minute")


# --------------------------------------------------------------------------
# the app (AppTest)
# --------------------------------------------------------------------------

#: Map layers for sessions that test logic, not the map: the streets, isochrones and uncovered points make
#: each rerun ~5x slower (the browser test draws the full map).
LIGHT_LAYERS = ["subdistricts", "communities", "facilities"]


def new_app(monkeypatch, light: bool = True, uploads: Path | None = None):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("COVERAGE_APP_DATA", raising=False)
    if uploads is not None:
        monkeypatch.setenv("COVERAGE_APP_UPLOADS", str(uploads))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if light:
        at.session_state["p_layers"] = LIGHT_LAYERS
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choice(at, kind: str, name: str):
    """The choice widget whose value the app keeps in ``session_state[name]``.

    Its key is ``name@<digest of its labels>`` (``app.choice``): a new language
    makes a new widget, so exactly one with this name is on the page.
    """
    found = [w for w in getattr(at, kind) if w.key and w.key.split("@")[0] == name]
    assert len(found) == 1, (name, [w.key for w in getattr(at, kind)])
    return found[0]


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def pct(text: str) -> float:
    return float(text.rstrip("%"))


def test_demo_loads_and_parameters_update_figures(monkeypatch):
    import streamlit as st

    st.cache_resource.clear()  # counts computations from a cold start, whatever ran before in this process
    at = new_app(monkeypatch, light=False)                               # the full map, once
    assert not at.error, [e.value for e in at.error]
    before = metrics(at)
    assert len(before) == 6
    assert float(before["人口"].replace(",", "")) > 300_000
    assert 0 < pct(before["500米网络覆盖率"]) <= 100 and 0 < pct(before["15分钟步行覆盖率"]) <= 100
    tables = [d.value for d in at.dataframe]
    rules = next(t for t in tables if "全部达标" in t.columns)
    assert len(rules) >= 5 and set(rules["全部达标"]) <= {"达标", "未达标"}
    assert "凤凰岭街道" in set(rules["街道/乡镇"])
    assert all(re.fullmatch(r"\d+\.\d% (未)?达标", v) for v in rules["500米网络覆盖率"])
    assert any("社区" in t.columns for t in tables)                       # worst-served communities
    assert any("合成演示数据" in i.value for i in at.info)                 # synthetic data labelled
    assert [b.label for b in at.get("download_button")][:4] == \
        ["报告 report.html", "汇总 summary.json", "达标表 CSV", "达标表 Excel"]
    assert at.session_state["computations"] == 1

    # a parameter changes the figures
    choice(at, "multiselect", "p_layers").set_value(LIGHT_LAYERS)
    at.sidebar.number_input(key="p_radius").set_value(300.0).run()
    after = metrics(at)
    assert "300米网络覆盖率" in after and pct(after["300米网络覆盖率"]) < pct(before["500米网络覆盖率"])
    assert after["15分钟步行覆盖率"] == before["15分钟步行覆盖率"]
    assert at.session_state["p_preset"] == "custom"
    n = at.session_state["computations"]
    assert n == 2
    # language, shading share and layers are display settings: no new computation
    at.sidebar.radio(key="lang").set_value("en")
    choice(at, "radio", "p_share").set_value("radius_share")
    choice(at, "multiselect", "p_layers").set_value(["subdistricts", "communities"]).run()
    assert not at.exception
    assert at.session_state["computations"] == n
    en = metrics(at)
    assert en["Within 300 m (network)"] == after["300米网络覆盖率"]
    assert any("All rules" in d.value.columns for d in at.dataframe)
    # the 5-minute preset (GB 50180-2018) shortens the walk
    choice(at, "selectbox", "p_preset").set_value("5").run()
    five = metrics(at)
    assert pct(five["Within 5 min walk"]) < pct(en["Within 15 min walk"])
    assert at.session_state["p_radius"] == 300.0 and at.session_state["p_minutes"] == 5.0
    assert at.session_state["computations"] == n + 1
    # counting hospitals too: more counted facilities, coverage can only grow
    choice(at, "multiselect", "p_kinds").set_value(["centre", "station", "hospital"]).run()
    more = metrics(at)
    assert pct(more["Within 300 m (network)"]) >= pct(five["Within 300 m (network)"])


def test_bad_upload_shows_error_and_keeps_app_alive(monkeypatch, tmp_path):
    at = new_app(monkeypatch, uploads=tmp_path / "uploads")
    shown = metrics(at)
    choice(at, "radio", "src_mode").set_value("upload").run()
    at.sidebar.file_uploader(key="up_subdistricts").set_value(
        ("subdistricts.geojson", b"{this is not json", "application/geo+json"))
    at.sidebar.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error).replace("\\", "")      # markdown escapes
    assert "subdistricts" in errors and "无法按 .geojson 读取" in errors   # in Chinese (issue 18.5)
    assert at.session_state["source"] == ("demo",)
    assert metrics(at) == shown                                          # still showing the demo
    # a folder on the server that does not exist (single-user mode: a free path): the same
    monkeypatch.setenv("COVERAGE_APP_SINGLE_USER", "1")
    choice(at, "radio", "src_mode").set_value("folder").run()
    at.sidebar.text_input(key="folder_path").set_value(str(tmp_path / "no such folder")).run()
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert "找不到数据文件夹" in " ".join(e.value for e in at.error)
    assert metrics(at) == shown


def test_upload_toy_city_with_gcj02_facilities(monkeypatch, tmp_path):
    folder = write_toy(tmp_path / "toy")
    at = new_app(monkeypatch, uploads=tmp_path / "uploads")
    choice(at, "radio", "src_mode").set_value("upload").run()
    for layer, name in (("streets", "streets.osm"), ("subdistricts", "subdistricts.geojson"),
                        ("communities", "communities.geojson")):
        at.sidebar.file_uploader(key=f"up_{layer}").set_value((name, (folder / name).read_bytes(), "text/plain"))
    at.sidebar.file_uploader(key="up_facilities").set_value(("高德坐标.csv", facilities_csv("gcj02"), "text/csv"))
    choice(at, "selectbox", "up_cs").set_value("gcj02")
    at.sidebar.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["source"][0] == "upload"
    assert Path(at.session_state["source"][1]).parent == tmp_path / "uploads"
    m = metrics(at)
    assert m["人口"] == "5,500" and m["全部达标的街道"].endswith("/ 2")
    rules = next(d.value for d in at.dataframe if "全部达标" in d.value.columns)
    assert list(rules["街道/乡镇"]) == ["甲街道", "乙街道"]
    assert rules["中心"].iloc[1] == "0 未达标"                        # 乙街道 has no centre


def test_scenario_remove_and_add_station(monkeypatch):
    fac = gpd.read_file(ROOT / "data" / "haibowan" / "facilities.geojson")
    at = new_app(monkeypatch)
    base = metrics(at)
    # remove a counted station, then put a hypothetical one on the same spot: coverage comes back
    i = int(fac.index[fac["kind"] == "社区卫生服务站"][0])
    choice(at, "multiselect", "scenario_removed").select(i).run()
    assert not at.exception
    removed = metrics(at)
    assert pct(removed["500米网络覆盖率"]) <= pct(base["500米网络覆盖率"])
    assert any(m.label == "500米网络覆盖率" and m.delta for m in at.metric)
    assert any("→" in " ".join(map(str, d.value.iloc[:, 2])) for d in at.dataframe if "服务站 现有/应有" in d.value)
    pt = fac.geometry.iloc[i]
    at.number_input(key="coord_lon").set_value(pt.x)
    at.number_input(key="coord_lat").set_value(pt.y)
    at.text_input(key="coord_name").set_value("新站")
    at.button(key="coord_add").click().run()
    assert not at.exception
    assert [a[0] for a in at.session_state["scenario_added"]] == ["新站"]
    back = metrics(at)
    assert back["500米网络覆盖率"] == base["500米网络覆盖率"]
    assert back["15分钟步行覆盖率"] == base["15分钟步行覆盖率"]


def downloads_of(monkeypatch) -> dict:
    """``{file name: callable}`` of the app's deferred download buttons, as Streamlit registers them."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    seen: dict = {}
    add = MediaFileManager.add_deferred

    def spy(self, data, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name] = data
        return add(self, data, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return seen


def test_scenario_report_shows_baseline_scenario_and_the_removed_station(monkeypatch):
    """Issue 18.3: the report downloaded after a removal is titled a scenario and names what was removed."""
    from bs4 import BeautifulSoup

    fac = gpd.read_file(ROOT / "data" / "haibowan" / "facilities.geojson")
    seen = downloads_of(monkeypatch)
    at = new_app(monkeypatch)
    base = metrics(at)
    i = int(fac.index[fac["kind"] == "社区卫生服务站"][0])
    choice(at, "multiselect", "scenario_removed").select(i).run()
    assert not at.exception
    now = metrics(at)
    assert any("情景方案：新增 0 处、移除 1 处" in w.value for w in at.warning)     # the page says so too
    soup = BeautifulSoup(seen["report.html"](), "html.parser")   # what the download button hands out
    assert soup.find("h1").get_text().startswith("情景方案")
    assert "新增 0 处、移除 1 处" in soup.find("div", class_="scenario").get_text()
    fig = soup.find("table", class_="scenario-figures")
    assert [th.get_text(" ", strip=True) for th in fig.find_all("th")][1:] == ["现状 / Baseline", "情景 / Scenario"]
    radius = [td.get_text(strip=True) for td in fig.find("tbody").find("tr").find_all("td")]
    assert radius[1:] == [base["500米网络覆盖率"], now["500米网络覆盖率"]]
    edits = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
             for tr in soup.find("table", class_="scenario-facilities").find("tbody").find_all("tr")]
    assert len(edits) == 1 and edits[0][0].startswith("移除") and edits[0][1] == fac.at[i, "name"]
    summary = json.loads(seen["summary.json"]())
    assert [r["name"] for r in summary["scenario"]["removed"]] == [fac.at[i, "name"]]
    assert summary["scenario"]["added"] == []
    assert f'{summary["scenario"]["baseline"]["coverage"]["radius"]["share"]:.1%}' == base["500米网络覆盖率"]


def test_optimiser_proposes_and_accepts(monkeypatch):
    if not siting_available():
        pytest.skip("coverage.siting (propose_sites) is not in this checkout yet")
    at = new_app(monkeypatch)
    base = metrics(at)
    choice(at, "radio", "opt_mode").set_value("n")
    at.number_input(key="opt_n").set_value(2)
    at.number_input(key="opt_tl").set_value(10)
    at.button(key="opt_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    props = next(d.value for d in at.dataframe if "新增覆盖人口" in d.value.columns)
    assert 1 <= len(props) <= 2
    assert {b.label for b in at.get("download_button")} >= {"建议站点 GeoJSON", "建议站点 CSV", "建议站点 GeoPackage"}
    choice(at, "multiselect", "accept").set_value([1])                  # in a form: no rerun per pick
    at.button(key="opt_accept").click().run()
    assert not at.exception
    assert len(at.session_state["scenario_added"]) == 1
    after = metrics(at)
    assert pct(after["500米网络覆盖率"]) > pct(base["500米网络覆盖率"])
    # the proposals not accepted are still offered, for the new scenario
    left = [d.value for d in at.dataframe if "新增覆盖人口" in d.value.columns]
    assert len(props) == 2                                               # two asked for, two proposed
    assert len(left) == 1 and list(left[0]["序号"]) == [2]
    assert [o.split(" ")[0] for o in choice(at, "multiselect", "accept").options] == ["#2"]
    assert any("已采纳：#1" in c.value for c in at.caption)


def test_language_switch_keeps_choices_and_figures(monkeypatch):
    """Issue 18.1: choices are kept by value, so 中文 ⇄ English changes labels only (twice, both ways)."""
    at = new_app(monkeypatch)
    choice(at, "multiselect", "p_kinds").set_value(["centre", "station", "hospital"]).run()
    choice(at, "radio", "p_share").set_value("radius_share")
    choice(at, "radio", "opt_for").set_value("walk").run()
    figures = list(metrics(at).values())
    n = at.session_state["computations"]
    wanted = {("multiselect", "p_kinds"): ["centre", "station", "hospital"],
              ("multiselect", "p_layers"): LIGHT_LAYERS, ("radio", "p_share"): "radius_share",
              ("radio", "opt_for"): "walk", ("radio", "src_mode"): "demo", ("selectbox", "p_preset"): "15"}
    for lang, toggled in (("en", False), ("zh", True), ("en", True)):
        at.sidebar.radio(key="lang").set_value(lang).run()
        at.toggle(key="click_add").set_value(toggled).run()          # "the next click" after the switch
        assert not at.exception, [e.value for e in at.exception]
        for (kind, name), value in wanted.items():
            assert choice(at, kind, name).value == value, (lang, name)
            assert at.session_state[name] == value
        assert list(metrics(at).values()) == figures, lang
        assert at.session_state["computations"] == n                  # labels only: nothing recomputed
    assert "Within 500 m (network)" in metrics(at)
    tags = choice(at, "multiselect", "p_kinds")
    assert [tags.format_func(k) for k in tags.value] == ["Health centres", "Health stations", "Hospitals"]


# emoji and pictographs (✅ ❌ 🚫 ℹ️ 🏥 …): empty boxes on a machine without an emoji font
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")


def test_no_emoji_in_the_app():
    from coverage.i18n import STRINGS
    from coverage.webapp.strings import APP_STRINGS

    for path in [APP, *sorted((ROOT / "coverage" / "webapp").glob("*.py"))]:
        found = EMOJI.findall(path.read_text(encoding="utf-8"))
        assert not found, (path.name, found)
    for key, pair in {**STRINGS, **APP_STRINGS}.items():
        assert not any(EMOJI.search(s) for s in pair), key


def test_markdown_escape_and_upload_titles():
    from coverage.webapp.state import md_escape, upload_base_meta

    # one backslash before each markdown character, so "*" never turns into italics
    assert md_escape("a*b_c.csv") == "a\\*b\\_c\\.csv"
    assert md_escape("$1 :x:") == "\\$1 \\:x\\:"
    nested = {"title": "上传数据（其余图层来自 上传数据（其余图层来自 海勃湾演示））",
              "title_en": "Uploaded data (other layers from Uploaded data (other layers from Haibowan demo))",
              "synthetic": True}
    assert upload_base_meta(nested) == {"title": "海勃湾演示", "title_en": "Haibowan demo", "synthetic": True}
    assert upload_base_meta({"title": "乌海市"}) == {"title": "乌海市"} and upload_base_meta(None) is None


def test_data_notes_in_chinese(toy, tmp_path):
    from coverage.webapp.state import skipped_table

    folder = write_toy(tmp_path / "far")
    far = points(FACILITIES + [{"x": 600, "y": 5000, "name": "远处服务站", "kind": "station"}])
    far.to_file(folder / "facilities.geojson")
    result = run_plan(counted_study(load_source(folder_source(folder)), ["centre", "station"]))
    zh, en = skipped_table(result, "zh"), skipped_table(result, "en")
    row = [i for i, r in enumerate(result.skipped) if r.reason == "off_network"]
    assert len(row) == 1
    assert zh["原因"].iloc[row[0]] == tr("skip_off_network", "zh") and "远处服务站" in zh["对象"].iloc[row[0]]
    assert zh["处理"].iloc[row[0]] == "排除" and zh["图层"].iloc[row[0]] == "医疗卫生设施（facilities）"
    assert en["Reason"].iloc[row[0]] == result.skipped[row[0]].message      # English: the library's sentence


def test_add_by_coordinates_refuses_a_point_outside(monkeypatch):
    at = new_app(monkeypatch)
    shown = metrics(at)
    at.number_input(key="coord_lon").set_value(100.0)
    at.number_input(key="coord_lat").set_value(30.0)
    at.button(key="coord_add").click().run()
    assert not at.exception
    assert at.session_state["scenario_added"] == [] and metrics(at) == shown
    assert any("不在研究范围内" in e.value and "100.000000" in e.value for e in at.error)


def test_rule_set_picker_checks_the_chosen_sets_like_the_library(monkeypatch):
    """Issue 20 in the app: picking the Beijing preset adds its rules; counts equal ``run_plan``'s own."""
    from coverage.rulesets import DEFAULT_RULE_SET
    from coverage.study import load_study_area

    at = new_app(monkeypatch)
    picker = choice(at, "multiselect", "p_rule_sets")
    assert list(picker.value) == [DEFAULT_RULE_SET]
    picker.set_value([DEFAULT_RULE_SET, "beijing-2021-health"]).run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "出处" in d.value.columns)
    expected = run_plan(load_study_area(), CoverageParams(), rule_sets=[DEFAULT_RULE_SET, "beijing-2021-health"])
    rows = [(r["zh"], r["pass"], r["fail"]) for rs in expected.summary()["rule_sets"] for r in rs["rules"]]
    assert list(zip(table["规则"], table["达标"], table["未达标"], strict=True)) == rows
    assert any("急救" in name for name in table["规则"])
    # the demo has no age data: the groups section says what to add instead of inventing a 65+ figure
    assert any("65岁及以上人口" in c.value and "share" in c.value for c in at.caption)


def test_data_notes_name_the_population_source(monkeypatch):
    at = new_app(monkeypatch)
    notes = " ".join(m.value for m in at.markdown)
    assert "(buildings.geojson)" in notes          # the demo's population model draws on its buildings layer


def test_data_notes_name_files_not_server_paths(monkeypatch):
    """Issue 18: the data notes list each layer's file by name; the server's folders never show."""
    from coverage.datasets import demo_data_dir

    at = new_app(monkeypatch)
    shown = [j.value for j in at.json]
    sources = next(json.loads(v)["sources"] if isinstance(v, str) else v["sources"] for v in shown
                   if "sources" in (json.loads(v) if isinstance(v, str) else v))
    assert sources and all("/" not in str(f) and "\\" not in str(f) for f in sources.values())
    assert str(demo_data_dir()) not in json.dumps(shown, ensure_ascii=False)

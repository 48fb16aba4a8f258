"""Issue 18 items 2 and 5: the undeclared GCJ-02 warning where the headline is, and messages a Chinese
planner can read (Chinese error bodies and repair reasons, uploaded file names instead of server paths,
errors also where one has scrolled to, no leftover upload folders).

The AppTest sessions reuse :mod:`test_app`'s helpers; the expected figures come from the library.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from test_app import FACILITIES, choice, metrics, new_app, pct, write_toy

from coverage.cli import main as cli_main
from coverage.datasets import demo_data_dir
from coverage.errors import CoverageInputError, LayerReadError, MissingColumnError, UnsafeInputError
from coverage.geo.chinese_crs import wgs84_to_gcj02
from coverage.params import DEFAULT_COUNTED_KINDS, CoverageParams
from coverage.pipeline import run_plan
from coverage.skipped import Skipped
from coverage.study import load_study_area
from coverage.webapp.state import (
    UPLOAD_NAMES,
    counted_study,
    declare_coordinate_system,
    discard_upload,
    folder_source,
    load_source,
    offset_notice,
    overall_figures,
    prune_uploads,
    save_uploads,
    skipped_table,
    tr,
    upload_error,
    upload_source,
)

ROOT = Path(__file__).resolve().parents[1]


def gcj02_demo_facilities() -> bytes:
    """The demo's facilities shifted to GCJ-02 with the project's own conversion, as GeoJSON bytes."""
    fac = gpd.read_file(demo_data_dir() / "facilities.geojson").to_crs(4326)
    lon, lat = wgs84_to_gcj02(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    return fac.set_geometry(shapely.points(lon, lat), crs=4326).to_json().encode("utf-8")


def walk(node):
    """Every element under ``node``, in page order."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


# --------------------------------------------------------------------------
# item 2: undeclared GCJ-02 facilities
# --------------------------------------------------------------------------

def test_undeclared_gcj02_upload_warns_above_the_headline_and_one_click_fixes_it(monkeypatch, tmp_path):
    at = new_app(monkeypatch, uploads=tmp_path / "uploads")
    choice(at, "radio", "src_mode").set_value("upload").run()
    at.sidebar.file_uploader(key="up_facilities").set_value(("高德设施.geojson", gcj02_demo_facilities(),
                                                             "application/geo+json"))
    at.sidebar.button[0].click().run()                                   # load: only the facilities uploaded
    assert not at.exception and not at.error, [e.value for e in at.error]
    source = at.session_state["source"]
    assert source[0] == "upload" and at.session_state["up_cs"] == "wgs84"
    label = tr("radius_share", "zh", r=500.0)
    shifted = pct(metrics(at)[label])

    # the warning, with the diagnosis, comes before the headline figures; its button is there too
    order = list(walk(at.main))
    warn = [i for i, n in enumerate(order) if type(n).__name__ == "Warning" and "GCJ-02" in n.value]
    first_metric = next(i for i, n in enumerate(order) if type(n).__name__ == "Metric")
    assert len(warn) == 1 and warn[0] < first_metric
    text = order[warn[0]].value
    assert "偏移约" in text and "meta.json" not in text
    button = at.button(key="offset_fix")
    assert button.label == "按GCJ-02处理 / treat as GCJ-02"
    assert next(i for i, n in enumerate(order) if n is button or getattr(n, "key", None) == "offset_fix") \
        < first_metric

    # the figure the library gives for the same upload declared GCJ-02
    declared = load_study_area(source[1], coordinate_systems={"facilities": "gcj02"})
    kinds = sorted(k for k in DEFAULT_COUNTED_KINDS if k in set(declared.facilities["kind"]))
    expected = overall_figures(run_plan(counted_study(declared, kinds), CoverageParams()))["radius_share"]
    demo = overall_figures(run_plan(counted_study(load_study_area(), kinds), CoverageParams()))["radius_share"]
    assert abs(expected - demo) < 0.005                                  # the conversion undoes the shift
    assert shifted < expected * 100 - 10                                 # read as WGS84 it was far too low

    button.click().run()                                                 # one click
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metrics(at)[label] == f"{expected:.1%}"
    assert at.session_state["up_cs"] == "gcj02"                          # the app's own choice now says so
    assert dict(at.session_state["source"][3]) == {"facilities": "gcj02"}
    assert not [w for w in at.warning if "GCJ-02" in w.value]


def test_cli_prints_the_offset_warning_with_its_fix(tmp_path, capsys):
    path = tmp_path / "facilities_gcj02.geojson"
    path.write_bytes(gcj02_demo_facilities())
    status = cli_main(["plan", str(demo_data_dir()), "--facilities", str(path), "--out", str(tmp_path / "out"),
                       "--quiet", "--no-report"])
    assert status == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning 警告:")]
    assert len(lines) == 1
    assert "GCJ-02" in lines[0] and "--facilities-crs gcj02" in lines[0] and '"coordinate_system": "gcj02"' in lines[0]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    rec = next(s for s in summary["skipped"] if s["reason"] == "possible_coordinate_offset")
    assert rec["details"]["likely_system"] == "gcj02" and 300 < rec["details"]["shift_m"] < 700
    assert "偏移约" in rec["message_zh"]


def test_offset_notice_and_declaring_a_system():
    rec = Skipped("facilities", "possible_coordinate_offset", 5, action="listed", message="looks like GCJ-02",
                  message_zh="疑似GCJ-02", details={"likely_system": "bd09", "shift_m": 612.0, "direction_zh": "东北",
                                                   "direction_en": "north-east", "median_before_m": 80.0,
                                                   "median_after_m": 9.0})

    from types import SimpleNamespace

    result = SimpleNamespace(skipped=[rec])
    zh, en = offset_notice(result, "zh"), offset_notice(result, "en")
    assert zh["system"] == "bd09" and "东北" in zh["text"] and "612" in zh["text"] and "百度" in zh["text"]
    assert en["button"] == "treat as BD-09 / 按BD-09处理" and "north-east" in en["text"]
    assert offset_notice(SimpleNamespace(skipped=[]), "zh") is None
    up = ("upload", "/tmp/x", "abc", (("candidates", "gcj02"),))
    assert declare_coordinate_system(up, "facilities", "GCJ-02") == \
        ("upload", "/tmp/x", "abc", (("candidates", "gcj02"), ("facilities", "gcj02")))
    demo = declare_coordinate_system(("demo",), "facilities", "gcj02")
    assert demo[0] == "folder" and Path(demo[1]) == demo_data_dir().resolve() and demo[3] == (("facilities", "gcj02"),)


# --------------------------------------------------------------------------
# item 5: messages a Chinese planner can read
# --------------------------------------------------------------------------

def test_errors_have_a_chinese_text():
    e = LayerReadError("cannot read", path="a.csv", row=3, zh="无法读取")
    assert str(e) == "a.csv, row 3: cannot read" and e.text("en") == str(e)
    assert e.text("zh") == "a.csv, 第 3 行: 无法读取"
    plain = MissingColumnError("no lon column")                          # no zh given: the class says what failed
    assert plain.text("zh").startswith(MissingColumnError.title_zh) and "no lon column" in plain.text("zh")
    for cls in CoverageInputError.__subclasses__():
        assert re.search(r"[\u4e00-\u9fff]", cls.title_zh) and cls.title_zh != CoverageInputError.title_zh, cls


def test_every_recorded_reason_has_a_chinese_sentence():
    """Each ``Skipped(layer, "reason", …)`` in the library (and the OSM area reasons) has ``skip_<reason>``."""
    reasons = set()
    for path in (ROOT / "coverage").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        reasons |= set(re.findall(r"Skipped\(\s*[^,()]+,\s*\"([a-z_]+)\"", text))
        reasons |= set(re.findall(r"Skipped\(\s*\n\s*[^,()]+,\s*\"([a-z_]+)\"", text))
    from coverage.read import osmareas

    src = Path(osmareas.__file__).read_text(encoding="utf-8")
    block = re.search(r"messages = \{(.*?)\}", src, re.DOTALL).group(1)
    reasons |= set(re.findall(r"\"([a-z_]+)\":", block))
    assert {"off_network", "possible_coordinate_offset", "rule_kind_absent", "missing_nodes"} <= reasons
    untranslated = sorted(r for r in reasons if tr(f"skip_{r}", "zh", default="") == "")
    assert untranslated == []


def test_data_notes_use_the_records_chinese_message(tmp_path):
    """The offset record in the data notes: its figures in the app's words, in each language."""
    path = tmp_path / "f.geojson"
    path.write_bytes(gcj02_demo_facilities())
    result = run_plan(load_study_area(demo_data_dir(), facilities=path), CoverageParams())
    zh = skipped_table(result, "zh")
    i = next(i for i, s in enumerate(result.skipped) if s.reason == "possible_coordinate_offset")
    text_zh, text_en = zh[tr("reason", "zh")].iloc[i], skipped_table(result, "en")[tr("reason", "en")].iloc[i]
    shift = result.skipped[i].details["shift_m"]
    assert f"偏移约 {shift:.0f} 米" in text_zh and f"about {shift:.0f} m" in text_en
    assert "meta.json" not in text_zh + text_en                         # the app's own choice is the fix
    assert not re.search(r"[\u4e00-\u9fff]", text_en)


def _toy_uploads(folder: Path) -> dict:
    return {k: (f"我的{k}{Path(n).suffix}", (folder / n).read_bytes()) for k, n in
            (("streets", "streets.osm"), ("subdistricts", "subdistricts.geojson"),
             ("communities", "communities.geojson"))}


def test_upload_errors_name_the_uploaded_file_not_server_paths(tmp_path):
    folder = write_toy(tmp_path / "toy")
    root = tmp_path / "uploads"
    bad = {**_toy_uploads(folder), "facilities": ("我的设施.csv", "名称,类型\n甲,站\n".encode())}
    out = save_uploads(bad, root=root)
    assert json.loads((out / UPLOAD_NAMES).read_text(encoding="utf-8"))["facilities.csv"] == "我的设施.csv"
    source = upload_source(out)
    with pytest.raises(MissingColumnError) as info:
        load_source(source)
    assert str(out) in str(info.value)                                   # the library names the server file
    shown = upload_error(info.value, source)
    for text in (shown.text("zh"), shown.text("en")):
        assert "我的设施.csv" in text and str(tmp_path) not in text and "facilities.csv" not in text
    assert "没有 lon 列" in shown.text("zh") and "no lon column" in shown.text("en")
    # a broken zip is refused while saving: named as uploaded, the scratch folder gone
    with pytest.raises(UnsafeInputError) as info:
        save_uploads({**bad, "subdistricts": ("街道边界.zip", b"PK not really a zip")}, root=root)
    assert "街道边界.zip" in str(info.value) and str(tmp_path) not in str(info.value)
    assert "不是有效的zip压缩包" in info.value.text("zh")
    assert sorted(p.name for p in root.iterdir()) == [out.name]          # no scratch folder left behind
    assert discard_upload(source, root) and not out.exists()
    assert not discard_upload(folder_source(folder), root) and folder.exists()   # never a server folder


def _fake_upload(root: Path, name: str, n_bytes: int, age_s: float, complete: bool = True) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "streets.osm").write_bytes(b"x" * n_bytes)
    if complete:
        (d / ".complete").write_text("ok")
    stamp = time.time() - age_s
    for p in (d / ".complete", d):
        if p.exists():
            os.utime(p, (stamp, stamp))
    return d


def test_prune_uploads_caps_the_total_and_removes_stale_scratch(tmp_path):
    root = tmp_path / "uploads"
    old, mid, new = (_fake_upload(root, n, 1000, age) for n, age in (("old", 300), ("mid", 200), ("new", 100)))
    stale = _fake_upload(root, "abc_scratch", 10, 7200, complete=False)
    running = _fake_upload(root, "def_scratch", 10, 5, complete=False)   # an upload being written now
    gone = prune_uploads(root, keep=(new,), max_bytes=2500, max_folders=10)
    assert set(gone) == {old, stale}
    assert mid.exists() and new.exists() and running.exists()
    assert set(prune_uploads(root, keep=(new,), max_bytes=10**9, max_folders=1)) == {mid}
    assert new.exists()


def test_save_uploads_prunes_old_folders(tmp_path, monkeypatch):
    folder = write_toy(tmp_path / "toy")
    root = tmp_path / "uploads"
    ancient = _fake_upload(root, "ancient", 10, 10 * 86400)
    monkeypatch.setattr("coverage.webapp.state.MAX_UPLOAD_FOLDERS", 1)
    fac = gpd.GeoDataFrame({"name": [f["name"] for f in FACILITIES]}, geometry=gpd.points_from_xy(
        [f["x"] for f in FACILITIES], [f["y"] for f in FACILITIES]), crs=32648)
    buf = io.BytesIO()
    fac.to_crs(4326).to_file(buf, driver="GeoJSON")
    out = save_uploads({**_toy_uploads(folder), "facilities": ("设施.geojson", buf.getvalue())}, root=root)
    assert out.exists() and not ancient.exists()


def test_failed_upload_in_the_app_is_named_in_chinese_toasted_and_removed(monkeypatch, tmp_path):
    folder = write_toy(tmp_path / "toy")
    uploads = tmp_path / "uploads"
    at = new_app(monkeypatch, uploads=uploads)
    shown = metrics(at)
    choice(at, "radio", "src_mode").set_value("upload").run()
    at.sidebar.file_uploader(key="up_facilities").set_value(("我的设施.csv", "名称,类型\n甲,站\n".encode(),
                                                             "text/csv"))
    for layer, (name, data) in _toy_uploads(folder).items():
        at.sidebar.file_uploader(key=f"up_{layer}").set_value((name, data, "text/plain"))
    at.sidebar.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 2                                  # above the headline and beside the button
    for text in [v.replace("\\", "") for v in errors + [t.value for t in at.toast]]:   # markdown escapes
        assert "我的设施.csv" in text and str(tmp_path) not in text and "没有 lon 列" in text
    assert any("我的设施.csv" in t.value.replace("\\", "") for t in at.toast)   # seen wherever one has scrolled
    assert metrics(at) == shown and at.session_state["source"] == ("demo",)
    assert not uploads.exists() or not any(uploads.iterdir())   # the failed upload's folder is gone

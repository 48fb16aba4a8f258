"""Issue 18.6: an optional online basemap in the app — off by default, named (never keyed) in the report.

The plan map of the toy city (tests/toycity.py) is rendered as the app sends
it to the browser (:func:`prepare_for_streamlit`) and as the report writes it.
"""

from __future__ import annotations

import pytest
from toycity import make_toy

from coverage.outputs.mapview import plan_map
from coverage.outputs.offline import assert_offline, find_tile_urls, prepare_for_streamlit
from coverage.params import CoverageParams
from coverage.pipeline import run_plan
from coverage.study import load_study_area
from coverage.webapp.state import report_bytes

KEY = "0123456789abcdef0123456789abcdef"     # the shape of a Tianditu browser key (32 hex digits)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_plan(load_study_area(make_toy(tmp_path_factory.mktemp("toy") / "toy")), CoverageParams())


def app_page(result, **kwargs) -> str:
    """The map as the app renders it for st_folium."""
    return prepare_for_streamlit(plan_map(result, **kwargs)).get_root().render()


def test_no_basemap_by_default_keeps_the_map_offline(result):
    page = app_page(result)
    assert find_tile_urls(page) == [] and assert_offline(page) == []
    # "off" is today's call exactly: same page but for folium's random element ids
    assert len(app_page(result, basemap=None, tianditu_key=None)) == len(page)


def test_tile_urls_only_for_the_chosen_basemap(result):
    osm = find_tile_urls(app_page(result, basemap="osm"))
    assert osm == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    tdt = find_tile_urls(app_page(result, basemap="tianditu", tianditu_key=KEY))
    assert len(tdt) == 2 and all("tianditu.gov.cn" in u and f"tk={KEY}" in u for u in tdt)   # base + labels
    assert not any("openstreetmap" in u for u in tdt)


def test_report_names_the_basemap_but_holds_no_tiles_and_no_key(result):
    plain = report_bytes(result, "zh").decode("utf-8")
    assert "Basemap (in the app)" not in plain
    for name, label in (("tianditu", "天地图 (Tianditu)"), ("osm", "OpenStreetMap")):
        page = report_bytes(result, "zh", app_basemap=name).decode("utf-8")
        assert "底图（应用中）/ Basemap (in the app)" in page and label in page
        assert find_tile_urls(page) == [] and assert_offline(page) == []
        assert KEY not in page and "tk=" not in page


def test_app_basemap_is_off_until_chosen_and_tianditu_waits_for_a_key(monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("COVERAGE_APP_DATA", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.session_state["p_layers"] = ["subdistricts"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["p_basemap"] == "none"
    assert not [w for w in at.sidebar.text_input if w.key == "tianditu_key"]
    picker = next(w for w in at.sidebar.selectbox if w.key.startswith("p_basemap@"))
    assert picker.options[0] == "无底图（离线）"
    picker.set_value("tianditu").run()
    assert not at.exception
    assert any("天地图密钥" in w.value for w in at.sidebar.warning)              # no key yet: no basemap
    at.sidebar.text_input(key="tianditu_key").set_value(KEY).run()
    assert not at.exception and not any("天地图密钥" in w.value for w in at.sidebar.warning)
    # OSM needs no key; back to none: the key field goes, the map is the offline one again
    for name in ("osm", "none"):
        next(w for w in at.sidebar.selectbox if w.key.startswith("p_basemap@")).set_value(name).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not [w for w in at.sidebar.text_input if w.key == "tianditu_key"]

"""report.html: self-contained, every layer present, figures equal to summary.json."""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup

from coverage.cli import main
from coverage.i18n import t
from coverage.offline import assert_offline

from toycity import make_toy


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

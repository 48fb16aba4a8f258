"""Issue 18.3: a scenario's outputs say they are a scenario, and no download reveals a server path.

The toy city (tests/toycity.py) with four residents' points on grid nodes, so that every
network distance is a Manhattan distance and every figure is known by construction:

====  ==========  ==========  ===========================================================
pt    (x, y) m    population  nearest counted facility
====  ==========  ==========  ===========================================================
A     (0, 200)    100         centre (0, 0): 200 m
B     (1000, 800) 200         station 甲一 (1000, 1000): 200 m
C     (1400, 400) 300         station 乙一 (1400, 600): 200 m
D     (2000, 600) 400         station 乙一: 600 m (beyond 500 m); the hospital is not counted
====  ==========  ==========  ===========================================================

Baseline: 600 of 1000 within 500 m. A hypothetical station at (2000, 400) covers D (200 m);
removing 乙一 leaves C 1000 m from 甲一 — so adding and removing both gives 700 of 1000.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from toycity import lonlat, make_toy, points

from coverage.cli import main
from coverage.errors import ValueInputError
from coverage.outputs.files import write_outputs
from coverage.outputs.report import render_report
from coverage.pipeline import run_plan
from coverage.scenario import SCENARIO_COLUMN, Scenario
from coverage.study import load_study_area
from coverage.webapp.state import (
    compliance_csv_bytes,
    compliance_xlsx_bytes,
    proposals_bytes,
    report_bytes,
    summary_bytes,
)

RESIDENTS = [{"x": 0, "y": 200, "population": 100}, {"x": 1000, "y": 800, "population": 200},
             {"x": 1400, "y": 400, "population": 300}, {"x": 2000, "y": 600, "population": 400}]
NEW = ("新站", *lonlat(2000, 400))
GONE = "乙一社区卫生服务站"


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    folder = make_toy(tmp_path_factory.mktemp("scenario") / "toy")
    points(RESIDENTS).to_file(folder / "population.geojson")
    return folder


@pytest.fixture(scope="module")
def study(toy):
    return load_study_area(toy)


def _label(study, name: str):
    return study.facilities.index[study.facilities["name"] == name][0]


@pytest.fixture(scope="module")
def plans(study):
    base = run_plan(study, isochrone_minutes=(15,))
    both = Scenario(added=(NEW,), removed=(_label(study, GONE),))
    return base, run_plan(study, isochrone_minutes=(15,), scenario=both, baseline=base)


def share(result, key: str = "radius") -> float:
    return result.coverage.totals()[key]["share"]


def test_toy_figures_are_the_ones_built_in(plans):
    base, scen = plans
    assert base.coverage.totals()["population"] == pytest.approx(1000)
    assert share(base) == pytest.approx(0.6)          # A, B, C
    assert share(scen) == pytest.approx(0.7)          # A, B, D: C lost 乙一, D gained 新站
    assert base.scenario is None


def test_adding_a_station_covers_the_residents_beside_it(study):
    add = run_plan(study, isochrone_minutes=(15,), scenario=Scenario(added=(NEW,)))
    assert share(add) == pytest.approx(1.0)
    sc = add.summary()["scenario"]
    # the baseline is measured without the edits when no baseline plan is given
    assert sc["baseline"]["coverage"]["radius"]["share"] == pytest.approx(0.6)
    assert sc["figures"]["coverage"]["radius"]["share"] == pytest.approx(1.0)
    assert [(a["name"], a["kind"], a["subdistrict"], a["community"]) for a in sc["added"]] == \
        [("新站", "station", "乙街道", "乙二社区")]
    assert sc["added"][0]["x"] == pytest.approx(2000 + 655_000, abs=0.5) and sc["removed"] == []


def test_removing_every_counted_facility_leaves_no_one_covered(study):
    counted = tuple(study.facilities.index[study.facilities["counted"]])
    gone = run_plan(study, isochrone_minutes=(15,), scenario=Scenario(removed=counted))
    assert share(gone) == 0.0 and share(gone, "walk") == 0.0
    sc = gone.summary()["scenario"]
    assert sorted(r["name"] for r in sc["removed"]) == sorted(study.facilities.loc[list(counted), "name"])
    assert sc["baseline"]["coverage"]["radius"]["share"] == pytest.approx(0.6)
    assert sc["figures"]["subdistricts_passing"] == 0


def test_unknown_removal_is_refused(study):
    with pytest.raises(ValueInputError, match="scenario removed: no facility with index 'nope'"):
        run_plan(study, scenario=Scenario(removed=("nope",)))
    with pytest.raises(ValueInputError, match="scenario must be a coverage.scenario.Scenario, got dict"):
        run_plan(study, scenario={"added": [], "removed": []})


def test_summary_records_the_scenario(plans):
    base, scen = plans
    s = scen.summary()
    sc = s["scenario"]
    assert [a["name"] for a in sc["added"]] == ["新站"] and [r["name"] for r in sc["removed"]] == [GONE]
    assert sc["removed"][0]["lon"] == pytest.approx(lonlat(1400, 600)[0], abs=1e-6)
    assert (sc["label_zh"], sc["label_en"]) == ("新增 1 处、移除 1 处", "1 added, 1 removed")
    assert sc["baseline"]["coverage"]["radius"]["population"] == pytest.approx(600)
    assert sc["baseline"]["subdistricts_passing"] == int(base.rules["passes"].sum())
    # hypothetical stations are marked; the removed one is no facility of the scenario
    marks = {f["name"]: f["scenario"] for f in s["facilities"]}
    assert marks["新站"] == "added" and marks["甲一社区卫生服务站"] is None and GONE not in marks
    # without a scenario: no key, no mark
    plain = base.summary()
    assert "scenario" not in plain and all("scenario" not in f for f in plain["facilities"])
    assert SCENARIO_COLUMN not in base.study.facilities.columns


def _cells(table) -> list[list[str]]:
    return [[c.get_text(" ", strip=True) for c in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]


def test_report_names_baseline_scenario_and_the_edits(plans):
    base, scen = plans
    soup = BeautifulSoup(render_report(scen), "html.parser")
    assert soup.find("h1").get_text().startswith("情景方案：")
    assert soup.find("title").get_text().startswith("情景方案 / Scenario")
    banner = soup.find("div", class_="scenario").get_text(" ")
    assert "新增 1 处、移除 1 处" in banner and "1 added, 1 removed" in banner
    fig = soup.find("table", class_="scenario-figures")
    heads = [th.get_text(" ", strip=True) for th in fig.find_all("th")]
    assert heads == ["", "现状 / Baseline", "情景 / Scenario"]          # no siting: no third column
    first = _cells(fig)[0]
    assert first[1:] == ["60.0%", "70.0%"]
    edits = _cells(soup.find("table", class_="scenario-facilities"))
    assert [(r[0], r[1]) for r in edits] == [("新增（假设） Added (hypothetical)", "新站"),
                                             ("移除 Removed", GONE)]
    # the map: a layer of its own, and the hypothetical station is not drawn as an ordinary facility
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), render_report(scen))
    assert "情景：新增/移除的设施" in page
    plain = BeautifulSoup(render_report(base), "html.parser")
    assert plain.find("table", class_="scenario-figures") is None and not plain.find("div", class_="scenario")
    assert not plain.find("h1").get_text().startswith("情景")


def test_after_proposals_is_the_third_column(study, plans):
    base, _ = plans
    scen = run_plan(study, isochrone_minutes=(15,), scenario=Scenario(removed=(_label(study, GONE),)),
                    baseline=base, siting={"sites": 1, "time_limit": 10})
    s = scen.summary()
    fig = BeautifulSoup(render_report(scen, s), "html.parser").find("table", class_="scenario-figures")
    heads = [th.get_text(" ", strip=True) for th in fig.find_all("th")]
    assert heads == ["", "现状 / Baseline", "情景 / Scenario", "加建议站点后 / After proposals"]
    row = _cells(fig)[0]
    assert row[1] == "60.0%" and row[2] == f'{s["coverage"]["radius"]["share"]:.1%}'
    assert row[3] == f'{s["after"]["radius"]["share"]:.1%}'
    assert s["after"]["radius"]["share"] >= s["coverage"]["radius"]["share"]


def test_map_draws_the_edits_in_their_own_layer(plans):
    from coverage.outputs.mapview import SCENARIO_ADDED_COLOUR, SCENARIO_REMOVED_COLOUR, plan_map

    _, scen = plans
    m = plan_map(scen, show=("facilities",))
    groups = {c.layer_name: c for c in m._children.values() if hasattr(c, "layer_name")}
    layer = groups["情景：新增/移除的设施"]
    markers = [c for c in layer._children.values() if type(c).__name__ == "CircleMarker"]
    colours = sorted(mk.options["color"] for mk in markers)
    assert colours == sorted([SCENARIO_ADDED_COLOUR, SCENARIO_REMOVED_COLOUR])
    # the ordinary facilities layer holds the real ones still in the scenario (4 − 1 removed)
    fac = [c for c in groups["医疗卫生设施"]._children.values() if type(c).__name__ == "CircleMarker"]
    assert len(fac) == 3


def test_csv_and_workbook_say_scenario(plans):
    base, scen = plans
    csv = compliance_csv_bytes(scen).decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("方案 / plan,") and "Scenario: 1 added, 1 removed" in csv
    assert not compliance_csv_bytes(base).decode("utf-8-sig").startswith("方案")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(compliance_xlsx_bytes(scen)))
    assert wb.sheetnames[-1] == "情景 scenario"
    names = [wb["情景 scenario"].cell(r, 2).value for r in (2, 3)]
    assert names == ["新站", GONE]
    assert load_workbook(io.BytesIO(compliance_xlsx_bytes(base))).sheetnames == ["达标 compliance",
                                                                                 "社区 communities"]


# --------------------------------------------------------------------------
# no server path in any download
# --------------------------------------------------------------------------

def _texts(name: str, data: bytes) -> list[str]:
    """The text of a download, and of each member when it is a zip (xlsx)."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    return [data.decode("utf-8", "replace")]


def _leaks(files: dict[str, bytes], folder: Path) -> list[str]:
    needles = {str(folder.parent), folder.parent.as_posix()}  # the tmp folder holding the data folder
    return sorted({name for name, data in files.items() for text in _texts(name, data) for n in needles
                   if n in text or n.encode() in data})


def test_cli_outputs_name_no_server_folder(toy, tmp_path):
    out = tmp_path / "out"
    assert main(["plan", str(toy), "--out", str(out), "-q", "--sites", "1"]) == 0
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _leaks({"probe": str(toy / "facilities.geojson").encode()}, toy) == ["probe"]   # the scan finds paths
    assert {"summary.json", "report.html", "compliance.csv", "proposals.csv"} <= set(files)
    assert _leaks(files, toy) == []
    s = json.loads(files["summary.json"])
    assert s["dataset"]["files"]["facilities"] == "facilities.geojson"


def test_scenario_files_and_app_downloads_name_no_server_folder(toy, study, plans, tmp_path):
    from coverage.siting.propose import propose_sites

    _, scen = plans
    written = write_outputs(scen, tmp_path / "scen")
    assert "scenario.csv" in written
    files = {name: Path(p).read_bytes() for name, p in written.items()}
    siting = propose_sites(scen, sites=1, time_limit=10)
    files |= {"app report.html": report_bytes(scen), "app summary.json": summary_bytes(scen),
              "app compliance.csv": compliance_csv_bytes(scen), "app compliance.xlsx": compliance_xlsx_bytes(scen)}
    files |= {f"app proposals.{fmt}": proposals_bytes(siting, fmt) for fmt in ("geojson", "csv", "gpkg")}
    assert _leaks(files, toy) == []
    assert json.loads(files["app summary.json"])["scenario"]["removed"][0]["name"] == GONE

"""``--age-table FILE`` (issue 21): the 65+ figures of summary.json on the toy city equal those known by construction.

The toy city's streets are a complete 200 m grid with every counted facility on a node, so each
home's walk is its Manhattan distance to the nearest facility; each community's 65+ residents are
its table count spread evenly over its homes.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
import toycity

from coverage.cli import _plan_result, build_parser, main
from coverage.demand import build_demand
from coverage.read.agetable import read_age_table
from coverage.study import load_study_area

#: 65+ head counts of the table; 乙二社区 has no code and is named, 乙一社区 is left out (age unknown).
TABLE = pd.DataFrame({"社区代码": ["150302901001", "150302901002", None],
                      "社区名称": ["甲一社区", "甲二社区", "乙二社区"],
                      "65岁及以上人口": [150, 300, 100]})
OLDER = {"甲一社区": 150, "甲二社区": 300, "乙二社区": 100}
COUNTED = [(f["x"], f["y"]) for f in toycity.FACILITIES if f["kind"] != "医院"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return toycity.make_toy(tmp_path_factory.mktemp("agetable") / "toy")


def _expected(folder) -> dict:
    """Group figures from the construction: Manhattan walks on the grid, counts spread over each community.

    Thresholds avoid multiples of the 200 m block (homes sit on nodes: a tie would be decided by rounding).
    """
    pts = build_demand(load_study_area(folder)).points
    xy = shapely.get_coordinates(pts.geometry.values) - np.array(toycity.ORIGIN)
    d = np.min([np.abs(xy[:, 0] - fx) + np.abs(xy[:, 1] - fy) for fx, fy in COUNTED], axis=0)
    declared = {c["name"]: c["population"] for c in toycity.COMMUNITIES}
    older = pts["population"].to_numpy() * pts["community"].map(
        lambda n: OLDER[n] / declared[n] if n in OLDER else 0.0).to_numpy(float)
    pop = pts["population"].to_numpy(float)
    comm = pts["community"].to_numpy()
    per = {n: older[(comm == n) & (d <= 700)].sum() / OLDER[n] for n in OLDER}
    return {"per_community_elderly_walk": per, "older": sum(OLDER.values()), "radius_500": older[d <= 500].sum(), "walk_933": older[d <= 14 / 60 * 4000].sum(),
            "elderly_walk_700": older[d <= 700].sum(), "unknown": pop[(pts["community"] == "乙一社区").to_numpy()].sum()}


def _groups(out) -> dict:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {g["group"]: g for g in summary["groups"]}


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_cli_age_table_gives_the_known_65plus_figures(toy, tmp_path, capsys, suffix):
    path = tmp_path / f"age.{suffix}"
    TABLE.to_csv(path, index=False) if suffix == "csv" else TABLE.to_excel(path, index=False)
    out = tmp_path / "out"
    code = main(["plan", str(toy), "--out", str(out), "-q", "--no-report", "--isochrone-minutes", "15",
                 "--minutes", "14", "--age-table", str(path)])
    assert code == 0, capsys.readouterr().err
    g, want = _groups(out), _expected(toy)
    old = g["65+"]
    assert old["available"] is True and old["age_source"] == "table" and old["age_column"] == "65岁及以上人口"
    assert old["population"] == pytest.approx(want["older"], abs=1e-5)
    assert old["radius_population"] == pytest.approx(want["radius_500"], abs=1e-5)
    assert old["walk_population"] == pytest.approx(want["walk_933"], abs=1e-5)  # 14 min at 4 km/h: 933 m
    assert old["profile_walk_population"] == pytest.approx(want["elderly_walk_700"], abs=1e-5)  # at 3 km/h: 700 m
    assert g["age unknown"]["population"] == pytest.approx(want["unknown"], abs=1e-5)
    assert old["unmatched_table_rows"] == [] and old["age_file"] == path.name
    by_comm = {c["name"]: c for c in old["communities"]}
    assert set(by_comm) == set(OLDER)  # 乙一社区 has no age data: no invented row
    for name, n in OLDER.items():
        assert by_comm[name]["population"] == pytest.approx(n, abs=1e-5)
        assert by_comm[name]["profile_walk_share"] == pytest.approx(want["per_community_elderly_walk"][name], abs=1e-5)


def test_share_table_equals_count_table(toy, tmp_path):
    declared = {c["name"]: c["population"] for c in toycity.COMMUNITIES}
    shares = TABLE.drop(columns="65岁及以上人口").assign(
        share_65plus=[OLDER[n] / declared[n] for n in TABLE["社区名称"]])
    shares.to_csv(tmp_path / "share.csv", index=False)
    table = read_age_table(tmp_path / "share.csv")
    assert list(table.index) == [2, 3, 4] and table.attrs["path"].endswith("share.csv")
    assert main(["plan", str(toy), "--out", str(tmp_path / "o"), "-q", "--no-report", "--isochrone-minutes", "15",
                 "--minutes", "14", "--age-table", str(tmp_path / "share.csv")]) == 0
    old = _groups(tmp_path / "o")["65+"]
    assert old["age_kind"] == "share"
    assert old["profile_walk_population"] == pytest.approx(_expected(toy)["elderly_walk_700"], abs=1e-5)


def test_batch_task_lists_rows_of_other_regions(toy, tmp_path):
    """In a batch one city-wide table serves every region: rows of other regions are listed, not refused."""
    TABLE.assign(社区代码=[*TABLE["社区代码"][:2], "150302999001"], 社区名称=[*TABLE["社区名称"][:2], "别区社区"]
                 ).to_csv(tmp_path / "city.csv", index=False)
    args = build_parser().parse_args(["batch", str(toy), "--out", str(tmp_path / "b"), "--isochrone-minutes", "15",
                                      "--age-table", str(tmp_path / "city.csv")])
    groups = {g["group"]: g for g in _plan_result(args, toy).summary()["groups"]}
    assert groups["65+"]["population"] == pytest.approx(150 + 300)
    assert groups["65+"]["unmatched_table_rows"] == ["150302999001"]
    code = main(["plan", str(toy), "--out", str(tmp_path / "p"), "-q", "--age-table", str(tmp_path / "city.csv")])
    assert code == 2  # a single plan refuses the row (tests/test_bad_input.py checks the message)


def test_cli_prints_the_65plus_headline(toy, tmp_path, capsys):
    TABLE.to_csv(tmp_path / "age.csv", index=False)
    assert main(["plan", str(toy), "--out", str(tmp_path / "o"), "--no-report", "--isochrone-minutes", "15",
                 "--minutes", "14", "--age-table", str(tmp_path / "age.csv")]) == 0
    old = _groups(tmp_path / "o")["65+"]
    out = capsys.readouterr().out
    assert old["headline_en"] in out and old["headline_zh"] in out
    assert f"{old['profile_walk_share']:.1%}" in old["headline_en"]

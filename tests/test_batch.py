"""``python -m coverage batch`` on a Dask LocalCluster of 2 worker processes.

Four small toy regions (tests/toycity.py), one with a broken facilities file. The known answers
are the same regions planned one by one with ``plan``: every ok row of ``batch.csv`` must equal
that run's ``summary.json`` figures, and the error row must carry the line ``plan`` prints.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from toycity import COMMUNITIES, FACILITIES, make_toy

distributed = pytest.importorskip("distributed")

from coverage.batch import BATCH_COLUMNS, run_batch
from coverage.cli import _plan_result, build_parser, main
from coverage.outputs.offline import assert_offline

OK = ("alpha", "beta", "gamma")


@pytest.fixture(scope="module")
def regions(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("regions")
    bigger = [{**c, "population": c["population"] * 3} for c in COMMUNITIES]
    folders = [make_toy(root / "alpha"), make_toy(root / "beta", facilities=FACILITIES[:2], motorway=True),
               make_toy(root / "gamma", communities=bigger, facilities=FACILITIES[1:])]
    broken = make_toy(root / "broken")
    (broken / "facilities.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    return [*folders, broken]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def batch_out(regions, cluster, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batch")
    argv = ["batch", *map(str, regions), "--out", str(out), "--scheduler", cluster.scheduler_address, "-q"]
    assert main(argv) == 0
    return out


def read_rows(out: Path) -> pd.DataFrame:
    rows = pd.read_csv(out / "batch.csv", encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    return rows.set_index("region")


def test_rows_equal_separate_plan_runs(regions, batch_out, tmp_path, capsys) -> None:
    rows = read_rows(batch_out)
    assert list(rows.reset_index().columns[: len(BATCH_COLUMNS)]) == list(BATCH_COLUMNS)
    assert sorted(rows.index) == sorted(p.name for p in regions)
    for folder in regions[:3]:
        assert main(["plan", str(folder), "--out", str(tmp_path / folder.name), "-q"]) == 0
        s = json.loads((tmp_path / folder.name / "summary.json").read_text(encoding="utf-8"))
        r = rows.loc[folder.name]
        assert r["status"] == "ok" and pd.isna(r["error"])
        assert r["population"] == pytest.approx(s["population"])
        assert r["radius_share"] == pytest.approx(s["coverage"]["radius"]["share"])
        assert r["walk_share"] == pytest.approx(s["coverage"]["walk"]["share"])
        assert r["subdistricts"] == len(s["subdistricts"])
        assert r["subdistricts_passing"] == sum(x["passes"] for x in s["subdistricts"])
        assert pd.isna(r["proposals"]) and "proposals" not in s  # no --sites: blank, not 0
        assert (batch_out / folder.name / "report.html").is_file()
        # the batch wrote the same summary as the plan run (up to the run date)
        b = json.loads((batch_out / folder.name / "summary.json").read_text(encoding="utf-8"))
        assert {**b, "generated": None} == {**s, "generated": None}
    # the three regions differ, so equal rows are not an accident
    assert rows.loc[list(OK), "population"].nunique() == 2 and rows.loc[list(OK), "radius_share"].nunique() == 3
    capsys.readouterr()
    assert main(["plan", str(regions[3]), "--out", str(tmp_path / "broken"), "-q"]) == 2
    printed = capsys.readouterr().err.strip()
    bad = rows.loc["broken"]
    assert bad["status"] == "error" and printed == f"error 错误: {bad['error']}"
    assert "facilities.geojson" in bad["error"] and pd.isna(bad["population"])


def test_overview_map_links_every_ok_region_offline(batch_out) -> None:
    page = (batch_out / "index.html").read_text(encoding="utf-8")
    assert assert_offline(page) == []
    for name in OK:
        assert f'{name}/report.html' in page
    assert "broken/report.html" not in page and "broken" in page  # listed in the table, no outline or link
    assert page.count('"type": "Polygon"') + page.count('"type": "MultiPolygon"') >= 3


def test_resume_reruns_nothing_then_only_the_changed_region(regions, batch_out, cluster) -> None:
    before = {n: (batch_out / n / "summary.json").stat().st_mtime_ns for n in OK}
    argv = ["batch", *map(str, regions), "--out", str(batch_out), "--scheduler", cluster.scheduler_address,
            "--resume", "-q"]
    assert main(argv) == 0
    rows = read_rows(batch_out)
    assert rows["resumed"].all() and rows.loc["broken", "status"] == "error"
    assert {n: (batch_out / n / "summary.json").stat().st_mtime_ns for n in OK} == before
    # a changed input file changes the hash: that region alone runs again
    meta = regions[1] / "meta.json"
    meta.write_text(json.dumps({"title": "beta 区"}, ensure_ascii=False), encoding="utf-8")
    try:
        assert main(argv) == 0
    finally:
        meta.unlink()
    rows = read_rows(batch_out)
    assert not rows.loc["beta", "resumed"] and rows.drop("beta")["resumed"].all()
    assert (batch_out / "beta" / "summary.json").stat().st_mtime_ns != before["beta"]


def slow_plan(args, delay: float, folder: Path):
    """The real plan, started ``delay`` seconds late so that a worker can be killed while it holds a region."""
    time.sleep(delay)
    return _plan_result(args, folder)


def test_killed_worker_is_rescheduled_and_nothing_counted_twice(regions, batch_out, cluster, tmp_path) -> None:
    out = tmp_path / "out"
    args = build_parser().parse_args(["batch", *map(str, regions), "--out", str(out)])
    build = functools.partial(slow_plan, args, 2.0)
    client = distributed.Client(cluster)
    pids = client.run(os.getpid)
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(report=run_batch(
        regions, out, build, options={}, scheduler=cluster.scheduler_address, quiet=True)))
    thread.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            names = [k.split("-")[1] for k in keys if str(k).startswith("region-")]
            # the task has started on that worker once its temporary folder exists
            started = [n for n in names if out.exists() and any(out.glob(f".tmp-{n}-*"))]
            if started and worker in pids:
                os.kill(pids[worker], signal.SIGKILL)
                killed = started[0]
                break
        time.sleep(0.05)
    thread.join(timeout=120)
    client.wait_for_workers(2, timeout=60)  # the nanny's restart may lag on a loaded machine
    alive = set(client.run(os.getpid).values())
    client.close()
    assert killed is not None and not thread.is_alive()
    assert len(alive) == 2 and len(set(pids.values()) - alive) == 1  # the killed one was restarted by its nanny
    report = done["report"]
    assert report.partial_removed >= 1  # the killed attempt's folder, never published
    rows = read_rows(out)
    assert sorted(rows.index) == sorted(p.name for p in regions) and rows.index.is_unique
    assert list(rows.index[rows["status"] == "ok"]) == list(OK)
    want = read_rows(batch_out)
    cols = ["population", "radius_share", "walk_share", "subdistricts", "subdistricts_passing"]
    pd.testing.assert_frame_equal(rows.loc[list(OK), cols], want.loc[list(OK), cols])
    assert sorted(p.name for p in out.iterdir()) == sorted([*(p.name for p in regions), "batch.csv", "index.html"])
    for name in OK:
        assert json.loads((out / name / "batch.json").read_text(encoding="utf-8"))["row"]["status"] == "ok"

"""Issue 18.7: ten planners at once, each with their own scenario, see their own figures.

Two runs of the same check — ten sessions on the demo, each adding a different
hypothetical station by coordinates; every session's six headline figures must
equal those of a single-session library run (:func:`coverage.pipeline.run_plan`
on the same scenario), so no session sees another's scenario or cached result:

- ten streamlit AppTest sessions in this process, sharing the app's
  ``st.cache_resource`` caches as sessions of one server do, their steps
  interleaved (quick; AppTest cannot run in threads);
- one real ``streamlit run app.py`` server and ten Playwright browser contexts
  on /usr/bin/chromium (``browser`` and ``slow``: 100 s on the shared 2-core
  machine at load average 14, less on an idle one), which also checks the server's peak memory against
  :data:`PEAK_RSS_CAP_MB` (the cap stated in the README).

The stations sit on uncovered residents at least 600 m apart
(``benchmarks/bench_app_sessions.py:demo_stations``), so each scenario differs.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from coverage.params import DEFAULT_COUNTED_KINDS, CoverageParams
from coverage.pipeline import run_plan
from coverage.rulesets import DEFAULT_RULE_SET
from coverage.study import load_study_area
from coverage.webapp.state import Scenario, counted_study, overall_figures, scenario_study

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_app_sessions import demo_stations, peak_rss_mb, run_sessions, start_server, stop_server

SESSIONS = 10
#: Peak resident memory of the app server with ten demo sessions (measured 0.7–0.8 GB): bounded by the caches'
#: limits (``cached_study`` max_entries=4, ``result_store`` 32 entries).
PEAK_RSS_CAP_MB = 1500


def headline(f: dict) -> list[str]:
    """The six headline values as the app formats them (app.headline)."""
    return [f"{f['population']:,.0f}", f"{f['radius_share']:.1%}", f"{f['radius_euclidean_share']:.1%}",
            f"{f['walk_share']:.1%}", f"{f['passing']} / {f['subdistricts']}", f"{f['uncovered_walk']:,.0f}"]


@pytest.fixture(scope="module")
def expected():
    """Stations and, for each, the figures of a single-session library run of its scenario."""
    stations = demo_stations(SESSIONS)
    study = counted_study(load_study_area(), DEFAULT_COUNTED_KINDS)
    figures = []
    for n, (lon, lat) in enumerate(stations, 1):
        s = scenario_study(study, Scenario(((f"站点{n}", lon, lat),)))
        figures.append(headline(overall_figures(run_plan(s, CoverageParams(), rule_sets=(DEFAULT_RULE_SET,)))))
    assert len({tuple(f) for f in figures}) >= SESSIONS // 2, figures     # the scenarios really differ
    return stations, figures


def test_ten_interleaved_apptest_sessions_see_their_own_scenario(monkeypatch, expected):
    """Ten AppTest sessions sharing this process's caches, their steps interleaved: each adds its station,
    and only then are the figures read, so a scenario or result leaking between sessions would show.

    Interleaved, not threaded: AppTest installs one process-global mock Runtime per run, so AppTests in
    threads break each other ("Runtime hasn't been created!"); true concurrency is the browser test's.
    """
    from streamlit.testing.v1 import AppTest

    stations, figures = expected
    monkeypatch.delenv("COVERAGE_APP_DATA", raising=False)
    sessions = []
    for _ in range(SESSIONS):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
        at.session_state["p_layers"] = ["subdistricts"]
        sessions.append(at.run())
    base = [m.value for m in sessions[0].metric]
    for i, at in enumerate(sessions):
        at.number_input(key="coord_lon").set_value(stations[i][0])
        at.number_input(key="coord_lat").set_value(stations[i][1])
        at.button(key="coord_add").click().run()
    for i, at in enumerate(sessions):
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.session_state["scenario_added"]) == 1
        assert [m.value for m in at.metric] == figures[i], i
    # a new session after all of them starts from the plain demo
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    fresh.session_state["p_layers"] = ["subdistricts"]
    assert [m.value for m in fresh.run().metric] == base and fresh.session_state["scenario_added"] == []


@pytest.mark.browser
@pytest.mark.slow
def test_ten_browser_sessions_on_one_server(expected, tmp_path):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium not installed")
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    stations, figures = expected
    proc, url = start_server(tmp_path / "server.log")
    try:
        results = asyncio.run(run_sessions(url, stations))
        peak = peak_rss_mb(proc.pid)
    finally:
        stop_server(proc)
    for i, r in enumerate(results):
        assert r["figures"] == figures[i], (i, r["figures"], figures[i])
    assert peak < PEAK_RSS_CAP_MB, peak

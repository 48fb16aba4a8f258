"""Ten planners at once on one app server: time to the first map and the server's peak memory.

Starts one ``streamlit run app.py`` (the demo data), opens N browser contexts of
Debian's headless Chromium at the same time (Playwright's async API, one
browser), and in each session adds a different hypothetical station by
coordinates ("按坐标添加"). Prints a markdown table: time to the first drawn map
of the first and the last session to get one, the time until every session
shows its scenario figures, the server's CPU time and its peak RSS (``VmHWM``
of ``/proc/<pid>/status``).

The same driver is used by ``tests/test_app_sessions.py``, which also checks
each session's figures against a single-session library run.

Usage::

    python benchmarks/bench_app_sessions.py            # --sessions 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
#: Map layers of each session: the default (all) ones, as a planner opens the app.
READY_TEXT = "各街道/乡镇达标情况"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free local port; returns the process and its URL once healthy."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k != "COVERAGE_APP_DATA"} | (env or {})
    with open(log, "wb") as out:  # the child writes through its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=environ)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_server(proc)
            raise RuntimeError(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process so far (Linux ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def demo_stations(n: int) -> list[tuple[float, float]]:
    """``n`` WGS84 points (6 decimals) on uncovered residents of the demo, at least 600 m apart, most people first.

    Each is where a new station changes the figures, so every session's scenario differs.
    """
    from coverage.params import DEFAULT_COUNTED_KINDS, CoverageParams
    from coverage.pipeline import run_plan
    from coverage.study import load_study_area
    from coverage.webapp.state import counted_study

    study = counted_study(load_study_area(), DEFAULT_COUNTED_KINDS)
    d = run_plan(study, CoverageParams()).coverage.demand
    d = d[~d["covered_radius"]].sort_values("population", ascending=False)
    chosen: list = []
    for geom in d.geometry:
        if all(geom.distance(g) >= 600 for g in chosen):
            chosen.append(geom)
        if len(chosen) == n:
            break
    import geopandas as gpd

    ll = gpd.GeoSeries(chosen, crs=d.crs).to_crs(4326)
    return [(round(float(p.x), 6), round(float(p.y), 6)) for p in ll]


async def _wait_idle(page, timeout: int = 120_000) -> None:
    from playwright.async_api import expect

    await page.wait_for_timeout(400)
    await expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=timeout)
    await expect(page.locator("[data-testid='stale-element-container'], [data-stale='true']")).to_have_count(
        0, timeout=timeout)


async def session(browser, url: str, station: tuple[float, float] | None) -> dict:
    """One planner: open the app, wait for the drawn map, add ``station`` by coordinates, read the figures."""
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    await context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL) else r.abort())
    page = await context.new_page()
    t0 = time.perf_counter()
    await page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    frame = page.frame_locator("iframe[title*='st_folium']").first
    await frame.locator("path.leaflet-interactive").first.wait_for(timeout=180_000)
    first_map = time.perf_counter() - t0
    await page.get_by_text(READY_TEXT).wait_for(timeout=180_000)
    await _wait_idle(page)
    figures = None
    if station is not None:
        await page.get_by_text("按坐标添加", exact=True).click()
        for label, value in (("经度", station[0]), ("纬度", station[1])):
            await page.get_by_label(label, exact=True).fill(f"{value:.6f}")
        # the click commits both numbers and presses the button: one rerun with the station
        await page.get_by_role("button", name="添加", exact=True).click()
        await page.locator("[data-testid='stMetricDelta']").first.wait_for(timeout=180_000)
        await _wait_idle(page)
    figures = await page.locator("[data-testid='stMetricValue']").all_inner_texts()
    done = time.perf_counter() - t0
    await context.close()
    return {"first_map_s": first_map, "done_s": done, "figures": [f.strip() for f in figures]}


async def run_sessions(url: str, stations: list, chromium: str = CHROMIUM) -> list[dict]:
    """All sessions at once in one browser; results in the order of ``stations``."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            return list(await asyncio.gather(*(session(browser, url, s) for s in stations)))
        finally:
            await browser.close()


def table(results: list[dict], peak_mb: float, server_cpu_s: float) -> str:
    """The markdown table: first map of the first and the last session, all done, server CPU and peak RSS."""
    firsts = sorted(r["first_map_s"] for r in results)
    head = "| sessions | first map, 1st session (s) | first map, last session (s) | all scenarios shown (s) |"
    done = max(r["done_s"] for r in results)
    rows = [head + " server CPU (s) | server peak RSS (MB) |", "| ---: | ---: | ---: | ---: | ---: | ---: |",
            (f"| {len(results)} | {firsts[0]:.1f} | {firsts[-1]:.1f} | {done:.1f} | {server_cpu_s:.0f} "
            f"| {peak_mb:.0f} |")]
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    stations = demo_stations(args.sessions)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_app_sessions.log"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    proc, url = start_server(log)
    try:
        results = asyncio.run(run_sessions(url, stations))
        peak, cpu = peak_rss_mb(proc.pid), cpu_seconds(proc.pid)
    finally:
        stop_server(proc)
    print(f"load average before the run: {load}")
    print(table(results, peak, cpu))


if __name__ == "__main__":
    main()

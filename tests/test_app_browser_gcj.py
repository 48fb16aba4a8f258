"""Issue 18.2 in a real browser: an undeclared GCJ-02 facility upload warns above the headline, and one click
on "按GCJ-02处理 / treat as GCJ-02" restores the figure the library gives for the layer declared GCJ-02.

Uses :mod:`test_app_browser`'s server (its own instance for this module), Chromium and helpers.
"""

from __future__ import annotations

import pytest
from test_app_browser import SHOTS, launch, open_app, server, wait_idle  # noqa: F401 (server: the fixture)
from test_app_messages import gcj02_demo_facilities

from coverage.datasets import demo_data_dir
from coverage.params import DEFAULT_COUNTED_KINDS, CoverageParams
from coverage.pipeline import run_plan
from coverage.study import load_study_area
from coverage.webapp.state import counted_study, overall_figures, tr

pytestmark = pytest.mark.browser


def _headline(page, label: str) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return metric.locator("[data-testid='stMetricValue']").inner_text().strip()


def test_undeclared_gcj02_upload_warns_above_the_headline_and_one_click_fixes_it(server, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    path = tmp_path / "高德设施.geojson"
    path.write_bytes(gcj02_demo_facilities())
    declared = load_study_area(demo_data_dir(), facilities=path, coordinate_systems={"facilities": "gcj02"})
    kinds = sorted(k for k in DEFAULT_COUNTED_KINDS if k in set(declared.facilities["kind"]))
    expected = overall_figures(run_plan(counted_study(declared, kinds), CoverageParams()))["radius_share"]
    label = tr("radius_share", "zh", r=500.0)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_app(browser, server)
            sidebar = page.locator("[data-testid='stSidebar']")
            sidebar.get_by_text(tr("mode_upload", "zh")).click()
            wait_idle(page)
            uploader = sidebar.locator("[data-testid='stFileUploader']").filter(
                has_text=tr("layer_name_facilities", "zh"))
            uploader.locator("input[type='file']").set_input_files(str(path))
            page.wait_for_timeout(1000)
            sidebar.get_by_role("button", name=tr("load_upload", "zh")).click()
            warning = page.locator("[data-testid='stAlert']").filter(has_text="偏移约")
            warning.wait_for(timeout=180_000)
            wait_idle(page, timeout=180_000)
            first_metric = page.locator("[data-testid='stMetric']").first
            assert warning.bounding_box()["y"] < first_metric.bounding_box()["y"]
            button = page.get_by_role("button", name="按GCJ-02处理 / treat as GCJ-02")
            assert button.bounding_box()["y"] < first_metric.bounding_box()["y"]
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "app_gcj02_warning.png"))
            shifted = float(_headline(page, label).rstrip("%"))
            assert shifted < expected * 100 - 10
            button.click()
            expect(warning).to_have_count(0, timeout=180_000)
            wait_idle(page, timeout=180_000)
            assert _headline(page, label) == f"{expected:.1%}"
        finally:
            browser.close()

"""The app's capacity panel (issue 19): hidden figures until a capacity is known, then the chart and table."""

from __future__ import annotations

from pathlib import Path

import pytest

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_capacity_panel_shows_load_chart_once_a_default_is_set():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception
    assert "设施负荷（服务能力与分配人口）" in [s.value for s in at.subheader]
    assert not any("loadchart" in m.value for m in at.markdown)  # the demo has no capacities: nothing invented
    at.number_input(key="cap_station").set_value(6000).run()
    assert not at.exception
    assert any("loadchart" in m.value and "#d7301f" in m.value for m in at.markdown)  # overloaded stations in red
    table = at.dataframe[-2].value if len(at.dataframe) > 1 else None
    assert table is not None and any("就近分配" in str(v) for v in table.iloc[:, 0])

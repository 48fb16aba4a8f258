"""The app's capacity panel: the plan's capacity diagnosis with the user's per-kind defaults."""

from __future__ import annotations

import dataclasses

import pandas as pd

from coverage.capacity import CapacityRule
from coverage.outputs.capacity import before_after_rows, both, load_chart_svg
from coverage.pipeline import add_capacity

__all__ = ["capacity_view"]


def capacity_view(result, capacity_station: float | None, capacity_centre: float | None, assign: str,
                  siting_info: dict | None = None) -> dict | None:
    """Load chart and before/after table for the app, on a copy of the plan (the plan itself is untouched).

    Returns
    -------
    dict or None
        ``{"chart": svg, "before_after": DataFrame, "summary": summary["capacity"]}``;
        None when no capacity is known (neither in the data nor given).
    """
    copy = dataclasses.replace(result)
    cap = add_capacity(copy, CapacityRule(capacity_station=capacity_station, capacity_centre=capacity_centre),
                       assign=assign)
    if not cap.known:
        return None
    s = cap.summary()
    rows = before_after_rows(s, siting_info)
    table = pd.DataFrame(rows, columns=["", f"{both('before')} {both('residents')}", both("share"),
                                        f"{both('after')} {both('residents')}", both("share") + " "])
    return {"chart": load_chart_svg(s["facility_loads"]), "before_after": table, "summary": s}

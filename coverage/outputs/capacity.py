"""How the capacity diagnosis is shown: the load bar chart, the before/after table, map layers.

Everything here reads ``summary["capacity"]`` (and ``summary["siting"]``) or the
plan's :class:`coverage.capacity.CapacityResult`, so the report, the app and the
notebooks show the same figures. Tables are bilingual (中文 / English).
"""

from __future__ import annotations

import html
import itertools

import numpy as np

__all__ = [
    "add_capacity_layers",
    "before_after_rows",
    "capacity_section_html",
    "e2sfca_colour",
    "load_chart_svg",
]

_E = html.escape

#: (中文, English)
STRINGS = {
    "load_title": ("设施负荷（服务能力与分配人口）", "Facility load (capacity vs residents assigned)"),
    "capacity": ("服务能力", "capacity"),
    "assigned": ("分配人口", "assigned"),
    "overloaded": ("超负荷", "overloaded"),
    "unknown": ("服务能力未知", "capacity unknown"),
    "before_after": ("容量内覆盖人口：建设前后", "Residents covered within capacity: before and after"),
    "nearest": ("就近分配", "nearest assignment"),
    "capacitated": ("容量约束分配", "capacitated assignment"),
    "before": ("建设前", "before"),
    "after": ("建设后", "after"),
    "residents": ("人口", "residents"),
    "share": ("占比", "share"),
    "e2sfca": ("E2SFCA 可达性（每千人服务能力）", "E2SFCA accessibility (capacity per 1,000 residents)"),
    "layer_e2sfca": ("E2SFCA 可达性", "E2SFCA accessibility"),
    "layer_overloaded": ("超负荷设施", "Overloaded facilities"),
    "rule": ("服务能力规则：医务人员与服务人口相匹配", "Capacity rule: staff matched to the population served"),
    "taken_over": ("承接超负荷机构人口", "taken over from overloaded facilities"),
    "served": ("服务人口", "residents served"),
    "rank": ("序号", "rank"),
    "capacity_station": ("服务站服务能力（人，0 = 未知）", "station capacity (residents, 0 = unknown)"),
    "capacity_centre": ("中心服务能力（人，0 = 未知）", "centre capacity (residents, 0 = unknown)"),
    "assign": ("分配方式", "assignment"),
    "no_capacity": ("数据中没有服务能力（capacity 或医生数）：负荷不作评判。可在上方设定默认值。",
                    "The data has no capacities (capacity or doctor counts): loads are not judged. Set defaults "
                    "above."),
}


def both(key: str) -> str:
    zh, en = STRINGS[key]
    return f"{zh} / {en}"


def one(key: str, lang: str) -> str:
    zh, en = STRINGS[key]
    return zh if lang == "zh" else en


def load_chart_svg(facilities: list[dict], max_rows: int = 40, width: int = 720) -> str:
    """Horizontal bars: each facility's capacity (grey outline) and residents assigned (blue, red if overloaded).

    Parameters
    ----------
    facilities : list of dict
        ``summary["capacity"]["facility_loads"]`` rows.
    max_rows : int
        The most loaded this many (by load ratio, unknown capacity last).
    width : int
        Pixels.

    Returns
    -------
    str
        An inline ``<svg>``.
    """
    rows = sorted(facilities, key=lambda r: -(r["load_ratio"] if r.get("load_ratio") is not None else -1))[:max_rows]
    if not rows:
        return ""
    top = max(max(r["assigned_population"] or 0, r["capacity"] or 0) for r in rows) or 1.0
    label_w, bar_h, gap = 200, 14, 6
    plot_w = width - label_w - 90
    h = len(rows) * (bar_h + gap) + 30
    out = [f'<svg class="loadchart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
           f'role="img" aria-label="{_E(both("load_title"))}" style="font:12px sans-serif">']
    for k, r in enumerate(rows):
        y = 20 + k * (bar_h + gap)
        cap, asg = r.get("capacity"), r.get("assigned_population") or 0.0
        over = bool(r.get("overloaded"))
        colour = "#d7301f" if over else ("#969696" if cap is None else "#2b8cbe")
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h - 3}" text-anchor="end">{_E(str(r["name"])[:24])}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{plot_w * asg / top:.1f}" height="{bar_h}" fill="{colour}">'
                   f'<title>{_E(str(r["name"]))}: {asg:,.0f} / {"—" if cap is None else f"{cap:,.0f}"}</title></rect>')
        if cap is not None:
            out.append(f'<rect x="{label_w}" y="{y - 2}" width="{plot_w * cap / top:.1f}" height="{bar_h + 4}" '
                       f'fill="none" stroke="#252525" stroke-width="1.2"/>')
        ratio = r.get("load_ratio")
        txt = "?" if ratio is None else f"{ratio:.0%}"
        out.append(f'<text x="{label_w + plot_w + 6}" y="{y + bar_h - 3}">{_E(txt)}</text>')
    out.append(f'<text x="0" y="12" fill="#555">▭ {_E(both("capacity"))} · ■ {_E(both("assigned"))} · '
               f'<tspan fill="#d7301f">■ {_E(both("overloaded"))}</tspan> · '
               f'<tspan fill="#969696">■ {_E(both("unknown"))}</tspan></text>')
    out.append("</svg>")
    return "".join(out)


def before_after_rows(capacity: dict, siting: dict | None) -> list[list[str]]:
    """Rows ``[assignment, before residents, before share, after residents, after share]``.

    ``capacity`` is ``summary["capacity"]``; the after columns come from
    ``summary["siting"]`` of a capacitated siting (``—`` otherwise).
    """
    rows = []
    for key in ("nearest", "capacitated"):
        b = (capacity.get(key) or {}).get("covered_within_capacity")
        a = ((siting or {}).get("capacity_after") or {}).get(key)
        if b is None and a is None:
            continue

        def cells(x: dict | None) -> list[str]:
            if not x:
                return ["—", "—"]
            return [f'{x["population"]:,.0f}', "—" if x["share"] is None else f'{x["share"]:.1%}']

        rows.append([both(key)] + cells(b) + cells(a))
    return rows


def capacity_section_html(summary: dict) -> str:
    """The report's capacity section: load chart, overloaded list, before/after, E2SFCA note ('' if unknown)."""
    cap = summary.get("capacity")
    if not cap or not cap.get("facilities_with_capacity"):
        return ""
    out = [f'<h2>{_E(both("load_title"))}</h2>', load_chart_svg(cap.get("facility_loads", []))]
    src = ", ".join(f"{_E(k)}: {v}" for k, v in cap["capacity_sources"].items())
    out.append(f'<p class="sub">{cap["facilities_with_capacity"]} / {cap["facilities"]} facilities with a capacity '
               f'({src}); {cap["residents_per_doctor"]:,.0f} residents per doctor ({_E(cap["residents_per_doctor_source"])}); '
               f'assignment: {_E(both(cap["assign"]))}, within {cap["threshold_m"]:g} m; {_E(both("overloaded"))}: '
               f'{cap["overloaded_count"]} ({_E(both("nearest"))}: {cap["nearest"]["overloaded_count"]})</p>')
    rows = before_after_rows(cap, summary.get("siting"))
    out.append(f'<h2>{_E(both("before_after"))}</h2><table class="before-after"><tr><th></th>'
               f'<th>{_E(both("before"))} {_E(both("residents"))}</th><th>{_E(both("share"))}</th>'
               f'<th>{_E(both("after"))} {_E(both("residents"))}</th><th>{_E(both("share"))}</th></tr>'
               + "".join("<tr>" + "".join(f"<td>{_E(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
    props = [p for p in summary.get("proposals") or [] if "takes_over_population" in p]
    if props:
        out.append(f'<table class="capacity-proposals"><tr><th>{_E(STRINGS["rank"][0])} / rank</th>'
                   f'<th>{_E(both("capacity"))}</th><th>{_E(both("served"))}</th><th>{_E(both("taken_over"))}</th></tr>'
                   + "".join(f'<tr><td>{p["rank"]}</td><td>{p["capacity"]:,.0f}</td><td>{p["serves_population"]:,.0f}'
                             f'</td><td>{p["takes_over_population"]:,.0f}</td></tr>' for p in props) + "</table>")
    e = cap.get("e2sfca") or {}
    if e.get("computed"):
        decay = ('Luo &amp; Qi (2009) step decay: ' + ", ".join(f"≤{b:.0f} m → {w:g}" for b, w in
                                                               zip(e["breaks_m"], e["weights"]))
                 if e["decay"] == "step" else f'Gaussian decay, σ = {e["sigma_m"]:.0f} m, ≤ {e["catchment_m"]:.0f} m')
        out.append(f'<p class="sub">{_E(both("e2sfca"))}: {decay}; {_E(e["unit"])}; '
                   f'1,000 = capacity equals the residents in reach.</p>')
    return "\n".join(out)


def e2sfca_colour(value: float | None, scale: float = 1000.0) -> str:
    """Red (no capacity in reach) → yellow (half) → green (capacity ≥ the residents in reach)."""
    if value is None or not np.isfinite(value):
        return "#bdbdbd"
    x = float(np.clip(value / scale, 0.0, 1.0))
    stops = [(0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80))]
    for (x0, c0), (x1, c1) in itertools.pairwise(stops):
        if x <= x1:
            f = (x - x0) / (x1 - x0)
            return "#{:02x}{:02x}{:02x}".format(*tuple(round(a + (b - a) * f) for a, b in zip(c0, c1)))
    return "#1a9850"


def add_capacity_layers(m, result, lang: str = "zh") -> None:
    """Add the E2SFCA community layer and the overloaded-facility markers to a folium map.

    Does nothing when the plan has no capacity diagnosis or no capacity is known.
    """
    import folium
    import geopandas as gpd

    cap = getattr(result, "capacity", None)
    if cap is None or not cap.known:
        return
    comm = result.study.communities
    if "access_e2sfca" in result.communities.columns and len(comm):
        vals = result.communities["access_e2sfca"].to_numpy(dtype=float)
        g = gpd.GeoDataFrame({"name": comm["name"].to_numpy(), "e2sfca": vals}, geometry=comm.geometry.values,
                             crs=comm.crs).to_crs(4326)
        g["colour"] = [e2sfca_colour(v) for v in vals]
        g["label"] = [f"{n}: {'—' if not np.isfinite(v) else f'{v:,.0f}'}" for n, v in zip(g["name"], vals)]
        fg = folium.FeatureGroup(name=one("layer_e2sfca", lang), show=False)
        folium.GeoJson(g[["label", "colour", "geometry"]].to_json(),
                       style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#636363",
                                                 "weight": 0.6, "fillOpacity": 0.55},
                       tooltip=folium.GeoJsonTooltip(["label"], labels=False)).add_to(fg)
        fg.add_to(m)
    # overloaded when residents go to the nearest facility: the diagnosis, whatever assignment the table shows
    t = cap.facilities.assign(assigned_population=cap.nearest.assigned)
    c = t["capacity"].to_numpy(dtype=float)
    over = np.isfinite(c) & (cap.nearest.assigned > np.nan_to_num(c) + 1e-9)
    t["load_ratio"] = np.where(c > 0, cap.nearest.assigned / np.where(c > 0, c, 1.0), np.inf)
    if over.any():
        fac = result.coverage.facilities.reset_index(drop=True)
        pts = gpd.GeoSeries(fac.geometry.values[over], crs=fac.crs).to_crs(4326)
        fg = folium.FeatureGroup(name=one("layer_overloaded", lang), show=True)
        for p, (_, r) in zip(pts, t[over].iterrows()):
            folium.CircleMarker([p.y, p.x], radius=12, color="#d7301f", weight=3, fill=False,
                                tooltip=f"{r['name']}: {r['assigned_population']:,.0f} / {r['capacity']:,.0f} "
                                        f"({r['load_ratio']:.0%}) — {one('overloaded', lang)}").add_to(fg)
        fg.add_to(m)

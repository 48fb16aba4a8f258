"""``report.html``: one self-contained page for decision-makers.

Title block (data set, date, parameters, CRS, sources, synthetic label), the
offline map, the rule table per subdistrict with pass/fail badges, coverage by
community (worst first), proposed sites with before/after figures, what was
repaired or left out, and a method note — in Chinese and English. No CDN: the
map's Leaflet is inlined by :mod:`coverage.outputs.offline`; every figure comes from
``summary.json`` so the two always agree.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from coverage.i18n import both, t
from coverage.outputs.capacity import capacity_section_html
from coverage.outputs.mapview import plan_map
from coverage.outputs.offline import basemap_label, to_standalone_html
from coverage.rulesets import DEFAULT_RULE_SET, subdistrict_verdicts

__all__ = ["render_report", "to_report"]

_CSS = """
body{margin:0;font:14px/1.5 'Helvetica Neue',Arial,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#222}
.rp{max-width:1200px;margin:0 auto;padding:12px 20px}
.rp h1{font-size:22px;margin:6px 0}.rp h2{font-size:17px;margin:22px 0 6px;border-bottom:2px solid #08306b}
.rp .sub{color:#555}.rp .warn{background:#fff3cd;border:1px solid #e0c36a;padding:6px 10px;border-radius:4px;margin:8px 0}
.rp table{border-collapse:collapse;width:100%;font-size:13px}.rp th,.rp td{border:1px solid #ccc;padding:3px 6px;text-align:right}
.rp th{background:#eef2f7}.rp td.l,.rp th.l{text-align:left}
.ok,.no{white-space:nowrap;color:#fff;border-radius:3px;padding:0 5px}.ok{background:#1a9850}.no{background:#d73027}
.kpi{display:inline-block;margin:4px 18px 4px 0}.kpi b{font-size:24px;display:block}
.mapwrap{max-width:1200px;margin:0 auto;padding:0 20px}
"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _badge(ok: bool) -> str:
    return f'<span class="ok">✔ {t("pass", "zh")}/{t("pass", "en")}</span>' if ok else \
        f'<span class="no">✘ {t("fail", "zh")}/{t("fail", "en")}</span>'


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], left: int = 1, cls: str = "") -> str:
    hs = list(headers)
    out = [f'<table class="{cls}"><thead><tr>']
    out += [f'<th class="{"l" if i < left else ""}">{h}</th>' for i, h in enumerate(hs)]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r))
                   + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _head(summary: dict) -> list[str]:
    """Title, data set, synthetic-data warning, parameters, sources and the headline figures."""
    p = summary["parameters"]
    r, m = p["radius_m"], p["minutes"]
    ds = summary["dataset"]
    pm = summary["population_model"]
    source = f' · {_e(both("population_source"))}: {_e(pm["source"])}' if pm.get("source") else ""
    sc = summary.get("scenario")
    prefix = ("", "") if sc is None else (f'{t("scenario_title", "zh")}：', f'{t("scenario_title", "en")}: ')
    head = ['<div class="rp">',
            (f'<h1>{_e(prefix[0] + t("report_title", "zh"))}<br>'
             f'<span class="sub">{_e(prefix[1] + t("report_title", "en"))}</span></h1>'),
            f'<div>{_e(both("data_set"))}: <b>{_e(ds.get("title") or "")}</b> {_e(ds.get("title_en") or "")}'
            f' · {_e(both("date"))}: {_e(summary["generated"])}'
            f' · {_e(both("crs"))}: {_e(p["crs"]["name"])} (EPSG:{_e(p["crs"]["epsg"])})</div>']
    if sc is not None:
        n, k = len(sc["added"]), len(sc["removed"])
        head.append(f'<div class="warn scenario"><b>{_e(t("scenario_banner", "zh", n=n, m=k))}</b><br>'
                    f'{_e(t("scenario_banner", "en", n=n, m=k))}</div>')
    if ds.get("synthetic"):
        head.append(f'<div class="warn"><b>{_e(t("synthetic", "zh"))}</b><br>{_e(t("synthetic", "en"))}'
                    + (f'<br>{_e(ds.get("notice_zh") or "")} {_e(ds.get("notice") or "")}' if ds.get("notice") else "")
                    + "</div>")
    head.append(f'<div class="sub">{_e(both("parameters"))}: {r:g} m · {m:g} min @ {p["speed_kmh"]:g} km/h '
                f'= {p["walk_m"]:.0f} m · snap ≤ {p["max_snap_m"]:g} m · target {p["target_share"]:.0%} · '
                f'{_e(both("population_model"))}: {_e(pm["model"])} ({pm["demand_points"]:,} points{source})</div>')
    if ds.get("sources"):
        head.append(f'<div class="sub">{_e(both("sources"))}: ' + "; ".join(_e(s) for s in ds["sources"]) + "</div>")
    cov = summary["coverage"]
    kpis = [(summary["population"], both("population"), f"{summary['population']:,.0f}"),
            (None, both("radius_share", r=r), _pct(cov["radius"]["share"])),
            (None, both("radius_euclidean_share", r=r), _pct(cov["radius_euclidean"]["share"])),
            (None, both("walk_share", m=m), _pct(cov["walk"]["share"]))]
    if "after" in summary:
        after = both("after_proposals" if sc is not None else "after")  # in a scenario "after" is ambiguous
        kpis.append((None, f'{after}: {both("radius_share", r=r)}', _pct(summary["after"]["radius"]["share"])))
    head.append("<div>" + "".join(f'<span class="kpi"><b>{v}</b>{_e(label)}</span>' for _, label, v in kpis)
                + "</div>")
    head += _scenario_figures(summary)
    head.append("</div>")
    return head


def _scenario_figures(summary: dict) -> list[str]:
    """A scenario's figures in three named columns: baseline, scenario, after the proposals (when sited)."""
    sc = summary.get("scenario")
    if sc is None:
        return []
    p = summary["parameters"]
    r, m = p["radius_m"], p["minutes"]
    columns = [sc["baseline"], sc["figures"]] + ([{"coverage": summary["after"]}] if "after" in summary else [])
    hdr = ["", both("baseline"), both("scenario_col")] + ([both("after_proposals")] if "after" in summary else [])
    rows = []
    for key, label in (("radius", both("radius_share", r=r)), ("radius_euclidean", both("radius_euclidean_share", r=r)),
                       ("walk", both("walk_share", m=m))):
        cells = [c["coverage"][key] for c in columns]
        rows.append([_e(label)] + [_pct(c["share"]) for c in cells])
        rows.append([f'{_e(label)} · {_e(both("covered_population"))}']
                    + [f'{c["population"]:,.0f}' for c in cells])
    rows.append([_e(both("subdistricts_passing"))]
                + [f'{c["subdistricts_passing"]} / {c["subdistricts"]}' if "subdistricts" in c else "—"
                   for c in columns])
    return [f'<h2>{_e(both("scenario_figures"))}</h2>', _table(hdr, rows, cls="scenario-figures")]


def _scenario_section(summary: dict) -> list[str]:
    """The facilities a scenario added and removed, in a table of their own."""
    sc = summary.get("scenario")
    if sc is None:
        return []
    rows = [[f'{_e(t("change_" + f["change"], "zh"))}<br><span class="sub">{_e(t("change_" + f["change"], "en"))}</span>',
             _e(f["name"]),
             _e(t("kind_" + f["kind"], "zh", default=f["kind"])) + "<br><span class='sub'>"
             + _e(t("kind_" + f["kind"], "en", default=f["kind"])) + "</span>",
             _e(f.get("subdistrict") or "—"), _e(f.get("community") or "—"), f'{f["lon"]:.6f}, {f["lat"]:.6f}']
            for f in sc["added"] + sc["removed"]]
    return [f'<h2>{_e(both("scenario_facilities"))}</h2>',
            _table([both("change"), "名称 / Name", "类型 / Kind", both("subdistrict"), both("community"), "lon, lat"],
                   rows, left=5, cls="scenario-facilities")]


def _rules_section(summary: dict) -> list[str]:
    """The per-subdistrict rule table."""
    p = summary["parameters"]
    r, m = p["radius_m"], p["minutes"]
    tail: list[str] = []
    tail.append(f'<h2>{_e(both("rules_table"))}</h2>')
    hdr = [both("subdistrict"), both("communities"), both("centres"), both("stations"), both("stations_required"),
           both("centre_rule"), both("station_rule"), both("population"), both("radius_share", r=r),
           both("walk_share", m=m), both("all_rules")]
    extra = _rule_set_cells(summary)
    hdr += [head for head, _ in extra]
    rows = []
    for s in summary["subdistricts"]:
        rows.append([f'{_e(s["name"])}<br><span class="sub">{_e(s.get("name_en") or "")} {_e(s.get("code") or "")}</span>',
                     s["communities"], s["centres"], s["stations"], s["stations_required"], _badge(s["centre_rule"]),
                     _badge(s["station_rule"]), f'{(s["population"] or 0):,.0f}', _pct(s["radius_share"]),
                     _pct(s["walk_share"]), _badge(s["passes"])]
                    + ["" if col.get(s["name"]) is None else _badge(col[s["name"]]) for _, col in extra])
    tail.append(_table(hdr, rows, cls="rules"))
    # each rule set's document, so that every column above can be traced to its source
    tail += [f'<p class="sub">{_e(rs["id"])}: {_e(rs["name_zh"])} / {_e(rs["name_en"])} — {_e(rs["document"])} '
             f'{_e(rs["document_url"])}</p>' for rs in summary.get("rule_sets", [])]
    return tail


def _rule_set_cells(summary: dict) -> list[tuple[str, dict]]:
    """(header, subdistrict → verdict) per rule of each active set beyond the default, with its document."""
    verdicts = subdistrict_verdicts(summary.get("rules", []), skip_set=DEFAULT_RULE_SET)
    return [(f'{_e(r["zh"])} / {_e(r["en"])}<br><span class="sub">{_e(rs["id"])}</span>', verdicts[(rs["id"], r["id"])])
            for rs in summary.get("rule_sets", []) for r in rs["rules"] if (rs["id"], r["id"]) in verdicts]


def _communities_section(summary: dict) -> list[str]:
    """Communities, worst covered first."""
    p = summary["parameters"]
    r, m = p["radius_m"], p["minutes"]
    tail: list[str] = []
    tail.append(f'<h2>{_e(both("communities_table"))}</h2>')
    comms = sorted(summary["communities"], key=lambda c: (c["walk_share"] if c["walk_share"] is not None else 2,
                                                          c["radius_share"] if c["radius_share"] is not None else 2))
    rows = [[_e(c["name"]), _e(c["subdistrict"]), f'{(c["population"] or 0):,.0f}', _pct(c["radius_share"]),
             _pct(c["radius_euclidean_share"]), _pct(c["walk_share"]),
             "—" if c["mean_distance_m"] is None else f'{c["mean_distance_m"]:.0f}'] for c in comms]
    tail.append(_table([both("community"), both("subdistrict"), both("population"), both("radius_share", r=r),
                        both("radius_euclidean_share", r=r), both("walk_share", m=m), both("mean_distance_m")], rows,
                       left=2, cls="communities"))
    return tail


def _proposals_section(summary: dict) -> list[str]:
    """Proposed sites, before/after, and the solver's status (when sites were proposed)."""
    p = summary["parameters"]
    r, m = p["radius_m"], p["minutes"]
    tail: list[str] = []
    if "proposals" not in summary:
        return tail
    tail.append(f'<h2>{_e(both("proposals_table"))}</h2>')
    rows = [[p_["rank"], _e(t("kind_" + str(p_.get("kind", "station")), "zh")) + "<br><span class='sub'>"
             + _e(t("kind_" + str(p_.get("kind", "station")), "en")) + "</span>",
             _e(p_.get("subdistrict")), _e(p_.get("community")), _e(p_.get("nearest_street") or "—"),
             f'{p_["lon"]:.6f}, {p_["lat"]:.6f}', f'{p_["adds_population"]:,.0f}', _e(", ".join(p_["serves"]))]
            for p_ in summary["proposals"]]
    tail.append(_table([both("rank"), "类型 / Kind", both("subdistrict"), both("community"), both("nearest_street"),
                        "lon, lat", both("adds_population"), both("serves")], rows, left=2, cls="proposals"))
    if "scenario" in summary:  # the baseline / scenario / after table above replaces before/after
        return tail + _solver_note(summary)
    tail.append(f'<h2>{_e(both("before_after"))}</h2>')
    rows = []
    for key, label in (("radius", both("radius_share", r=r)), ("radius_euclidean", both("radius_euclidean_share", r=r)),
                       ("walk", both("walk_share", m=m))):
        b, a = summary["coverage"][key], summary["after"][key]
        rows.append([_e(label), f'{b["population"]:,.0f}', _pct(b["share"]), f'{a["population"]:,.0f}',
                     _pct(a["share"])])
    tail.append(_table(["", f'{both("before")} {both("population")}', both("before"),
                        f'{both("after")} {both("population")}', both("after")], rows, cls="before-after"))
    return tail + _solver_note(summary)


def _solver_note(summary: dict) -> list[str]:
    """The solver's status, gap and time."""
    if not summary.get("siting"):
        return []
    st = summary["siting"]
    return [(f'<p class="sub">solver: {_e(st.get("status"))}, gap {_e(st.get("gap"))}, '
             f'{_e(st.get("solve_seconds"))} s; {_e(st.get("note", ""))}</p>')]


def _capacity_section(summary: dict) -> list[str]:
    """Facility load, residents covered within capacity before and after, E2SFCA (when capacities are known)."""
    html_ = capacity_section_html(summary)
    return [html_] if html_ else []


def _groups_section(summary: dict) -> list[str]:
    """Coverage by age group: 65+ residents walking at the elderly speed, or which column to add."""
    groups = summary.get("groups")
    if not groups:
        return []
    p = summary["parameters"]
    r, m = p["radius_m"], p["minutes"]
    tail = ['<h2>按年龄组的覆盖 / Coverage by age group</h2>']
    rows = [[f'{_e(g["label_zh"])}<br><span class="sub">{_e(g["label_en"])}</span>',
             f'{_e(g["profile"])} {g["speed_kmh"]:g} km/h', f'{g["population"]:,.0f}', _pct(g["radius_share"]),
             _pct(g["walk_share"]), _pct(g["profile_walk_share"])] for g in groups if g.get("available")]
    tail.append(_table(["组别 / Group", "步行方式 / Walking profile", both("population"),
                        both("radius_share", r=r), f'{both("walk_share", m=m)} (规划步速 / plan speed)',
                        f'{m:g}分钟·按本组步速 / {m:g} min at the group\'s speed'], rows, cls="groups"))
    for g in groups:
        if g.get("headline_zh"):
            tail.append(f'<p><b>{_e(g["headline_zh"])}</b><br>{_e(g["headline_en"])}</p>'
                        f'<p class="sub">{_e(g["assumption_zh"])}<br>{_e(g["assumption_en"])}'
                        f' · {_e(g.get("age_file") or g.get("age_source"))}: {_e(g.get("age_column"))}</p>')
        if not g.get("available"):
            tail.append(f'<div class="warn">{_e(g["note_zh"])}<br>{_e(g["note_en"])}</div>')
    return tail


def _skipped_section(summary: dict) -> list[str]:
    """Everything repaired or left out, with its population."""
    tail: list[str] = []
    tail.append(f'<h2>{_e(both("skipped_table"))}</h2>')
    if summary["skipped"]:
        rows = [[_e(s["layer"]), _e(s["reason"]), s["count"], f'{s["population"]:,.0f}', _e(s["action"]),
                 _e(s["message"]) + ("<br><span class='sub'>" + _e(", ".join(s["items"][:12])) + "</span>"
                                     if s["items"] else "")] for s in summary["skipped"]]
        tail.append(_table([both("layer"), both("reason"), both("count"), both("population"), both("action"), ""], rows,
                           left=2, cls="skipped"))
    else:
        tail.append("<p>—</p>")
    return tail


def _method_section(summary: dict) -> list[str]:
    """How distances, the walk filter and isochrones were computed, and the network's size."""
    p = summary["parameters"]
    tail: list[str] = []
    net = summary["network"]
    excluded = ", ".join(f"{_e(k)}: {v}" for k, v in net["excluded_ways"].items()) or "—"
    tail.append(f'<h2>{_e(both("method"))}</h2><p>'
                f'距离为步行网络距离（米），在投影坐标系 {_e(p["crs"]["name"])} 中计算：居民点和设施各自投影到最近的可步行道路边上，'
                f'距离 = 离网段 + 沿边偏移 + 网络最短路径（scipy.sparse.csgraph 多源 Dijkstra）。'
                f'步行路网按 OSM 步行规则过滤（排除高速公路、foot=no、access=private 等）。'
                f'等时圈由到达的道路边（在极限处截断）缓冲生成，而非凸包。{_e(summary["population_model"]["note_zh"])}'
                f'</p><p>Distances are walking distances on the street network in metres, computed in '
                f'{_e(p["crs"]["name"])}: homes and facilities are snapped to the nearest point of the nearest walkable '
                f'edge; distance = off-network leg + along-edge offset + shortest path (one multi-source Dijkstra). '
                f'The walk filter follows OSM walking rules (no motorways, foot=no, access=private). Isochrones are '
                f'buffers of the reached street edges, cut at the limit — not convex hulls. '
                f'{_e(summary["population_model"]["note_en"])}</p>'
                f'<p class="sub">地图上的等时圈轮廓为显示而简化（5 米；大城市按图层名所示更粗），'
                f'isochrones.geojson 中为未简化的轮廓。 Isochrone outlines on the map are simplified for display '
                f'(5 m; coarser in big cities, as the layer name says); isochrones.geojson holds them unsimplified.</p>'
                f'<p class="sub">Network: {net["nodes"]:,} nodes, {net["edges"]:,} edges, {net["length_km"]:,.1f} km, '
                f'{net["components"]} component(s). Excluded ways: {excluded}.</p>')
    return tail


def _sections(summary: dict) -> tuple[str, str]:
    """HTML before the map (title, KPIs) and after it (tables, method)."""
    tail = ['<div class="rp">']
    for section in (_scenario_section, _rules_section, _communities_section, _groups_section, _proposals_section, _capacity_section,
                    _skipped_section, _method_section):
        tail += section(summary)
    tail.append("</div>")
    return "\n".join(_head(summary)), "\n".join(tail)


def _basemap_note(name: str) -> str:
    """One line naming the app's basemap (label only: a Tianditu key never reaches a download)."""
    return (f'<div class="rp sub">底图（应用中）/ Basemap (in the app): {_e(basemap_label(name))} — 本报告地图离线，不含底图 / '
            "the map in this report is offline, without it</div>")


def render_report(result, summary: dict | None = None, lang: str = "zh", basemap: str | None = None,
                  app_basemap: str | None = None) -> str:
    """Render the self-contained HTML report of a plan.

    Parameters
    ----------
    result : PlanResult
    summary : dict, optional
        ``result.summary()`` if already computed (figures are taken from it).
    lang : {"zh", "en"}
        Language of the map labels (tables are always bilingual).
    basemap : str, optional
        Online basemap (the page then references its tile server).
    app_basemap : str, optional
        The basemap the app showed (``"osm"``, ``"tianditu"``): named in the
        report, whose map stays offline; no tile URL and no key is written.

    Returns
    -------
    str
        The HTML page.
    """
    summary = summary if summary is not None else result.summary()
    m = plan_map(result, lang=lang, basemap=basemap, height="640px")
    page = to_standalone_html(m)
    before, after = _sections(summary)
    if app_basemap:
        before += _basemap_note(app_basemap)
    prefix = f'{t("scenario_title", "zh")} / {t("scenario_title", "en")}：' if "scenario" in summary else ""
    title = html.escape(f'{prefix}{t("report_title", "zh")} — {summary["dataset"].get("title") or ""}')
    page = page.replace("<head>", f"<head><title>{title}</title><style>{_CSS}</style>", 1)
    # the map sits between the title block and the tables
    i = page.index("<body>") + len("<body>")
    page = page[:i] + before + '<div class="mapwrap">' + page[i:]
    j = page.rindex("</body>")
    # close the map wrapper before the scripts, then append the tables
    k = page.index("<script>", i) if "<script>" in page[i:j] else j
    page = page[:k] + "</div>" + after + page[k:]
    return page


def to_report(result, path, **kwargs) -> None:
    """Write :func:`render_report` to ``path`` (UTF-8)."""
    from pathlib import Path

    Path(path).write_text(render_report(result, **kwargs), encoding="utf-8")

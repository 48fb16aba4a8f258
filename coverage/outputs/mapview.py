"""The plan map: one folium map shared by ``report.html`` and the Streamlit app.

Layers (each a :class:`folium.FeatureGroup` in the layer control):
streets (context, as there is no basemap offline), subdistricts (outline, rule
verdict), communities shaded by coverage, isochrones (5/10/15 min, dissolved
per time), facilities by kind, uncovered population, and proposed sites with
their isochrones; a scenario's added and removed facilities in a layer of their own. Every text that came from user data is HTML-escaped.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.i18n import t
from coverage.outputs.capacity import add_capacity_layers
from coverage.outputs.offline import add_legend, escape_properties, new_map
from coverage.outputs.streetimage import STREET_VECTOR_LIMIT, street_png
from coverage.scenario import SCENARIO_COLUMN
from coverage.siting.propose import SERVES_I18N, SitingResult

__all__ = ["KIND_COLOURS", "LAYER_KEYS", "isochrone_web_layers", "plan_map", "share_colour", "simplify_for_web"]

# centres purple and stations blue: distinct from the red of uncovered people and low shares
KIND_COLOURS = {"centre": "#54278f", "station": "#0570b0", "hospital": "#737373", "clinic": "#969696",
                "village_clinic": "#bdbdbd", "other": "#969696"}
# isochrones in blues, outlined: greens are the coverage classes of the communities underneath
ISO_COLOURS = {5: "#08519c", 10: "#3182bd", 15: "#6baed6"}
SHARE_BINS = [(0.999, "#1a9850"), (0.9, "#91cf60"), (0.75, "#d9ef8b"), (0.5, "#fee08b"), (0.25, "#fc8d59"),
              (-1, "#d73027")]
#: Outlines of a scenario's facilities: added (dashed magenta ring, filled by kind; proposals are black-ringed)
#: and removed (dashed red ring, hollow).
SCENARIO_ADDED_COLOUR = "#c51b8a"
SCENARIO_REMOVED_COLOUR = "#d7301f"
LAYER_KEYS = ("streets", "subdistricts", "communities", "isochrones", "facilities", "uncovered", "proposals")


def share_colour(share: float | None) -> str:
    """Colour of a coverage share (green = 100 %, red = low, grey = no residents)."""
    if share is None or not np.isfinite(share):
        return "#bdbdbd"
    for lower, colour in SHARE_BINS:
        if share >= lower:
            return colour
    return SHARE_BINS[-1][1]


def simplify_for_web(gdf: gpd.GeoDataFrame, tolerance_m: float = 2.0, crs=None) -> gpd.GeoDataFrame:
    """Simplify (in metres), reproject to WGS84 and round to ~0.1 m, to keep pages small."""
    g = gdf.copy()
    if tolerance_m > 0 and g.crs is not None and g.crs.is_projected:
        g["geometry"] = shapely.simplify(g.geometry.values, tolerance_m, preserve_topology=True)
    g = g.to_crs(4326)
    g["geometry"] = shapely.set_precision(g.geometry.values, 1e-6)
    return g[~g.geometry.is_empty]


def _web_json(gdf: gpd.GeoDataFrame) -> str:
    """GeoJSON text without per-feature bounding boxes (folium's default adds one to every feature)."""
    return gdf.to_json(show_bbox=False, drop_id=False, ensure_ascii=False, to_wgs84=True)


def _fmt_share(x: float | None) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _aggregate_points(points: gpd.GeoDataFrame, cell_m: float, max_points: int) -> gpd.GeoDataFrame:
    """Sum population on a grid when there are too many points to draw one by one.

    The cell starts at ``cell_m`` and doubles until at most ``max_points`` cells
    remain, so a whole city stays a light page.
    """
    if len(points) <= max_points:
        return points[["population", "geometry"]]
    xy = shapely.get_coordinates(points.geometry.values)
    while len(np.unique(np.floor(xy / cell_m).astype(np.int64), axis=0)) > max_points:
        cell_m *= 2
    key = np.floor(xy / cell_m).astype(np.int64)
    df = pd.DataFrame({"kx": key[:, 0], "ky": key[:, 1], "population": points["population"].to_numpy(),
                       "x": xy[:, 0] * points["population"].to_numpy(), "y": xy[:, 1] * points["population"].to_numpy()})
    g = df.groupby(["kx", "ky"]).sum()
    x = g["x"] / g["population"].where(g["population"] > 0, 1)
    y = g["y"] / g["population"].where(g["population"] > 0, 1)
    return gpd.GeoDataFrame({"population": g["population"].to_numpy()}, geometry=shapely.points(x, y),
                             crs=points.crs)


def plan_map(
    result,
    lang: str = "zh",
    basemap: str | None = None,
    show: Sequence[str] = LAYER_KEYS,
    share: str = "walk_share",
    height: str = "640px",
    uncovered_by: str = "covered_walk",
    max_points: int = 4000,
    extra_facilities: gpd.GeoDataFrame | None = None,
    tianditu_key: str | None = None,
) -> folium.Map:
    """Draw a plan on an offline Leaflet map.

    Parameters
    ----------
    result : PlanResult
    lang : {"zh", "en"}
        Language of labels (names always show both where the data has both).
    basemap : str, optional
        ``None`` (offline, no tiles), ``"osm"``, ``"tianditu"`` or ``"amap"``.
    show : sequence of str
        Which of :data:`LAYER_KEYS` to draw.
    share : str
        Which community share shades the communities (``walk_share`` or ``radius_share``).
    height : str
        CSS height of the map.
    uncovered_by : str
        Demand column deciding "uncovered" (``covered_walk`` or ``covered_radius``).
    max_points : int
        Above this many uncovered points, they are summed on a 100 m grid.
    extra_facilities : GeoDataFrame, optional
        Hypothetical facilities of a scenario, drawn with a dashed outline.
    tianditu_key : str, optional
        Browser key for ``basemap="tianditu"`` (written into the page's tile URLs).

    Returns
    -------
    folium.Map
    """
    study = result.study
    # frame the map on where people live and facilities stand, not on empty township land
    focus = pd.concat([result.coverage.demand.geometry, study.facilities.geometry], ignore_index=True)
    bounds = gpd.GeoSeries(focus, crs=study.crs).to_crs(4326).total_bounds if len(focus) else \
        study.subdistricts.to_crs(4326).total_bounds
    m = new_map(location=((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2), zoom_start=12,
                basemap=basemap, height=height, tianditu_key=tianditu_key)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    layers = {
        "streets": lambda: _add_streets(m, result, lang),
        "communities": lambda: _add_communities(m, result, lang, share),
        "subdistricts": lambda: _add_subdistricts(m, result, lang),
        "isochrones": lambda: _add_isochrones(m, result, lang),
        "uncovered": lambda: _add_uncovered(m, result, lang, uncovered_by, max_points),
        "facilities": lambda: _add_facilities(m, result, lang, extra_facilities),
        "scenario": lambda: _add_scenario(m, result, lang),
    }
    for key, draw in layers.items():  # drawn in this order, whatever the order of ``show``
        if key in show or (key == "scenario" and "facilities" in show):
            draw()
    if "proposals" in show and getattr(result, "siting", None) is not None:
        add_proposals_to_map(result.siting, m, lang)
    add_capacity_layers(m, result, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    _plan_legend(m, result, lang, share, show)
    return m


def _add_streets(m: folium.Map, result, lang: str) -> None:
    """Walkable streets: vectors, or one image above :data:`STREET_VECTOR_LIMIT` vertices."""
    study = result.study
    e = study.network.edges
    fg = folium.FeatureGroup(name=t("layer_streets", lang), show=True)
    if int(shapely.get_num_coordinates(e.geometry.values).sum()) <= STREET_VECTOR_LIMIT:
        streets = simplify_for_web(e[["geometry"]], 3.0)  # no names: they make the page large
        folium.GeoJson(_web_json(streets), style_function=lambda f: {"color": "#777777", "weight": 1, "opacity": 0.6},
                       interactive=False).add_to(fg)
    else:
        # a whole city as vectors makes pages of tens of MB: draw it as one image instead
        uri, img_bounds = street_png(study.network)
        folium.raster_layers.ImageOverlay(uri, img_bounds, interactive=False, zindex=1).add_to(fg)
    fg.add_to(m)


def _add_communities(m: folium.Map, result, lang: str, share: str) -> None:
    """Communities shaded by ``share``, with their figures in the tooltip."""
    study = result.study
    comm = result.communities.copy()
    c = study.communities[["name", "subdistrict", "geometry"]].merge(
        comm[["name", "subdistrict", "population", "radius_share", "walk_share", "radius_euclidean_share"]],
        on=["name", "subdistrict"], how="left")
    c["colour"] = [share_colour(v) for v in c[share]]
    for col in ("radius_share", "walk_share", "radius_euclidean_share"):
        c[col + "_txt"] = [_fmt_share(v) for v in c[col]]
    c["population_txt"] = [f"{v:,.0f}" if pd.notna(v) else "—" for v in c["population"]]
    # only what the style and the tooltip use: 3,400 communities' raw shares would add a megabyte
    c = c[["name", "subdistrict", "colour", "population_txt", "radius_share_txt", "walk_share_txt", "geometry"]]
    c = escape_properties(simplify_for_web(c, 2.0), ["name", "subdistrict"])
    fg = folium.FeatureGroup(name=t("layer_communities", lang), show=True)
    folium.GeoJson(
        _web_json(c), style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#555555", "weight": 0.8,
                                     "fillOpacity": 0.55},
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(["name", "subdistrict", "population_txt", "radius_share_txt",
                                       "walk_share_txt"],
                                      aliases=[t("community", lang), t("subdistrict", lang), t("population", lang),
                                               t("radius_share", lang, r=result.params.radius_m),
                                               t("walk_share", lang, m=result.params.minutes)]),
    ).add_to(fg)
    fg.add_to(m)


def _add_subdistricts(m: folium.Map, result, lang: str) -> None:
    """Subdistrict outlines: solid where every rule passes, dashed red where one fails."""
    study = result.study
    s = study.subdistricts[["name", "geometry"]].merge(result.rules, on="name", how="left")
    s["verdict"] = [t("pass", lang) if p else t("fail", lang) for p in s["passes"]]
    s["centre_txt"] = [f"{c} ({t('pass' if ok else 'fail', lang)})" for c, ok in zip(s["centres"], s["centre_rule"])]
    s["station_txt"] = [f"{n}/{r} ({t('pass' if ok else 'fail', lang)})"
                        for n, r, ok in zip(s["stations"], s["stations_required"], s["station_rule"])]
    s = escape_properties(simplify_for_web(s[["name", "verdict", "centre_txt", "station_txt", "passes", "geometry"]],
                                           2.0), ["name"])
    fg = folium.FeatureGroup(name=t("layer_subdistricts", lang), show=True)
    folium.GeoJson(
        _web_json(s), style_function=lambda f: {"fill": False, "color": "#08306b" if f["properties"]["passes"] else "#a50f15",
                                     "weight": 3, "dashArray": None if f["properties"]["passes"] else "6 4"},
        tooltip=folium.GeoJsonTooltip(["name", "verdict", "centre_txt", "station_txt"],
                                      aliases=[t("subdistrict", lang), t("all_rules", lang), t("centres", lang),
                                               t("stations_vs_required", lang)]),
    ).add_to(fg)
    fg.add_to(m)


#: The map's isochrone outlines (all times together) keep at most this many vertices: a whole city's
#: thousands of isochrones would otherwise make a page of tens of MB. ``isochrones.geojson`` keeps them all.
ISOCHRONE_WEB_VERTICES = 100_000
#: Simplification tolerances tried in turn (metres) until the outlines fit :data:`ISOCHRONE_WEB_VERTICES`.
ISOCHRONE_WEB_TOLERANCES_M = (5.0, 10.0, 20.0, 40.0, 80.0)


def isochrone_web_layers(isochrones: gpd.GeoDataFrame, max_vertices: int | None = None
                         ) -> tuple[dict[float, gpd.GeoDataFrame], float]:
    """One dissolved outline per isochrone time, simplified for a web page.

    The tolerance is the first of :data:`ISOCHRONE_WEB_TOLERANCES_M` at which all outlines together
    have at most ``max_vertices`` vertices (default :data:`ISOCHRONE_WEB_VERTICES`; the last tolerance
    when none does).

    Returns
    -------
    layers : dict
        ``{minutes: GeoDataFrame}`` in WGS84, longest time first.
    tolerance_m : float
        The simplification tolerance used.
    """
    max_vertices = ISOCHRONE_WEB_VERTICES if max_vertices is None else max_vertices
    unions = {}
    for minutes in sorted(isochrones["minutes"].unique(), reverse=True):
        iso = isochrones[isochrones["minutes"] == minutes]
        unions[minutes] = gpd.GeoDataFrame({"minutes": [minutes]}, geometry=[shapely.union_all(iso.geometry.values)],
                                           crs=iso.crs)
    for tolerance in ISOCHRONE_WEB_TOLERANCES_M:
        layers = {k: simplify_for_web(g, tolerance) for k, g in unions.items()}
        if sum(int(shapely.get_num_coordinates(g.geometry.values).sum()) for g in layers.values()) <= max_vertices:
            break
    return layers, tolerance


def _add_isochrones(m: folium.Map, result, lang: str) -> None:
    """One dissolved layer per isochrone time; the plan's own walking time is shown at first."""
    if not len(result.isochrones):
        return
    layers, tolerance = isochrone_web_layers(result.isochrones)
    first = result.params.minutes if result.params.minutes in layers else next(iter(layers))
    # coarser than the default only for big cities: then the layer name says so
    note = "" if tolerance <= ISOCHRONE_WEB_TOLERANCES_M[0] else t("simplified_m", lang, m=tolerance)
    for minutes, g in layers.items():
        colour = ISO_COLOURS.get(int(minutes), "#41ab5d")
        fg = folium.FeatureGroup(name=t("layer_isochrone", lang, m=minutes) + note, show=bool(minutes == first))
        folium.GeoJson(_web_json(g), style_function=lambda f, c=colour: {"fillColor": c, "color": c, "weight": 2,
                                                              "fillOpacity": 0.2}, interactive=False).add_to(fg)
        fg.add_to(m)


def _add_uncovered(m: folium.Map, result, lang: str, uncovered_by: str, max_points: int) -> None:
    """Residents not covered, summed on a grid when there are many (one GeoJSON layer)."""
    d = result.coverage.demand
    unc = d[~d[uncovered_by]]
    if len(unc):
        agg = _aggregate_points(unc, 100.0, max_points).to_crs(4326)
        fg = folium.FeatureGroup(name=t("layer_uncovered", lang), show=True)
        scale = max(float(agg["population"].max()), 1.0)
        agg = agg.assign(r=(2 + 6 * np.sqrt(agg["population"] / scale)).round(1),
                         label=[f"{t('uncovered', lang)}: {p:,.0f}" for p in agg["population"]])
        agg["geometry"] = shapely.set_precision(agg.geometry.values, 1e-6)
        # one GeoJson layer, not thousands of folium elements: pages render and load fast
        folium.GeoJson(
            _web_json(agg[["r", "label", "geometry"]]),
            marker=folium.CircleMarker(radius=3, weight=0, fill=True, fill_color="#e31a1c", fill_opacity=0.6),
            style_function=lambda f: {"radius": f["properties"]["r"], "fillColor": "#e31a1c", "weight": 0,
                                      "fillOpacity": 0.6},
            tooltip=folium.GeoJsonTooltip(["label"], labels=False),
        ).add_to(fg)
        fg.add_to(m)


def _add_facilities(m: folium.Map, result, lang: str, extra_facilities: gpd.GeoDataFrame | None) -> None:
    """Facilities by kind (not counted: faded), and a scenario's hypothetical ones dashed."""
    study = result.study
    f = study.facilities.to_crs(4326)
    if SCENARIO_COLUMN in f.columns:  # a scenario's hypothetical facilities have a layer of their own
        f = f[f[SCENARIO_COLUMN] != "added"]
    fg = folium.FeatureGroup(name=t("layer_facilities", lang), show=True)
    for _, r in f.iterrows():
        colour = KIND_COLOURS.get(r["kind"], KIND_COLOURS["other"])
        label = (f"<b>{html_lib.escape(str(r['name']))}</b><br>{html_lib.escape(t('kind_' + r['kind'], lang, default=str(r['kind'])))}"
                 f"<br>{html_lib.escape(str(r['subdistrict'] or '—'))}"
                 + ("" if r["counted"] else f"<br><i>{t('not_counted', lang)}</i>"))
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=8 if r["kind"] == "centre" else 6,
                            color="#ffffff", weight=1.5, fill=True, fill_color=colour,
                            fill_opacity=1.0 if r["counted"] else 0.5,
                            tooltip=folium.Tooltip(label)).add_to(fg)
    if extra_facilities is not None and len(extra_facilities):
        for _, r in extra_facilities.to_crs(4326).iterrows():
            folium.CircleMarker([r.geometry.y, r.geometry.x], radius=7, color="#000000", weight=2,
                                dash_array="3 2", fill=True, fill_color=KIND_COLOURS["station"],
                                tooltip=folium.Tooltip(html_lib.escape(str(r.get("name", t("scenario_station", lang)))))
                                ).add_to(fg)
    fg.add_to(m)


def _add_scenario(m: folium.Map, result, lang: str) -> None:
    """A scenario's added (dashed magenta ring) and removed (hollow, dashed red ring) facilities, as one layer."""
    sc = getattr(result, "scenario", None)
    if not sc:
        return
    e = html_lib.escape
    fg = folium.FeatureGroup(name=t("layer_scenario", lang), show=True)
    for f in sc["added"] + sc["removed"]:
        added = f["change"] == "added"
        label = (f"<b>{e(t('change_' + f['change'], lang))}</b><br>{e(str(f['name']))}"
                 f"<br>{e(t('kind_' + f['kind'], lang, default=f['kind']))}<br>{e(str(f.get('subdistrict') or '—'))}")
        folium.CircleMarker([f["lat"], f["lon"]], radius=8, color=SCENARIO_ADDED_COLOUR if added else SCENARIO_REMOVED_COLOUR,
                            weight=2.5, dash_array="3 2", fill=True,
                            fill_color=KIND_COLOURS.get(f["kind"], KIND_COLOURS["station"]) if added else "#ffffff",
                            fill_opacity=1.0 if added else 0.7, tooltip=folium.Tooltip(label)).add_to(fg)
    fg.add_to(m)


def _plan_legend(m: folium.Map, result, lang: str, share: str, show: Sequence[str]) -> None:
    """The legend: kinds, coverage classes, the isochrone times drawn, proposals."""
    legend = [(KIND_COLOURS["centre"], t("kind_centre", lang)), (KIND_COLOURS["station"], t("kind_station", lang)),
              (KIND_COLOURS["hospital"], t("kind_other", lang)), ("#e31a1c", t("uncovered", lang))]
    name = t(share, lang, r=result.params.radius_m, m=result.params.minutes)
    # the top class is "everyone covered" (share ≥ 0.999, i.e. 100 % once rounded), not "≥ 100%"
    legend += [(c, f"{name} = 100%" if lo >= 0.99 else f"{name} ≥ {lo:.0%}" if lo >= 0 else f"{name} < 25%")
               for lo, c in SHARE_BINS]
    drawn = sorted(result.isochrones["minutes"].unique()) if len(result.isochrones) else []
    legend += [(ISO_COLOURS.get(int(k), "#41ab5d"), t("layer_isochrone", lang, m=k)) for k in drawn]
    if "proposals" in show and getattr(result, "siting", None) is not None:
        legend.append(("#000000", t("layer_proposals", lang)))
    if getattr(result, "scenario", None) and "facilities" in show:
        legend += [(SCENARIO_ADDED_COLOUR, f'{t("scenario_col", lang)}: {t("change_added", lang)}'),
                   (SCENARIO_REMOVED_COLOUR, f'{t("scenario_col", lang)}: {t("change_removed", lang)}')]
    add_legend(m, t("legend", lang), legend)


def add_proposals_to_map(siting: SitingResult, m: folium.Map, lang: str = "zh") -> None:
    """Add the proposed sites and their isochrones as two layers of a folium map."""

    if len(siting.isochrones):
        fg = folium.FeatureGroup(name=t("layer_proposal_isochrones", lang), show=True)
        for minutes in sorted(siting.isochrones["minutes"].unique(), reverse=True):
            iso = siting.isochrones[siting.isochrones["minutes"] == minutes]
            g = simplify_for_web(gpd.GeoDataFrame({"minutes": [minutes]},
                                                  geometry=[shapely.union_all(iso.geometry.values)],
                                                  crs=iso.crs), 5.0)
            folium.GeoJson(g, style_function=lambda f: {"fillColor": "#525252", "color": "#000000",
                                                        "weight": 1, "dashArray": "4 3", "fillOpacity": 0.12},
                           interactive=False).add_to(fg)
        fg.add_to(m)
    fg = folium.FeatureGroup(name=t("layer_proposals", lang), show=True)
    e = html_lib.escape
    for rec in siting.records():
        serves = ", ".join(t(SERVES_I18N.get(s, s), lang, r=siting.info.get("radius_m"), m=siting.info.get("minutes"))
                           for s in rec["serves"]) or "—"
        label = (f"<b>{e(t('rank', lang))} {rec['rank']}</b> · {e(t('kind_' + rec['kind'], lang))}"
                 + (f"<br>{e(str(rec['name']))}" if rec.get("name") else "")
                 + f"<br>{e(t('adds_population', lang))}: {rec['adds_population']:,.0f}"
                 + f"<br>{e(t('serves', lang))}: {e(serves)}"
                 + f"<br>{e(t('subdistrict', lang))}: {e(str(rec['subdistrict'] or '—'))}"
                 + f" · {e(t('community', lang))}: {e(str(rec['community'] or '—'))}"
                 + f"<br>{e(t('nearest_street', lang))}: {e(str(rec['nearest_street'] or '—'))}")
        folium.CircleMarker([rec["lat"], rec["lon"]], radius=9 if rec["kind"] == "centre" else 7,
                            color="#000000", weight=2.5, fill=True,
                            fill_color=KIND_COLOURS.get(rec["kind"], KIND_COLOURS["station"]), fill_opacity=0.95,
                            tooltip=folium.Tooltip(label)).add_to(fg)
    fg.add_to(m)

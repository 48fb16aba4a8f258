"""一刻钟健康医疗圈规划 — the Streamlit app: ``streamlit run app.py``.

A thin shell over the same library calls as the command line
(:func:`coverage.study.load_study_area`, :func:`coverage.pipeline.run_plan`,
:func:`coverage.siting.propose.propose_sites`, :mod:`coverage.outputs`); the helpers it
needs that are not analysis live in :mod:`coverage.webapp.state`.

The page is built by named functions, top to bottom: :func:`sidebar_data`,
:func:`sidebar_parameters`, :func:`compute_plan`, :func:`headline`,
:func:`map_and_scenario`, :func:`tables`, :func:`capacity_section`,
:func:`optimiser` and :func:`downloads`; :func:`main` calls them in order.

Starts on the embedded Haibowan demo, or on the folder named by the
``COVERAGE_APP_DATA`` environment variable. The map needs no internet
(:func:`coverage.outputs.offline.prepare_for_streamlit`).

Caching: the study (the walking network) is kept by ``st.cache_resource``
keyed by the data source; plan results, the demand points and scenario studies
are kept in one ``st.cache_resource`` LRU store keyed by data source,
parameters, counted kinds and scenario. Language, map layers and the shading
share are display settings only: changing them never recomputes distances.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from coverage import params as P
from coverage.errors import CoverageInputError
from coverage.i18n import t
from coverage.outputs.capacity import one
from coverage.outputs.mapview import LAYER_KEYS, plan_map
from coverage.outputs.offline import new_map, prepare_for_streamlit
from coverage.params import CoverageParams
from coverage.pipeline import run_plan
from coverage.read.safety import MAX_UPLOAD_BYTES
from coverage.rulesets import DEFAULT_RULE_SET, preset_names
from coverage.siting.propose import propose_sites
from coverage.webapp.capacity import capacity_view
from coverage.webapp.folders import folder_policy, list_data_folders, resolve_in_root
from coverage.webapp.groups import GROUPS, age_upload, group_figures, group_result, group_row, gtr
from coverage.webapp.mapui import app_map, view_key
from coverage.webapp.ruleedit import edited_rule_sets, edits_key, threshold_fields
from coverage.webapp.state import (
    COORDINATE_SYSTEMS,
    DECLARABLE_LAYERS,
    PRESETS,
    UPLOAD_LAYERS,
    LRUStore,
    Scenario,
    before_after,
    compliance_csv_bytes,
    compliance_xlsx_bytes,
    counted_study,
    declare_coordinate_system,
    demo_source,
    discard_upload,
    facility_options,
    folder_source,
    groups_display,
    in_study_area,
    load_source,
    md_escape,
    offset_notice,
    overall_figures,
    params_key,
    proposals_bytes,
    proposals_display,
    report_bytes,
    rule_sets_display,
    rules_display,
    save_uploads,
    siting_available,
    skipped_table,
    source_label,
    station_at,
    style_verdicts,
    summary_bytes,
    tr,
    upload_base_meta,
    upload_error,
    upload_root_dir,
    upload_source,
    worst_communities,
)

st.set_page_config(page_title="一刻钟健康医疗圈规划 · 15-minute health circle", layout="wide")  # no emoji icon
ss = st.session_state

#: Values of the choice widgets (:func:`choice`) under language-independent keys, before any choice.
CHOICE_DEFAULTS: dict[str, Any] = {
    "src_mode": "demo", "up_cs": "wgs84", "folder_cs": "wgs84", "coord_cs": "wgs84", "p_preset": "15",
    "p_share": "walk_share", "p_layers": list(LAYER_KEYS), "scenario_removed": [], "cap_assign": "nearest",
    "opt_mode": "auto", "opt_for": "radius", "p_rule_sets": [DEFAULT_RULE_SET], "p_basemap": "none",
}
#: Page style: headline labels wrap instead of being cut ("Within 500 m (net…" at 1366×768), less space above
#: the title, and the pass/fail badges of messages (text on colour: readable without an emoji font).
PAGE_CSS = """<style>
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  line-height: 1.25 !important; height: auto !important; }
[data-testid="stMetricLabel"] { min-height: 2.6em; }  /* values in line when some labels take two lines */
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
</style>"""
STREET_TYPES = ["osm", "xml", "graphml", "pbf", "geojson", "json", "gpkg", "zip", "fgb", "kml"]
LAYER_TYPES = ["geojson", "json", "gpkg", "zip", "fgb", "kml", "csv", "txt", "xlsx", "xls"]


@dataclasses.dataclass
class Page:
    """What one run of the script computed, handed from section to section."""

    lang: str
    source: tuple
    study0: Any          # the loaded StudyArea (all facilities)
    study: Any           # with the counted kinds set
    params: CoverageParams
    base: Any            # PlanResult without the scenario
    result: Any          # PlanResult with the scenario (``base`` when there is none)
    result_key: tuple
    scenario: Scenario
    siting: Any          # SitingResult of ``result``, or None
    accepted: tuple      # ranks of its proposals accepted into the scenario since
    shown: Any           # ``result`` with the proposals not yet accepted attached (map, report)
    notices: Any         # containers above the headline
    progress: Any
    basemap: tuple = (None, None)  # (basemap name or None, Tianditu key): the map only, never a download


# --------------------------------------------------------------------------
# Caches
# --------------------------------------------------------------------------

@st.cache_resource(max_entries=4, show_spinner=False)
def cached_study(source: tuple):
    """The StudyArea of a data source (builds the walking network: the slow step)."""
    return load_source(source)


@st.cache_resource(show_spinner=False)
def result_store() -> LRUStore:
    """Plan results, demand points and scenario studies, shared by all sessions."""
    return LRUStore(maxsize=32)


# --------------------------------------------------------------------------
# Session state
# --------------------------------------------------------------------------

def _init_state() -> None:
    ss.setdefault("lang", "zh")
    if "source" not in ss:
        env = os.environ.get("COVERAGE_APP_DATA")
        ss["source"] = demo_source()
        if env:
            try:
                ss["source"] = folder_source(env)
            except CoverageInputError as exc:
                ss["load_error"] = str(exc)
    ss.setdefault("load_error", None)
    for name, value in CHOICE_DEFAULTS.items():
        ss.setdefault(name, list(value) if isinstance(value, list) else value)
    for key, name in (("p_radius", "radius_m"), ("p_minutes", "minutes"), ("p_speed", "speed_kmh")):
        ss.setdefault(key, PRESETS["15"][name])
    ss.setdefault("p_max_snap", P.DEFAULT_MAX_SNAP_M)
    ss.setdefault("p_target", P.DEFAULT_TARGET_SHARE)
    ss.setdefault("scenario_added", [])
    ss.setdefault("click_add", False)  # add-station mode: off, so a click to inspect a facility adds nothing
    ss.setdefault("last_click", None)
    ss.setdefault("flash", [])
    ss.setdefault("siting", None)


def choice(widget, name: str, label: str, options, format_func, on_change=None, **kwargs):
    """A radio, selectbox or multiselect whose value lives in ``ss[name]``, whatever the language.

    Streamlit keeps a choice widget's value as the *formatted label* of the
    option: after a language switch (or a new walking time in a label) the old
    label matches no option, and the widget shows no selection or drops its tags.
    So the value is kept under the language-independent ``name``, and the
    widget's key carries a digest of its labels: new labels make a new widget,
    seeded from ``ss[name]``; a choice by the user is copied back to ``ss[name]``.
    """
    options = list(options)
    labels = "\x1f".join(str(format_func(o)) for o in options)
    key = f"{name}@{hashlib.sha1(labels.encode('utf-8')).hexdigest()[:10]}"
    if key not in ss or ss[key] != ss[name]:
        ss[key] = ss[name]

    def sync() -> None:
        ss[name] = ss[key]
        if on_change is not None:
            on_change()

    return widget(label, options, key=key, format_func=format_func, on_change=sync, **kwargs)


def _apply_preset() -> None:
    p = PRESETS.get(ss["p_preset"])
    if p:
        ss["p_radius"], ss["p_minutes"], ss["p_speed"] = p["radius_m"], p["minutes"], p["speed_kmh"]


def _mark_custom() -> None:
    now = (float(ss["p_radius"]), float(ss["p_minutes"]), float(ss["p_speed"]))
    ss["p_preset"] = next((k for k, p in PRESETS.items() if (p["radius_m"], p["minutes"], p["speed_kmh"]) == now),
                          "custom")


def _reset_scenario() -> None:
    ss["scenario_added"] = []
    ss["scenario_removed"] = []
    ss["siting"] = None


def _undo_last() -> None:
    ss["scenario_added"] = ss["scenario_added"][:-1]


def _add_station(name: str, lon: float, lat: float, study, lang: str) -> None:
    ss["scenario_added"] = ss["scenario_added"] + [(name, float(lon), float(lat))]
    ss["flash"].append(("toast", tr("added_toast", lang, name=md_escape(name))))
    if not in_study_area(study, lon, lat):
        ss["flash"].append(("warning", tr("outside_warning", lang, name=md_escape(name))))


def _error_text(exc: Exception, source: tuple | None = None) -> dict[str, str]:
    """The error in both languages (``{"zh": …, "en": …}``), an upload's files named as uploaded."""
    if source is not None:
        exc = upload_error(exc, source)
    if isinstance(exc, CoverageInputError):
        return {lang: exc.text(lang) for lang in ("zh", "en")}
    return {lang: f"{type(exc).__name__}: {exc}" for lang in ("zh", "en")}


def _in_lang(text, lang: str) -> str:
    """An error kept by :func:`_error_text` (or a plain string) in the page's language."""
    return text.get(lang) or text.get("en", "") if isinstance(text, dict) else str(text)


def _cs_labels(lang: str) -> dict[str, str]:
    return {k: (zh if lang == "zh" else en) for k, zh, en in COORDINATE_SYSTEMS}


# --------------------------------------------------------------------------
# Sidebar: language and data
# --------------------------------------------------------------------------

def page_top() -> tuple[str, Any, Any]:
    """Language switch, title, and the two containers above the headline (messages, progress)."""
    lang = st.sidebar.radio(tr("language", "zh"), ["zh", "en"], key="lang", horizontal=True,
                            format_func=lambda x: {"zh": "中文", "en": "English"}[x])
    st.html(PAGE_CSS)
    st.title(tr("app_title", lang))
    # Conditional messages and progress go into two containers that always exist, so that the map below keeps
    # its place in the page (a new place would remount the st_folium component and reload the map).
    notices = st.container()
    progress = st.empty()  # a placeholder: emptied once a computation is done (the time goes to a toast)
    for kind, text in ss["flash"]:
        if kind == "toast":
            st.toast(text)
        else:  # above the headline, and as a toast: seen wherever the page is scrolled (at the map, say)
            notices.warning(text)
            st.toast(text, icon=":material/warning:")
    ss["flash"] = []
    return lang, notices, progress


def _upload_request(lang: str, current_study) -> tuple | None:
    """The upload widgets; the data source of the uploaded files once the button is pressed."""
    st.sidebar.caption(tr("upload_help", lang, mb=MAX_UPLOAD_BYTES / 1024 / 1024))
    uploads = {}
    for layer in UPLOAD_LAYERS:
        uploads[layer] = st.sidebar.file_uploader(tr(f"layer_name_{layer}", lang), key=f"up_{layer}",
                                                  type=STREET_TYPES if layer == "streets" else LAYER_TYPES)
    folder_zip = st.sidebar.file_uploader(tr("upload_folder_zip", lang), type=["zip"], key="up_folder")
    cs_labels = _cs_labels(lang)
    choice(st.sidebar.selectbox, "up_cs", tr("coordinate_system", lang), cs_labels, cs_labels.get,
           help=tr("coordinate_help", lang))
    up_cs = ss["up_cs"]
    if not st.sidebar.button(tr("load_upload", lang), type="primary"):
        return None
    try:
        given = {k: (f.name, f.getvalue()) for k, f in uploads.items() if f is not None}
        base = current_study.sources if current_study is not None else None
        folder = save_uploads(given, folder_zip=(folder_zip.name, folder_zip.getvalue()) if folder_zip else None,
                              coordinate_systems=dict.fromkeys(DECLARABLE_LAYERS, up_cs), base_files=base,
                              base_meta=upload_base_meta(current_study.meta) if current_study is not None else None)
        return upload_source(folder)
    except Exception as exc:  # noqa: BLE001 (any failure is shown, the app stays alive)
        ss["load_error"] = _error_text(exc)
    return None


def _folder_request(lang: str) -> tuple | None:
    """The server-folder widgets; the folder's data source once the button is pressed.

    Which folders are offered is the server's policy (:func:`coverage.webapp.folders.folder_policy`): a list
    under ``COVERAGE_APP_DATA_ROOT``, a free path only in single-user mode, else the demo only.
    """
    policy = folder_policy()
    if policy.mode == "demo":
        st.sidebar.info(tr("folders_demo_only", lang), icon=":material/info:")
        if ss["source"] != demo_source() and st.sidebar.button(tr("load_demo", lang), key="folder_demo"):
            return demo_source()
        return None
    if policy.mode == "free":
        path = st.sidebar.text_input(tr("folder_path", lang), key="folder_path", help=tr("folder_help", lang))
    else:
        names = list_data_folders(policy.root, exclude=(upload_root_dir(),))
        if not names:
            st.sidebar.caption(tr("folder_none", lang))
            return None
        path = st.sidebar.selectbox(tr("folder_pick", lang), names, key="folder_pick",
                                    help=tr("folder_pick_help", lang)) or ""
    cs_labels = _cs_labels(lang)
    choice(st.sidebar.selectbox, "folder_cs", tr("coordinate_system", lang), cs_labels, cs_labels.get,
           help=tr("coordinate_help", lang))
    f_cs = ss["folder_cs"]
    if st.sidebar.button(tr("load_folder", lang), type="primary", disabled=not path.strip()):
        try:
            if policy.mode == "root":  # checked again now: the folder may have become a symlink since listing
                path = resolve_in_root(policy.root, path, exclude=(upload_root_dir(),))
            return folder_source(path, dict.fromkeys(DECLARABLE_LAYERS, f_cs))
        except Exception as exc:  # noqa: BLE001 (any failure is shown, the app stays alive)
            ss["load_error"] = _error_text(exc)
    return None


def sidebar_data(lang: str, notices, progress) -> tuple[tuple, Any]:
    """The data source chooser; loads a requested source, keeping the old one when it fails."""
    st.sidebar.header(tr("data", lang))
    choice(st.sidebar.radio, "src_mode", tr("source_mode", lang), ["demo", "upload", "folder"],
           lambda m: tr(f"mode_{m}", lang))
    mode = ss["src_mode"]
    error_before = ss["load_error"]
    try:
        current_study = cached_study(ss["source"])
    except Exception as exc:  # noqa: BLE001 (unreadable start folder: say so, fall back to the demo)
        ss["load_error"] = _error_text(exc)
        ss["source"] = demo_source()
        current_study = None
    requested = None
    if mode == "demo":
        if ss["source"] != demo_source() and st.sidebar.button(tr("load_demo", lang), type="primary"):
            requested = demo_source()
    elif mode == "upload":
        requested = _upload_request(lang, current_study)
    else:
        requested = _folder_request(lang)
    if requested is not None:
        try:
            with notices, st.spinner(tr("loading_data", lang)):
                cached_study(requested)
            ss["source"] = requested
            ss["load_error"] = None
            _reset_scenario()
            for key in ("coord_lon", "coord_lat"):
                ss.pop(key, None)
        except Exception as exc:  # noqa: BLE001 (any failure is shown, the app stays alive)
            ss["load_error"] = _error_text(exc, requested)
            discard_upload(requested)  # a failed upload's folder is of no further use
    if ss["load_error"] and ss["load_error"] is not error_before:  # new: a toast, seen wherever one has scrolled
        st.toast(md_escape(_in_lang(ss["load_error"], lang)), icon=":material/error:")
    if ss["load_error"]:
        # above the headline, and in the sidebar where the planner pressed the button
        message = tr("load_failed", lang, msg=md_escape(_in_lang(ss["load_error"], lang)))
        for where in (notices, st.sidebar):
            where.error(message, icon=":material/error:")
            where.caption(tr("still_showing", lang))
    with progress, st.spinner(tr("loading_data", lang)):
        study0 = cached_study(ss["source"])
    return ss["source"], study0


# --------------------------------------------------------------------------
# Sidebar: parameters and display
# --------------------------------------------------------------------------

def rule_thresholds(lang: str) -> None:
    """Number inputs for the chosen rule sets' thresholds, keyed by set, rule and parameter; each names its document."""
    groups = [(rs, fields) for rs, fields in threshold_fields(ss["p_rule_sets"], lang) if fields]
    if not groups:
        return
    with st.sidebar.expander(tr("rule_thresholds", lang)):
        st.caption(tr("rule_thresholds_help", lang))
        for rs, fields in groups:
            st.markdown(f"**{md_escape(rs.name_zh if lang == 'zh' else rs.name_en)}**")
            st.caption(md_escape(tr("rs_document", lang) + ": " + (rs.document or rs.id)))
            for f in fields:
                ss.setdefault(f.key, f.value)
                st.number_input(f.label, min_value=f.low, max_value=f.high, step=f.step, format=f.format, key=f.key,
                                help=f.help)
        try:
            changes = edits_key(edited_rule_sets(ss["p_rule_sets"], ss))
        except CoverageInputError as exc:  # e.g. a range written high below low: said, the document's values kept
            st.error(md_escape(_error_text(exc)), icon=":material/error:")
            return
        if changes:
            st.caption(md_escape(tr("rt_edited", lang, changes="; ".join(f"{s}: {c}" for s, c in changes))))


def active_rule_sets() -> tuple[tuple, tuple]:
    """The chosen rule sets with the planner's thresholds, and their cache key (names + edits)."""
    names = tuple(ss["p_rule_sets"])
    try:
        sets = edited_rule_sets(names, ss)
    except CoverageInputError:  # shown by rule_thresholds; check the documents' values meanwhile
        sets = edited_rule_sets(names, {})
    return sets, (names, edits_key(sets))


def sidebar_parameters(study0, lang: str) -> tuple[CoverageParams, tuple]:
    """Preset, thresholds, counted kinds, advanced settings and display choices."""
    st.sidebar.header(tr("parameters", lang))
    choice(st.sidebar.selectbox, "p_preset", tr("preset", lang), ["15", "10", "5", "custom"],
           lambda p: tr(f"preset_{p}", lang), on_change=_apply_preset, help=tr("parameters_help", lang))
    st.sidebar.number_input(tr("radius_m", lang), min_value=50.0, max_value=5000.0, step=50.0, format="%.0f",
                            key="p_radius", on_change=_mark_custom)
    st.sidebar.number_input(tr("minutes", lang), min_value=1.0, max_value=60.0, step=1.0, format="%.0f",
                            key="p_minutes", on_change=_mark_custom)
    st.sidebar.number_input(tr("speed_kmh", lang), min_value=1.0, max_value=8.0, step=0.1, format="%.1f",
                            key="p_speed", on_change=_mark_custom)
    st.sidebar.caption(tr("walk_distance", lang, d=ss["p_minutes"] * ss["p_speed"] * 1000 / 60))
    kind_options = sorted(set(study0.facilities["kind"]), key=lambda k: (k not in P.DEFAULT_COUNTED_KINDS, k))
    if "p_kinds" not in ss or not set(ss["p_kinds"]) <= set(kind_options):
        ss["p_kinds"] = [k for k in ss.get("p_kinds", list(P.DEFAULT_COUNTED_KINDS)) if k in kind_options] or \
            [k for k in P.DEFAULT_COUNTED_KINDS if k in kind_options]
    choice(st.sidebar.multiselect, "p_kinds", tr("counted_kinds", lang), kind_options,
           lambda k: tr(f"ckind_{k}", lang, default=k) if k else k)
    choice(st.sidebar.multiselect, "p_rule_sets", tr("rule_sets", lang), preset_names(), lambda n: n,
           help=tr("rule_sets_help", lang))
    rule_thresholds(lang)
    with st.sidebar.expander(tr("advanced", lang)):
        st.number_input(tr("max_snap_m", lang), min_value=10.0, max_value=2000.0, step=10.0, key="p_max_snap")
        st.slider(tr("target_share", lang), min_value=0.5, max_value=1.0, step=0.01, key="p_target")

    st.sidebar.header(tr("display", lang))
    share_labels = {"walk_share": tr("walk_share", lang, m=ss["p_minutes"]),
                    "radius_share": tr("radius_share", lang, r=ss["p_radius"])}
    choice(st.sidebar.radio, "p_share", tr("shade_by", lang), share_labels, share_labels.get)
    choice(st.sidebar.multiselect, "p_layers", tr("layers", lang), LAYER_KEYS, lambda k: tr(f"layer_key_{k}", lang))
    params = CoverageParams(radius_m=float(ss["p_radius"]), minutes=float(ss["p_minutes"]),
                            speed_kmh=float(ss["p_speed"]), max_snap_m=float(ss["p_max_snap"]),
                            target_share=float(ss["p_target"]))
    return params, tuple(sorted(ss["p_kinds"]))


BASEMAP_CHOICES = ("none", "osm", "tianditu")


def sidebar_basemap(lang: str) -> tuple[str | None, str | None]:
    """An optional online basemap (off by default: the map stays offline); the Tianditu key is per session.

    Returns the basemap for :func:`coverage.outputs.mapview.plan_map` (None, ``"osm"`` or ``"tianditu"``)
    and the key; Tianditu without a usable key draws no basemap, with a warning.
    """
    choice(st.sidebar.selectbox, "p_basemap", tr("basemap", lang), BASEMAP_CHOICES,
           lambda b: tr(f"basemap_{b}", lang), help=tr("basemap_help", lang))
    name = ss["p_basemap"]
    if name == "none":
        return None, None
    if name == "osm":
        return "osm", None
    key = st.sidebar.text_input(tr("tianditu_key", lang), key="tianditu_key", type="password",
                                help=tr("tianditu_key_help", lang)).strip()
    try:
        new_map(basemap="tianditu", tianditu_key=key)  # the same check the map makes: refuse early, not in the map
    except CoverageInputError:
        st.sidebar.warning(tr("tianditu_key_missing", lang), icon=":material/warning:")
        return None, None
    return "tianditu", key


# --------------------------------------------------------------------------
# Computing (cached)
# --------------------------------------------------------------------------

def _compute(study, key: tuple, label: str, source: tuple, params: CoverageParams, lang: str, progress,
             **plan: Any):
    """run_plan with a progress bar, once per key; the demand points are reused per data source.

    ``plan``: more run_plan arguments (a scenario and its baseline plan).
    """
    store = result_store()
    result = store.get(key)
    if result is not None:
        return result
    with store.computing(key):  # another session computing the same key: wait for its result
        result = store.get(key)
        if result is None:
            result = _run(study, key, label, source, params, lang, progress, **plan)
    return result


def _run(study, key: tuple, label: str, source: tuple, params: CoverageParams, lang: str, progress,
         **plan: Any):
    """run_plan with a progress bar; stores the result (and the data source's demand points)."""
    store = result_store()
    ss["computations"] = ss.get("computations", 0) + 1  # tests check display settings never get here
    with progress.container(), st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text=label)
        t0 = time.perf_counter()
        demand = store.get(("demand", source))
        try:
            result = run_plan(study, params, demand=demand, rule_sets=active_rule_sets()[0], **plan,
                              age_table=ss["age_table"][1] if ss.get("age_table") else None,
                              progress=lambda msg, frac: bar.progress(min(max(float(frac), 0.0), 1.0), text=msg))
        except Exception as exc:  # noqa: BLE001 (any failure is shown, the app stays alive)
            status.update(label=tr("error_title", lang), state="error")
            st.error(md_escape(_in_lang(_error_text(exc, source), lang)), icon=":material/error:")
            st.stop()
        if demand is None:
            store.put(("demand", source), result.demand)
    progress.empty()
    st.toast(tr("computed", lang, s=time.perf_counter() - t0))
    return store.put(key, result)


def compute_plan(lang: str, source: tuple, study0, params: CoverageParams, kinds: tuple, notices,
                 progress) -> Page:
    """The plan without and with the scenario (both cached), and the optimiser's proposals if any."""
    store = result_store()
    base_key = (source, params_key(params), kinds, active_rule_sets()[1],
                ss["age_table"][0] if ss.get("age_table") else None)  # the age table's digest (sidebar_age_table)
    study = store.get_or_compute(("study", source, kinds), lambda: counted_study(study0, kinds))
    base = _compute(study, base_key, tr("computing", lang), source, params, lang, progress)
    ss["scenario_removed"] = [i for i in ss["scenario_removed"] if i in study.facilities.index]
    scenario = Scenario(tuple(ss["scenario_added"]), tuple(ss["scenario_removed"]))
    if scenario.empty:
        result, result_key = base, base_key
    else:
        result_key = base_key + (scenario.key(),)
        # the library applies the edits and records them with the baseline: every download labels the scenario
        result = _compute(study, result_key, tr("scenario_computing", lang), source, params, lang, progress,
                          scenario=scenario, baseline=base)
    # proposals belong to the result they were made for; accepting some re-keys them to the new scenario
    kept = ss["siting"]
    siting = kept["result"] if kept is not None and kept["key"] == result_key else None
    accepted = tuple(kept["accepted"]) if siting is not None else ()
    shown = dataclasses.replace(result, siting=_remaining(siting, accepted)) if siting is not None else result
    return Page(lang, source, study0, study, params, base, result, result_key, scenario, siting, accepted, shown,
                notices, progress)


def _remaining(siting, accepted: tuple):
    """The siting result without the proposals already accepted (they are scenario stations now)."""
    if not accepted:
        return siting
    return dataclasses.replace(siting, proposals=siting.proposals[~siting.proposals["rank"].isin(accepted)])


# --------------------------------------------------------------------------
# Population groups (issue 21): the age table and the group selector
# --------------------------------------------------------------------------

def sidebar_age_table(lang: str, study0) -> None:
    """The optional age table (65+ per community), read and checked as ``--age-table``; kept in ``ss["age_table"]``
    as (digest, table), or None. A bad file is named in the sidebar and not used."""
    # label and help in both languages at once: a new label would make a new widget and drop the file on a switch
    up = st.sidebar.file_uploader(" / ".join(gtr("age_upload", g) for g in ("zh", "en")), key="up_age",
                                  type=["csv", "txt", "xlsx", "xls"],
                                  help="  \n".join(gtr("age_upload_help", g) for g in ("zh", "en")))
    ss["age_table"] = None
    if up is None:
        return
    try:
        ss["age_table"] = age_upload(up.name, up.getvalue(), study0.communities)
    except CoverageInputError as exc:
        st.sidebar.error(gtr("age_failed", lang, msg=md_escape(str(exc))), icon=":material/error:")
        return
    st.sidebar.caption(gtr("age_loaded", lang, name=md_escape(up.name), n=len(ss["age_table"][1])))


def group_selector(pg: Page) -> None:
    """人群 / Group: all residents or the 65+, kept by value in ``ss["group"]`` across language switches."""
    ss.setdefault("group", GROUPS[0])
    labels = {g: gtr(f"group_{g}", pg.lang) for g in GROUPS}
    choice(st.radio, "group", gtr("group", pg.lang), labels, labels.get, horizontal=True,
           help=gtr("group_help", pg.lang))


def group_headline(pg: Page) -> bool:
    """The chosen group's headline figures (with scenario deltas); True when shown. A group without age data
    shows what to add instead, and the all-residents figures follow (False)."""
    lang, params, group = pg.lang, pg.params, ss["group"]
    if group == "all":
        return False
    now = group_figures(pg.result.groups, group)
    if now is None:
        row = group_row(pg.result.groups, group) or {}
        st.info(md_escape(row.get("note_zh" if lang == "zh" else "note_en", "")) + "  \n" + gtr("g_all_shown", lang),
                icon=":material/info:")
        return False
    before = group_figures(pg.base.groups, group) if not pg.scenario.empty else None

    def delta(key: str) -> str | None:
        if before is None or now[key] is None or before[key] is None:
            return None
        d = now[key] - before[key]
        return f"{d:+,.0f}" if key == "uncovered" else f"{d * 100:+.1f} pp"

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.1%}"
    plan_speed = (group_row(pg.result.groups, "all") or {}).get("speed_kmh", params.speed_kmh)
    cols = st.columns(5)
    cols[0].metric(gtr("g_m_population", lang), f"{now['population']:,.0f}")
    cols[1].metric(gtr("g_m_radius", lang, r=params.radius_m), pct(now["radius_share"]), delta("radius_share"))
    cols[2].metric(gtr("g_m_walk", lang, m=params.minutes, v=plan_speed), pct(now["walk_share"]),
                   delta("walk_share"))
    cols[3].metric(gtr("g_m_elderly", lang, m=params.minutes, v=now["speed_kmh"]), pct(now["profile_walk_share"]),
                   delta("profile_walk_share"))
    cols[4].metric(gtr("g_m_uncovered", lang), f"{now['uncovered']:,.0f}", delta("uncovered"), delta_color="inverse")
    st.caption(md_escape(gtr("g_shown", lang, v=now["speed_kmh"], m=params.minutes,
                             a=now["assumption_zh" if lang == "zh" else "assumption_en"])))
    return True


# --------------------------------------------------------------------------
# Headline
# --------------------------------------------------------------------------

def _title(pg: Page) -> str:
    meta = pg.study0.meta
    return (meta.get("title") if pg.lang == "zh" else meta.get("title_en")) or pg.study0.title


def _treat_as(layer: str, system: str, short: str, lang: str) -> None:
    """The one-click fix of :func:`_offset_warning`: the app's coordinate-system choice for ``layer``, then reload."""
    source = ss["source"]
    if source[0] in ("upload", "folder"):  # the choice in the sidebar shows what is now declared
        ss["up_cs" if source[0] == "upload" else "folder_cs"] = system
    ss["source"] = declare_coordinate_system(source, layer, system)
    ss["load_error"] = None
    _reset_scenario()
    ss["flash"].append(("toast", tr("offset_fixed", lang, short=short)))


def _offset_warning(pg: Page) -> None:
    """Facilities that look like undeclared GCJ-02/BD-09: a warning above the headline with the one-click fix."""
    notice = offset_notice(pg.base, pg.lang)
    if notice is None:
        return
    pg.notices.warning(notice["text"], icon=":material/warning:")  # the app's own words and figures
    pg.notices.button(notice["button"], key="offset_fix", type="primary", on_click=_treat_as,
                      args=(notice["layer"], notice["system"], notice["short"], pg.lang))


def headline(pg: Page) -> None:
    """Data caption and the six headline figures (with scenario deltas)."""
    lang, params = pg.lang, pg.params
    st.caption(" · ".join([_title(pg)] + ([source_label(pg.source, lang)] if pg.source[0] != "demo" else [])
                          + [pg.study0.crs.name]))
    if pg.study0.synthetic:
        pg.notices.info(tr("synthetic", lang), icon=":material/info:")
    _offset_warning(pg)
    if pg.result.scenario is not None:  # the figures below are a scenario's, not the current state
        sc = pg.result.scenario
        st.warning(t("scenario_banner", lang, n=len(sc["added"]), m=len(sc["removed"])), icon=":material/science:")
    if group_headline(pg):
        return
    now = overall_figures(pg.result)
    before = overall_figures(pg.base) if not pg.scenario.empty else None

    def delta(key: str, pct: bool = True):
        if before is None:
            return None
        d = now[key] - before[key]
        return f"{d * 100:+.1f} pp" if pct else (f"{d:+,.0f}" if isinstance(d, float) else f"{d:+d}")

    cols = st.columns(6)
    cols[0].metric(tr("metric_population", lang), f"{now['population']:,.0f}")
    cols[1].metric(tr("radius_share", lang, r=params.radius_m), f"{now['radius_share']:.1%}", delta("radius_share"),
                   help=tr("metric_help_delta", lang))
    cols[2].metric(tr("radius_euclidean_share", lang, r=params.radius_m), f"{now['radius_euclidean_share']:.1%}",
                   delta("radius_euclidean_share"))
    cols[3].metric(tr("walk_share", lang, m=params.minutes), f"{now['walk_share']:.1%}", delta("walk_share"))
    cols[4].metric(tr("metric_passing", lang), f"{now['passing']} / {now['subdistricts']}", delta("passing", False))
    cols[5].metric(tr("metric_uncovered", lang), f"{now['uncovered_walk']:,.0f}", delta("uncovered_walk", False),
                   delta_color="inverse")


# --------------------------------------------------------------------------
# Map and scenario
# --------------------------------------------------------------------------

def _plan_map_view(pg: Page) -> None:
    """The plan map; a new click adds a hypothetical station when click-to-add is on."""
    lang = pg.lang
    # the scenario's added and removed facilities are a layer of the map (result.scenario)
    fmap = plan_map(group_result(pg.shown, ss["group"]), lang=lang, show=ss["p_layers"], share=ss["p_share"],
                    height="620px", basemap=pg.basemap[0], tianditu_key=pg.basemap[1],
                    uncovered_by="covered_radius" if ss["p_share"] == "radius_share" else "covered_walk")
    # the view (centre, zoom) is kept by the map itself across reruns: no center/zoom from here
    app_map(fmap, view_key(pg.source), tr("legend_toggle", lang))
    out = st_folium(prepare_for_streamlit(fmap), key="plan_map", height=620, use_container_width=True,
                    returned_objects=["last_clicked"])
    st.caption(tr("map_help_add" if ss["click_add"] else "map_help", lang))
    click = (out or {}).get("last_clicked")
    if click and click.get("lat") is not None:
        sig = (round(float(click["lat"]), 7), round(float(click["lng"]), 7))
        if sig != ss["last_click"]:
            ss["last_click"] = sig  # remembered even when adding is off, so that turning it on adds nothing stale
            if ss["click_add"]:
                _add_station(tr("scenario_station_name", lang, n=len(ss["scenario_added"]) + 1), sig[1], sig[0],
                             pg.study, lang)
                st.rerun()


def _add_by_coordinates(pg: Page) -> None:
    """Longitude/latitude (WGS84, GCJ-02 or BD-09) and a name: one more hypothetical station."""
    lang = pg.lang
    cs_labels = _cs_labels(lang)
    b = pg.study0.subdistricts.to_crs(4326).total_bounds
    ss.setdefault("coord_lon", round(float((b[0] + b[2]) / 2), 6))
    ss.setdefault("coord_lat", round(float((b[1] + b[3]) / 2), 6))
    st.number_input(tr("lon", lang), min_value=-180.0, max_value=180.0, step=0.0005, format="%.6f", key="coord_lon")
    st.number_input(tr("lat", lang), min_value=-90.0, max_value=90.0, step=0.0005, format="%.6f", key="coord_lat")
    choice(st.selectbox, "coord_cs", tr("coord_system", lang), list(cs_labels)[:3], cs_labels.get,
           help=tr("coordinate_help", lang))
    default_name = tr("scenario_station_name", lang, n=len(ss["scenario_added"]) + 1)
    st.text_input(tr("station_name", lang), key="coord_name", placeholder=default_name)
    if st.button(tr("add_station", lang), key="coord_add"):
        try:
            lon, lat = station_at(ss["coord_lon"], ss["coord_lat"], ss["coord_cs"])
        except CoverageInputError as exc:
            st.error(md_escape(exc.text(lang)), icon=":material/error:")
            return
        if not in_study_area(pg.study, lon, lat):  # a typo in the degrees, or the wrong coordinate system
            st.error(tr("coord_outside", lang, lon=float(ss["coord_lon"]), lat=float(ss["coord_lat"])),
                     icon=":material/error:")
            return
        _add_station(ss["coord_name"].strip() or default_name, lon, lat, pg.study, lang)
        st.rerun()


def _scenario_panel(pg: Page) -> None:
    """Click-to-add, the added stations, add by coordinates, removals and the before/after table."""
    lang, scenario = pg.lang, pg.scenario
    st.subheader(tr("scenario", lang))
    st.toggle(tr("click_to_add", lang), key="click_add")
    st.markdown(f"**{tr('added_stations', lang)}**")
    if ss["scenario_added"]:
        # name and position only: the narrow column shows them whole (the kind is in the map's tooltip)
        st.dataframe(pd.DataFrame([(n, round(x, 5), round(y, 5)) for n, x, y, _k in scenario.stations()],
                                  columns=[tr("station_name", lang), "lon", "lat"]),
                     hide_index=True, width="stretch")
        b1, b2 = st.columns(2)
        b1.button(tr("undo_last", lang), on_click=_undo_last, width="stretch")
        b2.button(tr("reset_scenario", lang), on_click=_reset_scenario, width="stretch")
    else:
        st.caption(tr("no_added", lang))
    with st.expander(tr("add_by_coords", lang)):
        _add_by_coordinates(pg)
    options = facility_options(pg.study, lang)
    choice(st.multiselect, "scenario_removed", tr("remove_existing", lang), options, options.get,
           placeholder=tr("remove_placeholder", lang))
    if scenario.empty:
        st.caption(tr("no_scenario", lang))


def _before_after(pg: Page) -> None:
    """Per-subdistrict verdicts and shares, current → scenario: under the map, where its columns fit."""
    if pg.scenario.empty:
        return
    st.markdown(f"**{tr('before_after', pg.lang)}**")
    st.dataframe(style_verdicts(before_after(pg.base, pg.result, pg.lang), pg.lang), hide_index=True,
                 width="stretch")
    st.caption(tr("before_after_help", pg.lang))


def map_and_scenario(pg: Page) -> None:
    """The map (three quarters of the width) beside the scenario panel."""
    map_col, side = st.columns([3, 1])
    with map_col:
        _plan_map_view(pg)
    with side:
        _scenario_panel(pg)
    _before_after(pg)


def tables(pg: Page) -> None:
    """Rules by subdistrict and the worst-served communities."""
    st.subheader(tr("rules_table", pg.lang))
    st.dataframe(style_verdicts(rules_display(pg.result, pg.lang), pg.lang), hide_index=True, width="stretch")
    st.subheader(tr("communities_table", pg.lang))
    st.dataframe(worst_communities(group_result(pg.result, ss["group"]), pg.lang, share=ss["p_share"]),
                 hide_index=True, width="stretch")
    summary = pg.result.summary()
    st.subheader(tr("rule_sets_table", pg.lang))
    st.dataframe(rule_sets_display(summary, pg.lang), hide_index=True, width="stretch")
    st.subheader(tr("groups_table", pg.lang))
    groups, notes = groups_display(summary, pg.lang)
    st.dataframe(groups, hide_index=True, width="stretch")
    for note in notes:
        st.caption(md_escape(note))


# --------------------------------------------------------------------------
# Capacity: facility load and residents covered within capacity
# --------------------------------------------------------------------------

def capacity_section(pg: Page) -> None:
    """Per-kind capacities (off unless set), the load bar chart and the before/after table."""
    lang = pg.lang
    st.subheader(one("load_title", lang))
    c1, c2, c3 = st.columns(3)
    station = c1.number_input(one("capacity_station", lang), min_value=0, value=0, step=500, key="cap_station")
    centre = c2.number_input(one("capacity_centre", lang), min_value=0, value=0, step=1000, key="cap_centre")
    choice(c3.radio, "cap_assign", one("assign", lang), ["nearest", "capacitated"], lambda k: one(k, lang),
           horizontal=True)
    assign = ss["cap_assign"]
    key = ("capacity", id(pg.result), station, centre, assign)
    if ss.get("capacity_view", (None,))[0] != key:
        ss["capacity_view"] = (key, capacity_view(pg.result, station or None, centre or None, assign,
                                                  pg.siting.info if pg.siting is not None else None))
    view = ss["capacity_view"][1]
    if view is None:
        st.caption(one("no_capacity", lang))
        return
    st.markdown(view["chart"], unsafe_allow_html=True)
    st.dataframe(view["before_after"], hide_index=True, width="stretch")


# --------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------

def _run_optimiser(pg: Page) -> None:
    """propose_sites on the result shown, with the chosen options; reruns with the proposals."""
    with st.status(tr("proposing", pg.lang, limit=f"{float(ss['opt_tl']):g}"), expanded=False) as status:
        try:
            proposal = propose_sites(pg.result, sites="auto" if ss["opt_mode"] == "auto" else int(ss["opt_n"]),
                                     site_for=ss["opt_for"], rules=bool(ss["opt_rules"]),
                                     time_limit=float(ss["opt_tl"]),
                                     progress=lambda msg, frac: status.update(label=msg))
            ss["siting"] = {"key": pg.result_key, "result": proposal, "accepted": []}
            status.update(state="complete")
            st.rerun()
        except Exception as exc:  # noqa: BLE001 (any failure is shown, the app stays alive)
            status.update(state="error")
            st.error(tr("siting_failed", pg.lang, msg=md_escape(_in_lang(_error_text(exc), pg.lang))),
                     icon=":material/error:")


def _proposals(pg: Page) -> None:
    """The proposals table, the figures if all are accepted, and accepting some into the scenario."""
    lang, siting, params = pg.lang, pg.siting, pg.params
    if len(siting.proposals) == 0:
        st.success(tr("no_proposals", lang))
        return
    if pg.accepted:
        st.caption(tr("accepted_already", lang, ranks=", ".join(f"#{r}" for r in pg.accepted)))
    table = proposals_display(_remaining(siting, pg.accepted), lang)
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch", column_config={"kind": None})
        _accept_form(pg, table)
    st.markdown(f"**{tr('after_siting', lang)}**")
    for col, k in zip(st.columns(3), ("radius", "radius_euclidean", "walk")):
        after = (siting.after or {}).get(k, {}).get("share")
        prior = (siting.before or {}).get(k, {}).get("share")
        if after is not None:
            col.metric(tr(f"{k}_share", lang, r=params.radius_m, m=params.minutes), f"{after:.1%}",
                       None if prior is None else f"{(after - prior) * 100:+.1f} pp")


def _accept_form(pg: Page, table: pd.DataFrame) -> None:
    """Tick proposals, then add them to the scenario in one go; the others stay proposed.

    A form: picking does not rerun the page, so the list stays open for the next pick.
    """
    lang = pg.lang
    rank = t("rank", lang)
    labels = {int(r): f"#{int(r)} {k} · {sd} · +{a}" for r, k, sd, a in
              zip(table[rank], table[tr("kind", lang)], table[t("subdistrict", lang)], table[t("adds_population", lang)])}
    # the key carries the labels, as in choice(): a new language or new proposals make a fresh list
    key = "accept@" + hashlib.sha1("\x1f".join(labels.values()).encode("utf-8")).hexdigest()[:10]
    with st.form("accept_form", border=False):
        st.multiselect(tr("accept_which", lang), list(labels), key=key, format_func=labels.get,
                       help=tr("accept_help", lang), placeholder=tr("accept_placeholder", lang))
        submitted = st.form_submit_button(tr("accept_selected", lang), key="opt_accept")
    if not submitted or not ss.get(key):
        return
    chosen = table[table[rank].isin(ss[key])]
    added = ss["scenario_added"] + [(tr("proposal_name", lang, n=int(r)), float(x), float(y), str(k))
                                    for r, x, y, k in zip(chosen[rank], chosen["lon"], chosen["lat"], chosen["kind"])]
    ss["scenario_added"] = added
    # the proposals follow the new scenario, less the accepted ones (base key + the new scenario's key)
    base_key = pg.result_key if pg.scenario.empty else pg.result_key[:-1]  # see compute_plan
    new_key = base_key + (Scenario(tuple(added), tuple(ss["scenario_removed"])).key(),)
    ss["siting"] = {**ss["siting"], "key": new_key,
                    "accepted": sorted(set(pg.accepted) | {int(r) for r in chosen[rank]})}
    ss["flash"].append(("toast", tr("accepted_toast", lang, n=len(chosen))))
    st.rerun()


def optimiser(pg: Page) -> None:
    """Siting options, the propose button and, once run, the proposals."""
    lang = pg.lang
    st.subheader(tr("optimiser", lang))
    if not siting_available():
        st.info(tr("siting_missing", lang))
        return
    o1, o2, o3, o4 = st.columns(4)
    choice(o1.radio, "opt_mode", tr("sites_mode", lang), ["auto", "n"],
           lambda m: tr("sites_auto" if m == "auto" else "sites_n", lang))
    o1.number_input(tr("sites_number", lang), min_value=1, max_value=100, value=3, step=1, key="opt_n")
    choice(o2.radio, "opt_for", tr("site_for", lang), ["radius", "walk"], lambda m: tr(f"site_for_{m}", lang))
    o3.checkbox(tr("site_rules", lang), key="opt_rules")
    o4.number_input(tr("time_limit", lang), min_value=5, max_value=600, value=int(P.APP_TIME_LIMIT_S), step=5,
                    key="opt_tl")
    if st.button(tr("propose", lang), type="primary", key="opt_go"):
        _run_optimiser(pg)
    if pg.siting is not None:
        _proposals(pg)


# --------------------------------------------------------------------------
# Downloads and the data notes
# --------------------------------------------------------------------------

def downloads(pg: Page) -> None:
    """Report, summary, compliance tables and, after the optimiser, the proposals (built on click)."""
    lang, shown, siting = pg.lang, pg.shown, pg.siting
    st.subheader(tr("downloads", lang))
    st.caption(tr("dl_scenario_note", lang))
    dl = st.columns(4)
    dl[0].download_button(tr("dl_report", lang), data=lambda: report_bytes(shown, lang, pg.basemap[0]),
                          file_name="report.html",
                          mime="text/html", on_click="ignore", key="dl_report")
    dl[1].download_button(tr("dl_summary", lang), data=lambda: summary_bytes(shown), file_name="summary.json",
                          mime="application/json", on_click="ignore", key="dl_summary")
    dl[2].download_button(tr("dl_compliance_csv", lang), data=lambda: compliance_csv_bytes(shown),
                          file_name="compliance.csv", mime="text/csv", on_click="ignore", key="dl_csv")
    dl[3].download_button(tr("dl_compliance_xlsx", lang), data=lambda: compliance_xlsx_bytes(shown),
                          file_name="compliance.xlsx", on_click="ignore", key="dl_xlsx",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if siting is not None and len(siting.proposals):
        for col, (fmt, mime) in zip(st.columns(4), (("geojson", "application/geo+json"), ("csv", "text/csv"),
                                                    ("gpkg", "application/geopackage+sqlite3"))):
            col.download_button(tr(f"dl_proposals_{fmt}", lang), data=lambda f=fmt: proposals_bytes(siting, f),
                                file_name=f"proposals.{fmt}", mime=mime, on_click="ignore", key=f"dl_prop_{fmt}")


def data_notes(pg: Page) -> None:
    """Data set, CRS, population model, layer counts and what was repaired or left out."""
    lang = pg.lang
    with st.expander(tr("data_notes", lang)):
        d = pg.study0.describe()
        crs = d["crs"]
        st.markdown(f"**{tr('data_set', lang)}**: {_title(pg)}  \n**{tr('crs', lang)}**: {crs.get('name')} "
                    f"(EPSG:{crs.get('epsg')})  \n"
                    f"**{tr('population_model', lang)}**: "
                    f"{pg.result.demand.note_zh if lang == 'zh' else pg.result.demand.note_en} "
                    f"({pg.result.demand.details.get('source', '-')})")
        st.json({"subdistricts": d["subdistricts"], "communities": d["communities"], "facilities": d["facilities"],
                 "sources": d["sources"]}, expanded=False)
        st.markdown(f"**{tr('skipped_table', lang)}**")
        sk = skipped_table(pg.result, lang)
        if len(sk):
            st.dataframe(sk, hide_index=True, width="stretch")
        else:
            st.caption(tr("nothing_skipped", lang))


def main() -> None:
    """The whole page, top to bottom."""
    _init_state()
    lang, notices, progress = page_top()
    source, study0 = sidebar_data(lang, notices, progress)
    sidebar_age_table(lang, study0)
    params, kinds = sidebar_parameters(study0, lang)
    basemap = sidebar_basemap(lang)
    pg = compute_plan(lang, source, study0, params, kinds, notices, progress)
    pg.basemap = basemap
    group_selector(pg)
    headline(pg)
    map_and_scenario(pg)
    tables(pg)
    capacity_section(pg)
    optimiser(pg)
    downloads(pg)
    data_notes(pg)


main()

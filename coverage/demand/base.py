"""What every population model shares: the :class:`Demand` record, model notes, and the allocation
of modelled residents to communities so that community totals are preserved exactly.

The models themselves are one module each (:mod:`coverage.demand`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.errors import CRSError, ValueInputError
from coverage.geo.areas import first_containing
from coverage.network.graph import WalkNetwork
from coverage.read.cells import _match_column
from coverage.read.layers import read_layer, validate_geometries
from coverage.skipped import Skipped

__all__ = ["POPULATION_MODELS", "Demand"]

POPULATION_MODELS = ("auto", "points", "polygons", "buildings", "compounds", "raster", "street_nodes")

MODEL_NOTES = {
    "points": ("人口按用户提供的人口点计算。", "Population from the user's population points."),
    "polygons": ("人口按用户提供的人口面分配到其内部的路网节点。",
                 "Population polygons spread over the street nodes inside them."),
    "street_nodes": ("未提供人口点：各社区人口平均分配到社区内的路网节点（最粗略的模型）。",
                     ("No population layer: each community's population is spread evenly over its street nodes "
                      "(the crudest model).")),
}


@dataclass
class Demand:
    """Demand points and how they were made.

    Attributes
    ----------
    points : GeoDataFrame
        ``population``, ``community``, ``subdistrict``, Point geometry (metric CRS).
    model : str
        ``points``, ``polygons``, ``street_nodes`` (or a model added by :mod:`coverage.demand`).
    note_zh, note_en : str
        One sentence for reports.
    skipped : list of Skipped
    details : dict
        Model-specific figures (totals before/after by community, ...).
    """

    points: gpd.GeoDataFrame
    model: str
    note_zh: str = ""
    note_en: str = ""
    skipped: list[Skipped] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Total population."""
        return float(self.points["population"].sum())


#: Every option a model here accepts: the command line passes the same options
#: to whichever model runs, so a model ignores the others' but refuses typos.
KNOWN_OPTIONS = frozenset({"buildings", "landuse", "default_levels", "floor_area_per_person", "compounds",
                           "household_size", "entrances", "entrance_max_m", "raster", "rescale", "band"})


def demand_from_street_nodes(network: WalkNetwork, communities: gpd.GeoDataFrame) -> Demand:
    """Spread each community's population evenly over the street nodes inside it.

    Parameters
    ----------
    network : WalkNetwork
    communities : GeoDataFrame
        With ``population`` (NaN = unknown: skipped and counted).

    Returns
    -------
    Demand
        One point per (community, node); communities without a node get one
        point at their representative point (counted in ``skipped``).
    """
    skipped: list[Skipped] = []
    nodes = shapely.points(network.node_x, network.node_y)
    # a node on a shared boundary belongs to the first community only (the one point-in-area rule)
    of_node = first_containing(nodes, communities.geometry.values)
    node_idx = np.flatnonzero(of_node >= 0)
    comm_idx = of_node[node_idx]
    order = np.lexsort((node_idx, comm_idx))  # community by community, as the layer lists them
    comm_idx, node_idx = comm_idx[order], node_idx[order]
    counts = np.bincount(comm_idx, minlength=len(communities))
    pop = communities["population"].to_numpy(dtype=float)
    unknown = np.isnan(pop)
    if unknown.any():
        skipped.append(Skipped("communities", "population_missing", int(unknown.sum()), action="dropped",
                               items=communities["name"][unknown].tolist(),
                               message="communities without a population value contribute no demand"))
    rows = []
    share = np.where(counts > 0, pop / np.maximum(counts, 1), 0.0)
    keep = ~unknown[comm_idx]
    rows.append(gpd.GeoDataFrame({
        "population": share[comm_idx[keep]],
        "community": communities["name"].to_numpy()[comm_idx[keep]],
        "subdistrict": communities["subdistrict"].to_numpy()[comm_idx[keep]],
    }, geometry=nodes[node_idx[keep]], crs=communities.crs))
    empty = (counts == 0) & ~unknown
    if empty.any():
        c = communities.loc[empty]
        rows.append(gpd.GeoDataFrame({"population": c["population"].to_numpy(dtype=float),
                                      "community": c["name"].to_numpy(), "subdistrict": c["subdistrict"].to_numpy()},
                                     geometry=shapely.point_on_surface(c.geometry.values), crs=communities.crs))
        skipped.append(Skipped("communities", "no_street_node_inside", int(empty.sum()), action="kept",
                               population=float(c["population"].sum()), items=c["name"].tolist(),
                               message="community has no street node inside: its population is placed at one "
                                       "interior point"))
    pts = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), geometry="geometry", crs=communities.crs)
    pts = pts[pts["population"] > 0].reset_index(drop=True)
    zh, en = MODEL_NOTES["street_nodes"]
    return Demand(pts, "street_nodes", zh, en, skipped)


def _check_options(other: dict[str, Any]) -> None:
    unknown = sorted(set(other) - KNOWN_OPTIONS)
    if unknown:
        raise ValueInputError(f"unknown population model option(s) {unknown}; known: {sorted(KNOWN_OPTIONS)}")


def _column(df: pd.DataFrame, aliases: tuple[str, ...]) -> str | None:
    """First column whose (lower-cased, stripped) name is one of ``aliases``."""
    return _match_column([c for c in df.columns if c != "geometry"], aliases)


def _numeric(df: pd.DataFrame, col: str, layer: str, path: str | None, what: str) -> np.ndarray:
    """A non-negative numeric column (NaN where blank); text or negatives raise naming the row."""
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna() | (raw.astype(str).str.strip().isin(["", "nan", "None", "<NA>"]))
    bad = num.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueInputError(f"{layer} {what} {raw.iloc[row]!r} is not a number; write digits only",
                              path=path, row=row)
    if (num < 0).any():
        row = int(np.flatnonzero((num < 0).to_numpy())[0])
        raise ValueInputError(f"{layer} {what} {num.iloc[row]} is negative; correct it", path=path, row=row)
    return num.to_numpy(dtype=float)


def _to_metric(layer: gpd.GeoDataFrame | str | Path, study, kind: str, expect: str
               ) -> tuple[gpd.GeoDataFrame, list[Skipped], str | None]:
    """An option layer (GeoDataFrame or file) validated and in the study's CRS."""

    path = None
    if isinstance(layer, (str, Path)):
        path = str(layer)
        layer = read_layer(layer, kind=kind)
    if layer.crs is None:
        raise CRSError(f"the {kind} layer has no CRS; set one (EPSG:4326 for lon/lat)", path=path)
    gdf, skipped = validate_geometries(layer, kind, expect, path=path)
    return gdf.to_crs(study.crs), skipped, path


def _key(name: object, subdistrict: object) -> tuple:
    """(community, subdistrict) as a dict key; a missing subdistrict (None/NaN) is one key."""
    return (name, None if pd.isna(subdistrict) else subdistrict)


def _empty_points(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"population": pd.Series(dtype=float), "community": pd.Series(dtype=object),
                             "subdistrict": pd.Series(dtype=object), "origin": pd.Series(dtype=object),
                             "_cidx": pd.Series(dtype=np.int64)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _allocate(study, pts: gpd.GeoDataFrame, *, layer: str, reason_zh: str, to_persons: float = 1.0,
              rescale: bool = True) -> tuple[gpd.GeoDataFrame, list[Skipped], list[dict]]:
    """Turn weighted points into people, preserving every given community total.

    Parameters
    ----------
    study : StudyArea
    pts : GeoDataFrame
        ``weight`` (floor area, residents, cell count...), ``_cidx`` (community
        position, -1 for none), ``origin``, Point geometry in the metric CRS.
    layer : str
        Source layer name, for skip records.
    reason_zh : str
        What was missing, for the fallback message (e.g. ``住宅楼``).
    to_persons : float
        Persons per unit of weight, for communities without a given total (and
        points outside every community).
    rescale : bool
        Scale each community's points to its given total (False: keep the
        model's own numbers; the raster model's ``rescale=False``).

    Returns
    -------
    points : GeoDataFrame
        ``population``, ``community``, ``subdistrict``, ``origin``, ``_cidx``.
    skipped : list of Skipped
    rows : list of dict
        Per-community ``method``, ``scale`` and ``estimated`` persons.
    """
    comms = study.communities
    n = len(comms)
    total = comms["population"].to_numpy(dtype=float)
    cidx = pts["_cidx"].to_numpy(dtype=np.int64)
    w = pts["weight"].to_numpy(dtype=float)
    inside = cidx >= 0
    wsum = np.bincount(cidx[inside], weights=w[inside], minlength=n)
    given = ~np.isnan(total)
    scale_c = np.full(n, to_persons)
    if rescale:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale_c = np.where(given & (wsum > 0), total / wsum, to_persons)
    pop = w * np.where(inside, scale_c[np.maximum(cidx, 0)], to_persons)
    out = pts.drop(columns=["weight"]).copy()
    out["population"] = pop
    names = comms["name"].to_numpy(dtype=object)
    subs = comms["subdistrict"].to_numpy(dtype=object)
    out["community"] = np.where(inside, names[np.maximum(cidx, 0)], None)
    out["subdistrict"] = np.where(inside, subs[np.maximum(cidx, 0)], None)
    parts = [out]
    fallback = given & (total > 0) & (wsum <= 0) if rescale else np.zeros(n, dtype=bool)
    skipped = _street_node_fallback(study, fallback, layer, reason_zh, parts)
    outside = ~inside
    if outside.any():
        skipped.append(Skipped(layer, "outside_all_communities", int(outside.sum()), action="kept",
                               population=float(pop[outside].sum()),
                               message=f"{layer} in no community: counted in the totals only"))
    res = pd.concat(parts, ignore_index=True)
    res = gpd.GeoDataFrame(res, geometry="geometry", crs=study.crs)
    res = res[res["population"] > 0].reset_index(drop=True)
    return res, skipped, _methods(total, wsum, fallback, to_persons, rescale)


def _street_node_fallback(study, fallback: np.ndarray, layer: str, reason_zh: str,
                          parts: list[gpd.GeoDataFrame]) -> list[Skipped]:
    """Spread the communities marked in ``fallback`` over their street nodes (appended to ``parts``).

    These communities have a population but none of the model's points, so
    the crudest model is the only way to keep their total.
    """
    skipped: list[Skipped] = []
    if not fallback.any():
        return skipped
    comms = study.communities
    total = comms["population"].to_numpy(dtype=float)
    sub = comms.iloc[np.flatnonzero(fallback)]
    fb = demand_from_street_nodes(study.network, sub)
    key = {_key(nm, sd): int(p) for nm, sd, p in zip(sub["name"], sub["subdistrict"], np.flatnonzero(fallback))}
    f = fb.points.copy()
    f["_cidx"] = [key[_key(nm, sd)] for nm, sd in zip(f["community"], f["subdistrict"])]
    f["origin"] = "street_node"
    parts.append(f[["population", "community", "subdistrict", "origin", "_cidx", "geometry"]])
    skipped.append(Skipped(
        "communities", f"no_{layer}_inside", int(fallback.sum()), population=float(total[fallback].sum()),
        items=sub["name"].tolist(), action="kept",
        message=f"community has a population but no {layer} (无{reason_zh}) inside: its population is spread "
                "over its street nodes (the crudest model)"))
    return skipped + fb.skipped


def _methods(total: np.ndarray, wsum: np.ndarray, fallback: np.ndarray, to_persons: float,
             rescale: bool) -> list[dict]:
    """Per community: how its population was made (``method``), its ``scale`` and ``estimated`` persons."""
    given = ~np.isnan(total)
    rows = []
    for i in range(len(total)):
        if fallback[i]:
            method, scale = "street_nodes_fallback", None
        elif given[i] and rescale and wsum[i] > 0:
            method, scale = "rescaled", float(total[i] / (wsum[i] * to_persons))
        elif given[i] and rescale:
            method, scale = "zero", None
        elif wsum[i] > 0:
            method, scale = ("estimated" if not given[i] else "not_rescaled"), None
        else:
            method, scale = "no_demand", None
        rows.append({"method": method, "scale": scale, "estimated": float(wsum[i] * to_persons)})
    return rows


def _fallback_note(rows: list[dict], zh_none: str, en_none: str) -> tuple[str, str]:
    """Ends of the model note: how many communities fell back to their street nodes (zh, en).

    ``zh_none`` says what such a community lacks (``无住宅楼``), ``en_none`` what it is
    without (``a residential building``).
    """
    n_fb = sum(r["method"] == "street_nodes_fallback" for r in rows)
    if not n_fb:
        return "。", "."
    return (f"；{n_fb} 个社区{zh_none}，按路网节点平均分配。",
            f"; {n_fb} communities without {en_none} fall back to their street nodes.")


def _scale_factors(study, rows: list[dict], estimated_as: str | None = None) -> list[dict]:
    """The rescaled communities with their factor (and, under ``estimated_as``, the model's own total)."""
    comms = study.communities
    out = []
    for i, r in enumerate(rows):
        if r["method"] != "rescaled":
            continue
        item = {"name": comms["name"].iloc[i], "subdistrict": comms["subdistrict"].iloc[i]}
        if estimated_as is not None:
            item[estimated_as] = r["estimated"]
        item["scale"] = r["scale"]
        out.append(item)
    return out


def _option_layer(study, given: gpd.GeoDataFrame | str | Path | None, kind: str, expect: str
                  ) -> tuple[gpd.GeoDataFrame | None, list[Skipped], str | None]:
    """A model's layer: the one passed as an option, else the study's own ``kind`` layer, else None."""
    if given is not None:
        return _to_metric(given, study, kind, expect)
    own = getattr(study, kind, None)
    path = study.sources.get(kind)
    if own is not None and len(own):
        return own, [], path
    return None, [], path


def population_source(study, model: str) -> str:
    """The file a model without its own source label drew on: the population layer, or the streets' nodes."""
    if model in ("points", "polygons"):
        path = study.sources.get("population")
        return Path(path).name if path else "population layer"
    path = study.sources.get("streets")
    return f"street nodes ({Path(path).name})" if path else "street nodes"


def _finish(study, pts: gpd.GeoDataFrame, model: str, source: str, zh: str, en: str, skipped: list[Skipped],
            details: dict, rows: list[dict] | None = None) -> Demand:
    """Attach the per-community totals before/after and build the :class:`Demand`."""
    comms = study.communities
    n = len(comms)
    cidx = pts["_cidx"].to_numpy(dtype=np.int64)
    pop = pts["population"].to_numpy(dtype=float)
    ok = cidx >= 0
    out_c = np.bincount(cidx[ok], weights=pop[ok], minlength=n)
    n_pts = np.bincount(cidx[ok], minlength=n)
    report = []
    for i, (name, sub, given) in enumerate(zip(comms["name"], comms["subdistrict"], comms["population"])):
        r = {"name": name, "subdistrict": sub, "population_in": None if pd.isna(given) else float(given),
             "population_out": float(out_c[i]), "demand_points": int(n_pts[i])}
        if rows is not None:
            r["method"] = rows[i]["method"]
            if rows[i]["scale"] is not None:
                r["scale"] = rows[i]["scale"]
        report.append(r)
    points = pts.drop(columns=["_cidx"]).reset_index(drop=True)
    estimated = [r["name"] for r in report if r["population_in"] is None and r["population_out"] > 0]
    info = {"source": source, "demand_points": len(points), **details,
            "population_outside_communities": float(pop[~ok].sum()),
            "communities_estimated": estimated, "communities": report}
    return Demand(points, model, zh, en, skipped, info)

"""Walking distances to the nearest facility, and coverage shares.

Distances are network distances in metres: the off-network leg from a point to
its street, the walk along that edge to a junction, the shortest path through
the network, and the same legs at the facility's end. All facilities are
searched in *one* multi-source Dijkstra over the sparse matrix
(:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``): each facility
becomes a virtual node joined to its edge's two ends by the partial-edge
lengths. A demand point on the *same* edge as a facility may walk straight
along the edge; that case is checked separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from coverage.network.graph import WalkNetwork
from coverage.network.islands import main_components, snap_facility_points, snap_off_fragments
from coverage.network.slope import EdgeTimes
from coverage.network.snap import Snap, same_edge_walks, snap_points
from coverage.params import CoverageParams
from coverage.skipped import Skipped

__all__ = [
    "CoverageResult",
    "euclidean_distance",
    "measure_coverage",
    "network_distance",
    "shares_by",
    "snap_facilities",
    "source_matrix",
    "time_matrix",
    "walk_time",
]


def source_matrix(network: WalkNetwork, sources: Snap) -> sparse.csr_matrix:
    """The network matrix augmented with one virtual node per source.

    Source ``i`` is node ``n + i``, with one-way edges to its edge's ends of
    length ``offset + along`` and ``offset + (length - along)``.
    """
    n, k = network.n_nodes, len(sources)
    virt = n + np.arange(k)
    w_u = np.maximum(sources.offset + sources.along, 1e-6)
    w_v = np.maximum(sources.offset + sources.length - sources.along, 1e-6)
    rows = np.concatenate([virt, virt])
    cols = np.concatenate([sources.u, sources.v])
    w = np.concatenate([w_u, w_v])
    # a source on a self-loop has u == v: keep the shorter leg (csr would sum duplicates)
    df = pd.DataFrame({"r": rows, "c": cols, "w": w}).groupby(["r", "c"], as_index=False)["w"].min()
    extra = sparse.csr_matrix((df["w"].to_numpy(), (df["r"].to_numpy(), df["c"].to_numpy())), shape=(n + k, n + k))
    base = sparse.csr_matrix(network.matrix, shape=(n, n))
    base.resize((n + k, n + k))
    return (base + extra).tocsr()


def _keep_shorter(d: np.ndarray, nearest: np.ndarray, si: np.ndarray, ti: np.ndarray, direct: np.ndarray) -> None:
    """Where a direct walk along a shared edge (source ``si`` → target ``ti``) beats the network, take it (in place)."""
    best = pd.DataFrame({"target": ti, "source": si, "d": direct}).sort_values("d").drop_duplicates("target")
    tt = best["target"].to_numpy()
    better = best["d"].to_numpy() < d[tt]
    d[tt[better]] = best["d"].to_numpy()[better]
    nearest[tt[better]] = best["source"].to_numpy()[better]


def network_distance(network: WalkNetwork, sources: Snap, targets: Snap, limit: float = np.inf
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each target to its nearest source, through the network.

    Parameters
    ----------
    network : WalkNetwork
    sources : Snap
        Snapped facilities.
    targets : Snap
        Snapped demand points.
    limit : float
        Stop searching beyond this many metres (targets farther get ``inf``).

    Returns
    -------
    distance : ndarray of float
        Metres (``inf`` if unreachable or beyond ``limit``).
    nearest : ndarray of int
        Index of the nearest source (-1 if none).
    """
    if len(sources) == 0:
        return np.full(len(targets), np.inf), np.full(len(targets), -1, dtype=np.int64)
    n = network.n_nodes
    A = source_matrix(network, sources)
    dist, _, src = csgraph.dijkstra(A, directed=True, indices=n + np.arange(len(sources)), min_only=True,
                                    return_predecessors=True, limit=limit)
    node_dist = dist[:n]
    node_src = src[:n]
    via_u = node_dist[targets.u] + targets.along
    via_v = node_dist[targets.v] + (targets.length - targets.along)
    use_u = via_u <= via_v
    d = targets.offset + np.where(use_u, via_u, via_v)
    nearest = np.where(use_u, node_src[targets.u], node_src[targets.v]).astype(np.int64)
    nearest = np.where(np.isfinite(d), nearest - n, -1)
    si, ti, direct = same_edge_walks(sources.edge, sources.along, sources.offset, targets.edge, targets.along,
                                     targets.offset)
    if len(direct):
        _keep_shorter(d, nearest, si, ti, direct)
    d[d > limit] = np.inf
    nearest[~np.isfinite(d)] = -1
    return d, nearest


def time_matrix(network: WalkNetwork, times: EdgeTimes, sources: Snap) -> sparse.csr_matrix:
    """Reversed seconds matrix with one virtual node per source (for home → facility times).

    Entry ``[b, a]`` is the time to walk ``a → b``, so a search *from* the facilities over it
    gives every node's time *to* its nearest facility. Source ``i`` is node ``n + i``, joined
    to its edge's ends by the time from each end to the facility (plus its off-network leg).
    """
    n, k = network.n_nodes, len(sources)
    u, v, _ = network.edge_arrays
    leg = sources.offset / times.speed_ms
    to_f_from_u = times.from_u(sources.edge, sources.along) + leg
    to_f_from_v = times.backward[sources.edge] - times.to_u(sources.edge, sources.along) + leg
    virt = n + np.arange(k)
    rows = np.concatenate([v, u, virt, virt])
    cols = np.concatenate([u, v, sources.u, sources.v])
    w = np.concatenate([times.forward, times.backward, to_f_from_u, to_f_from_v])
    keep = rows != cols
    df = pd.DataFrame({"r": rows[keep], "c": cols[keep], "w": np.maximum(w[keep], 1e-9)})
    df = df.groupby(["r", "c"], as_index=False)["w"].min()  # parallel edges: the quickest (csr would sum)
    return sparse.csr_matrix((df["w"].to_numpy(), (df["r"].to_numpy(), df["c"].to_numpy())), shape=(n + k, n + k))


def walk_time(network: WalkNetwork, times: EdgeTimes, sources: Snap, targets: Snap, limit_s: float = np.inf
              ) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from each target (home) to its nearest source (facility), direction-dependent.

    The same legs as :func:`network_distance` (off-network, along the edge, through the network),
    each timed in the home → facility direction by ``times``.

    Returns
    -------
    seconds : ndarray of float
        ``inf`` if unreachable or beyond ``limit_s``.
    nearest : ndarray of int
        Index of the nearest source (-1 if none).
    """
    if len(sources) == 0:
        return np.full(len(targets), np.inf), np.full(len(targets), -1, dtype=np.int64)
    n = network.n_nodes
    dist, _, src = csgraph.dijkstra(time_matrix(network, times, sources), directed=True,
                                    indices=n + np.arange(len(sources)), min_only=True,
                                    return_predecessors=True, limit=limit_s)
    node_t, node_src = dist[:n], src[:n]
    back = times.to_u(targets.edge, targets.along)
    via_u = node_t[targets.u] + back
    via_v = node_t[targets.v] + times.forward[targets.edge] - times.from_u(targets.edge, targets.along)
    use_u = via_u <= via_v
    t = targets.offset / times.speed_ms + np.where(use_u, via_u, via_v)
    nearest = np.where(use_u, node_src[targets.u], node_src[targets.v]).astype(np.int64)
    nearest = np.where(np.isfinite(t), nearest - n, -1)
    si, ti, _ = same_edge_walks(sources.edge, sources.along, sources.offset, targets.edge, targets.along,
                                targets.offset)
    if len(si):
        e, a_f, a_h = sources.edge[si], sources.along[si], targets.along[ti]
        along = np.where(a_h <= a_f, times.from_u(e, a_f) - times.from_u(e, a_h),
                         times.to_u(e, a_h) - times.to_u(e, a_f))
        direct = along + (sources.offset[si] + targets.offset[ti]) / times.speed_ms
        _keep_shorter(t, nearest, si, ti, direct)
    t[t > limit_s] = np.inf
    nearest[~np.isfinite(t)] = -1
    return t, nearest


def euclidean_distance(source_xy: np.ndarray, target_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line distance from each target to its nearest source (metres, metric CRS)."""
    if len(source_xy) == 0:
        return np.full(len(target_xy), np.inf), np.full(len(target_xy), -1, dtype=np.int64)
    from scipy.spatial import cKDTree

    d, i = cKDTree(np.asarray(source_xy)).query(np.asarray(target_xy), k=1)
    return d, i.astype(np.int64)


@dataclass
class CoverageResult:
    """Coverage of demand by a set of facilities.

    Attributes
    ----------
    demand : GeoDataFrame
        Demand points with ``dist_network``, ``dist_euclidean`` (m), ``nearest_facility``
        (name), ``covered_radius``, ``covered_radius_euclidean``, ``covered_walk``, ``off_network``.
    facilities : GeoDataFrame
        Counted facilities with ``snap_offset_m``, ``off_network``, ``island`` flags.
    params : CoverageParams
    demand_snap : Snap
        The demand points snapped onto the network (row for row), for callers such
        as siting that walk from the same points.
    skipped : list of Skipped
    """

    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    params: CoverageParams
    demand_snap: Snap
    skipped: list[Skipped] = field(default_factory=list)

    def totals(self) -> dict:
        """``population`` and ``{population, share}`` for ``radius``, ``radius_euclidean`` and ``walk``."""
        d = self.demand
        total = float(d["population"].sum())
        out: dict = {"population": round(total, 3)}
        for key, col in (("radius", "covered_radius"), ("radius_euclidean", "covered_radius_euclidean"),
                         ("walk", "covered_walk")):
            covered = float(d.loc[d[col], "population"].sum())
            out[key] = {"population": round(covered, 3), "share": _share(covered, total)}
        return out

    def by(self, column: str) -> pd.DataFrame:
        """Population and shares grouped by ``community`` or ``subdistrict``."""
        return shares_by(self.demand, column)


def _share(part: float, total: float) -> float | None:
    return round(part / total, 6) if total > 0 else None


def shares_by(demand: pd.DataFrame, column: str) -> pd.DataFrame:
    """Population-weighted coverage shares per group.

    Returns
    -------
    DataFrame
        Indexed by the group, columns ``population``, ``radius_share``,
        ``radius_euclidean_share``, ``walk_share``, ``mean_distance_m`` (population-weighted,
        over reachable points).
    """
    d = demand[demand[column].notna()].copy()
    pop = d["population"]
    g = pd.DataFrame({
        "population": pop,
        "r": pop * d["covered_radius"],
        "re": pop * d["covered_radius_euclidean"],
        "w": pop * d["covered_walk"],
        "wd": np.where(np.isfinite(d["dist_network"]), pop * d["dist_network"], 0.0),
        "wp": np.where(np.isfinite(d["dist_network"]), pop, 0.0),
        column: d[column],
    }).groupby(column)
    s = g.sum()
    out = pd.DataFrame({"population": s["population"]})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["radius_share"] = (s["r"] / s["population"]).where(s["population"] > 0)
        out["radius_euclidean_share"] = (s["re"] / s["population"]).where(s["population"] > 0)
        out["walk_share"] = (s["w"] / s["population"]).where(s["population"] > 0)
        out["mean_distance_m"] = (s["wd"] / s["wp"]).where(s["wp"] > 0)
    return out


def _fragment_records(layer: str, moved: np.ndarray, stranded: np.ndarray, names: np.ndarray,
                      population: np.ndarray | None, params: CoverageParams) -> list[Skipped]:
    """``moved_off_fragment`` and ``on_network_island`` records for facilities or demand points."""
    pop = (lambda m: float(population[m].sum())) if population is not None else (lambda m: 0.0)
    what = "facility" if layer == "facilities" else "demand point"
    out = []
    if moved.any():
        out.append(Skipped(layer, "moved_off_fragment", int(moved.sum()), population=pop(moved), action="repaired",
                           items=list(dict.fromkeys(names[moved])),
                           message=f"{what} whose nearest street is a fragment (< {params.fragment_m:g} m of "
                                   f"street cut off from the rest) moved to the main network, at most "
                                   f"{params.island_snap_m:g} m away"))
    if stranded.any():
        out.append(Skipped(layer, "on_network_island", int(stranded.sum()), population=pop(stranded), action="kept",
                           items=list(dict.fromkeys(names[stranded])),
                           message=f"{what} on a street fragment (< {params.fragment_m:g} m of street) with no main "
                                   f"network street within {params.island_snap_m:g} m: "
                                   + ("it serves only that fragment" if layer == "facilities"
                                      else "counted as not covered") + "; check for missing street links"))
    return out


def snap_facilities(network: WalkNetwork, fac: gpd.GeoDataFrame, fac_xy: np.ndarray, params: CoverageParams,
                    skipped: list[Skipped]) -> Snap:
    """Snap counted facilities with the fragment rule; flag and record the ones off the network or stranded.

    Adds ``snap_offset_m``, ``off_network``, ``moved_off_fragment`` and ``island`` to ``fac``
    in place, and appends the records to ``skipped``. Returns the snap, row for row.
    """
    fixed = snap_facility_points(network, fac_xy, params.fragment_m, params.island_snap_m)
    fsnap = fixed.snap
    off = fsnap.offset > params.max_snap_m
    fac["snap_offset_m"] = fsnap.offset
    fac["off_network"] = off
    fac["moved_off_fragment"] = fixed.moved & ~off
    fac["island"] = fixed.stranded & ~off
    if off.any():
        o = fac[off]
        skipped.append(Skipped("facilities", "off_network", len(o), action="dropped",
                               items=[f"{n} ({x:.0f} m)" for n, x in zip(o["name"], o["snap_offset_m"])],
                               message=f"counted facility farther than {params.max_snap_m:.0f} m from any walkable "
                                       "street: not used for network coverage; check its location"))
    skipped += _fragment_records("facilities", fac["moved_off_fragment"].to_numpy(), fac["island"].to_numpy(),
                                 fac["name"].astype(str).to_numpy(), None, params)
    return fsnap


def _snap_demand(network: WalkNetwork, d: gpd.GeoDataFrame, dxy: np.ndarray, src: Snap, params: CoverageParams,
                 skipped: list[Skipped]) -> Snap:
    """Snap demand points with the fragment rule (a fragment holding a facility is not one); flag them in ``d``."""
    plain = snap_points(network, dxy)
    off = plain.offset > params.max_snap_m
    main = main_components(network, params.fragment_m, with_facility=network.components[src.u])
    fixed = snap_off_fragments(network, dxy, plain, main, params.island_snap_m)
    d["snap_offset_m"] = fixed.snap.offset
    d["off_network"] = off
    d["moved_off_fragment"] = fixed.moved & ~off
    d["on_network_island"] = fixed.stranded & ~off
    label = d["community"].astype(str).to_numpy() if "community" in d.columns else np.arange(len(d)).astype(str)
    skipped += _fragment_records("population", d["moved_off_fragment"].to_numpy(), d["on_network_island"].to_numpy(),
                                 label, d["population"].to_numpy(dtype=float), params)
    return fixed.snap


def measure_coverage(network: WalkNetwork, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
                     params: CoverageParams = CoverageParams(), times: EdgeTimes | None = None
                     ) -> CoverageResult:
    """Network and crow-flies coverage of demand points by counted facilities.

    Parameters
    ----------
    network : WalkNetwork
    facilities : GeoDataFrame
        Metric CRS, with ``counted`` (only those rows are used) and ``name``.
    demand : GeoDataFrame
        Metric CRS points with ``population``, ``community``, ``subdistrict``.
    params : CoverageParams
    times : EdgeTimes, optional
        A walking profile's direction-dependent edge times
        (:func:`coverage.network.slope.edge_times`): the walk verdict then compares the
        home → facility time (``time_walk_s``) with ``params.minutes``. Without it the walk
        verdict is ``dist_network <= params.walk_m`` (the flat, symmetric pass).

    Returns
    -------
    CoverageResult
    """
    skipped: list[Skipped] = []
    fac = facilities[facilities["counted"]].copy() if "counted" in facilities.columns else facilities.copy()
    fac_xy = shapely.get_coordinates(fac.geometry.values)
    fsnap = snap_facilities(network, fac, fac_xy, params, skipped)
    ok = ~fac["off_network"].to_numpy()
    src = fsnap.subset(ok)
    names = fac["name"].to_numpy()[ok]

    d = demand.copy()
    dxy = shapely.get_coordinates(d.geometry.values)
    dsnap = _snap_demand(network, d, dxy, src, params, skipped)
    off = d["off_network"].to_numpy()
    dist, nearest = network_distance(network, src, dsnap)
    dist[off] = np.inf
    nearest[off] = -1
    d["dist_network"] = dist
    d["nearest_facility"] = np.where(nearest >= 0, names[np.maximum(nearest, 0)] if len(names) else None, None)
    de, _ = euclidean_distance(fac_xy, dxy)
    d["dist_euclidean"] = de
    d["covered_radius"] = dist <= params.radius_m
    d["covered_radius_euclidean"] = de <= params.radius_m
    d["covered_walk"] = dist <= params.walk_m
    if times is not None:
        t, _ = walk_time(network, times, src, dsnap, limit_s=params.minutes * 60.0 * 4)
        t[off] = np.inf
        d["time_walk_s"] = t
        d["covered_walk"] = t <= params.minutes * 60.0
    if off.any():
        skipped.append(Skipped("population", "off_network", int(off.sum()), action="kept",
                               population=float(d.loc[off, "population"].sum()),
                               message=f"demand points farther than {params.max_snap_m:.0f} m from any walkable "
                                       "street: counted as not covered on foot"))
    return CoverageResult(d, fac, params, dsnap, skipped)

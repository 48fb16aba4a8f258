"""Facility capacity, the load each facility carries, and the E2SFCA accessibility index.

A station within 500 m is not enough if it serves 40,000 people. This module
answers three questions of the capacity diagnosis:

1. **How many residents can each facility serve?** From its ``capacity`` column
   (residents), else from a staff count (``doctors``, ``gps``, ``全科医生数``,
   ``staff``) × ``residents_per_doctor``, else from a per-kind default the user
   gave (``capacity_centre`` / ``capacity_station``). Otherwise the capacity is
   *unknown*: reported, never invented (:func:`facility_capacities`).
2. **How loaded is each facility?** Residents within the coverage radius are
   assigned to the *nearest* facility by network distance, or — ``assign=
   "capacitated"`` — to facilities within the radius respecting capacities,
   solved exactly as a transportation problem on the sparse reach matrix with
   HiGHS (:func:`capacitated_assignment`).
3. **How much capacity per resident does each place see?** The enhanced
   two-step floating catchment area (E2SFCA, Luo & Qi 2009) with a named decay
   (:class:`Decay`), per demand point and per community (:func:`e2sfca`), equal
   to PySAL ``access`` on the same cost table.

Distances are exactly those of :func:`coverage.access.network_distance`
(off-network leg + along-edge leg + shortest path + the legs at the facility,
or the direct walk along a shared edge), computed by :func:`facility_reach` as
a sparse table of (demand point, facility, metres) pairs within a limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from coverage.access import source_matrix
from coverage.errors import ValueInputError
from coverage.highs import load_model
from coverage.network.graph import WalkNetwork
from coverage.network.islands import snap_facility_points
from coverage.network.snap import Snap, same_edge_walks
from coverage.params import (
    DEFAULT_ASSIGN,
    DEFAULT_FRAGMENT_M,
    DEFAULT_ISLAND_SNAP_M,
    DEFAULT_RESIDENTS_PER_DOCTOR,
    LUO_QI_WEIGHTS,
)
from coverage.ranges import concat_ranges
from coverage.read.cells import population_numbers
from coverage.skipped import Skipped

__all__ = [
    "RESIDENTS_PER_DOCTOR",
    "STAFF_COLUMNS",
    "Assignment",
    "CapacityRule",
    "Decay",
    "FacilityReach",
    "capacitated_assignment",
    "e2sfca",
    "facility_capacities",
    "facility_reach",
    "nearest_assignment",
]

#: Residents per doctor by default (:data:`coverage.params.DEFAULT_RESIDENTS_PER_DOCTOR`).
RESIDENTS_PER_DOCTOR = DEFAULT_RESIDENTS_PER_DOCTOR

#: Columns read as a capacity in residents, then as staff counts, in this order.
CAPACITY_COLUMNS = ("capacity", "容量", "服务人口")
STAFF_COLUMNS = ("doctors", "gps", "全科医生数", "staff")

#: Dense Dijkstra output per batch (float64 entries): 8e6 = 64 MB.
_MAX_BLOCK = 8_000_000


@dataclass(frozen=True)
class CapacityRule:
    """How capacities are read.

    Attributes
    ----------
    residents_per_doctor : float
        Residents one doctor (or staff member) serves; default 2,000
        (:data:`RESIDENTS_PER_DOCTOR`, the 2030 national GP target).
    capacity_centre, capacity_station : float, optional
        Residents a centre / station serves where the data gives neither a capacity
        nor a staff count. Off (None) unless given: no capacity is invented.
    """

    residents_per_doctor: float = RESIDENTS_PER_DOCTOR
    capacity_centre: float | None = None
    capacity_station: float | None = None

    def __post_init__(self) -> None:
        for name in ("residents_per_doctor", "capacity_centre", "capacity_station"):
            v = getattr(self, name)
            if v is None and name != "residents_per_doctor":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                flag = "--" + name.replace("_", "-")
                raise ValueInputError(f"{name} ({flag}) must be a positive number of residents, got {v!r}")

    def to_dict(self) -> dict:
        return {"residents_per_doctor": self.residents_per_doctor, "capacity_centre": self.capacity_centre,
                "capacity_station": self.capacity_station,
                "residents_per_doctor_source": "国办发〔2018〕3号: 5 GPs per 10,000 residents by 2030"}


def _column_values(fac: pd.DataFrame, col: str) -> np.ndarray:
    """A capacity or staff column as numbers (NaN for blanks), refusing text and negatives by row."""
    values, bad = population_numbers(fac[col])
    bad = bad | (np.isfinite(values) & (values < 0)) | np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = fac["name"].iloc[i] if "name" in fac.columns else i
        raise ValueInputError(f"facilities row {i + 1} ({name}): {col} = {fac[col].iloc[i]!r} is not a number >= 0; "
                              f"write a number of {'residents' if col in CAPACITY_COLUMNS else 'people'} or leave "
                              "it empty", path="facilities", row=i + 1)
    return values


def facility_capacities(fac: pd.DataFrame, rule: CapacityRule = CapacityRule()
                        ) -> tuple[np.ndarray, list[str], list[Skipped]]:
    """Capacity (residents served) of each facility, where the data says so.

    Parameters
    ----------
    fac : DataFrame
        Facilities with ``name``, ``kind`` and any of :data:`CAPACITY_COLUMNS`,
        :data:`STAFF_COLUMNS`.
    rule : CapacityRule

    Returns
    -------
    capacity : ndarray of float
        NaN where unknown.
    source : list of str
        Per facility: ``capacity`` (its column), the staff column used
        (``doctors`` …), ``default_centre`` / ``default_station``, or ``unknown``.
    skipped : list of Skipped
        One ``capacity_unknown`` record (``listed``) naming the facilities without one.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"name": ["a", "b", "c"], "kind": ["station"] * 3, "doctors": [2, None, None],
    ...                   "capacity": [None, 3000, None]})
    >>> cap, src, _ = facility_capacities(f)
    >>> cap.tolist(), src
    ([4000.0, 3000.0, nan], ['doctors', 'capacity', 'unknown'])
    """
    n = len(fac)
    cap = np.full(n, np.nan)
    source = np.full(n, "unknown", dtype=object)
    for col in CAPACITY_COLUMNS + STAFF_COLUMNS:
        if col not in fac.columns:
            continue
        v = _column_values(fac, col)
        if col in STAFF_COLUMNS:
            v = v * rule.residents_per_doctor
        take = np.isnan(cap) & np.isfinite(v)
        cap[take] = v[take]
        source[take] = col
    kind = fac["kind"].to_numpy(dtype=object) if "kind" in fac.columns else np.full(n, None, dtype=object)
    for k, default in (("centre", rule.capacity_centre), ("station", rule.capacity_station)):
        if default is not None:
            take = np.isnan(cap) & (kind == k)
            cap[take] = float(default)
            source[take] = f"default_{k}"
    skipped: list[Skipped] = []
    unknown = np.isnan(cap)
    if unknown.any() and n:
        names = fac["name"].astype(str).to_numpy()[unknown].tolist() if "name" in fac.columns else []
        skipped.append(Skipped("facilities", "capacity_unknown", int(unknown.sum()), action="listed", items=names,
                               message="facility without a capacity, staff count or per-kind default: its load is "
                                       "shown but not judged, and it adds nothing to the E2SFCA index; give "
                                       "capacity or doctors, or --capacity-station/--capacity-centre"))
    return cap, source.tolist(), skipped


# --------------------------------------------------------------------------
# the sparse reach table with distances
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilityReach:
    """(demand point, facility, metres) for every pair within ``limit``.

    Attributes
    ----------
    demand, facility : ndarray of int
        Row of the demand point and of the facility.
    distance : ndarray of float
        Network metres (may be 0).
    n_demand, n_facilities : int
    limit : float
    """

    demand: np.ndarray
    facility: np.ndarray
    distance: np.ndarray
    n_demand: int
    n_facilities: int
    limit: float

    def __len__(self) -> int:
        return len(self.demand)

    def within(self, limit: float) -> FacilityReach:
        """The pairs within a smaller limit."""
        keep = self.distance <= limit
        return FacilityReach(self.demand[keep], self.facility[keep], self.distance[keep], self.n_demand,
                             self.n_facilities, float(min(limit, self.limit)))

    def frame(self) -> pd.DataFrame:
        """``origin`` (demand row), ``dest`` (facility row), ``cost`` (m): PySAL ``access``'s cost table."""
        return pd.DataFrame({"origin": self.demand, "dest": self.facility, "cost": self.distance})


def facility_reach(network: WalkNetwork, sources: Snap, targets: Snap, limit: float,
                   active: np.ndarray | None = None, *, max_block: int = _MAX_BLOCK) -> FacilityReach:
    """Network distance of every (demand point, facility) pair within ``limit`` metres.

    Parameters
    ----------
    network : WalkNetwork
    sources : Snap
        Snapped facilities.
    targets : Snap
        Snapped demand points.
    limit : float
        Metres.
    active : ndarray of bool, optional
        Demand points to include (leave out those off the network).
    max_block : int
        Largest dense Dijkstra output per batch, in entries.

    Returns
    -------
    FacilityReach
        Sorted by demand point, then facility.

    Notes
    -----
    One bounded Dijkstra per facility from its virtual node of
    :func:`coverage.access.source_matrix` (batched), so the minimum over the
    pairs of a demand point is exactly :func:`coverage.access.network_distance`.
    """
    n, k, n_t = network.n_nodes, len(sources), len(targets)
    act = np.ones(n_t, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    rows_out, cols_out, d_out = [], [], []
    if k and n_t and act.any():
        ti = np.flatnonzero(act)
        A = source_matrix(network, sources)
        per = max(1, int(max_block // max(n + k, ti.size)))
        tu, tv = targets.u[ti], targets.v[ti]
        a_u = targets.offset[ti] + targets.along[ti]
        a_v = targets.offset[ti] + targets.length[ti] - targets.along[ti]
        # the demand points on each node's edges: a facility reaches a point only through a node it
        # reaches, so only those points are looked at (not all of them for every facility: quadratic)
        by_node = np.argsort(np.r_[tu, tv], kind="stable")
        node_start = np.searchsorted(np.r_[tu, tv][by_node], np.arange(n + 1))
        for s in range(0, k, per):
            idx = np.arange(s, min(k, s + per))
            D = csgraph.dijkstra(A, directed=True, indices=n + idx, limit=limit)
            b, node = np.nonzero(D[:, :n] <= limit)
            count = node_start[node + 1] - node_start[node]
            t = by_node[concat_ranges(node_start[node], count)] % ti.size
            b = np.repeat(b, count)
            d = np.minimum(D[b, tu[t]] + a_u[t], D[b, tv[t]] + a_v[t])
            keep = d <= limit
            rows_out.append(ti[t[keep]])
            cols_out.append(idx[b[keep]])
            d_out.append(d[keep])
        si, sti, direct = same_edge_walks(sources.edge, sources.along, sources.offset, targets.edge,
                                          targets.along, targets.offset)
        ok = act[sti] & (direct <= limit)
        rows_out.append(np.asarray(sti, dtype=np.int64)[ok])
        cols_out.append(np.asarray(si, dtype=np.int64)[ok])
        d_out.append(np.asarray(direct, dtype=float)[ok])
    if not rows_out:
        e = np.zeros(0, dtype=np.int64)
        return FacilityReach(e, e.copy(), np.zeros(0), n_t, k, float(limit))
    df = pd.DataFrame({"i": np.concatenate(rows_out), "j": np.concatenate(cols_out), "d": np.concatenate(d_out)})
    df = df.groupby(["i", "j"], as_index=False, sort=True)["d"].min()  # a shared edge may be shorter than the path
    return FacilityReach(df["i"].to_numpy(np.int64), df["j"].to_numpy(np.int64), df["d"].to_numpy(float), n_t, k,
                         float(limit))


# --------------------------------------------------------------------------
# load: nearest and capacitated assignment
# --------------------------------------------------------------------------


@dataclass
class Assignment:
    """Residents within the radius assigned to facilities.

    Attributes
    ----------
    mode : {"nearest", "capacitated"}
    assigned : ndarray of float
        Residents per facility.
    served : ndarray of float
        Residents of each demand point assigned somewhere.
    within_capacity : ndarray of float
        Per demand point: residents served by a facility of known capacity within
        that capacity (nearest: a facility over capacity serves its capacity,
        shared pro rata among those assigned to it).
    flows : FacilityReach
        The pairs used, ``distance`` replaced by the residents sent along each.
    status : str
        ``optimal`` (capacitated, proven by HiGHS) or ``exact`` (nearest).
    """

    mode: str
    assigned: np.ndarray
    served: np.ndarray
    within_capacity: np.ndarray
    flows: FacilityReach
    status: str
    info: dict = field(default_factory=dict)


def _flows(reach: FacilityReach, x: np.ndarray) -> FacilityReach:
    keep = x > 1e-9
    return FacilityReach(reach.demand[keep], reach.facility[keep], x[keep], reach.n_demand, reach.n_facilities,
                         reach.limit)


def _finish(mode: str, reach: FacilityReach, x: np.ndarray, capacity: np.ndarray, status: str,
            info: dict | None = None) -> Assignment:
    """Per-facility loads and per-point service from pair flows ``x``."""
    assigned = np.bincount(reach.facility, weights=x, minlength=reach.n_facilities)
    served = np.bincount(reach.demand, weights=x, minlength=reach.n_demand)
    cap = np.asarray(capacity, dtype=float)
    known = np.isfinite(cap)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(known, np.minimum(1.0, np.where(assigned > 0, cap / assigned, 1.0)), 0.0)
    within = np.bincount(reach.demand, weights=x * scale[reach.facility], minlength=reach.n_demand)
    return Assignment(mode, assigned, served, within, _flows(reach, x), status, info or {})


def nearest_assignment(reach: FacilityReach, population: np.ndarray, capacity: np.ndarray) -> Assignment:
    """Each resident within ``reach.limit`` goes to the nearest facility (ties: the lower row).

    Parameters
    ----------
    reach : FacilityReach
        Pairs within the radius.
    population : ndarray of float
        Residents per demand point.
    capacity : ndarray of float
        Per facility, NaN where unknown.

    Returns
    -------
    Assignment
    """
    df = pd.DataFrame({"i": reach.demand, "d": reach.distance, "j": reach.facility, "k": np.arange(len(reach))})
    first = df.sort_values(["i", "d", "j"], kind="stable").drop_duplicates("i")["k"].to_numpy()
    x = np.zeros(len(reach))
    x[first] = np.asarray(population, dtype=float)[reach.demand[first]]
    return _finish("nearest", reach, x, capacity, "exact")


def capacitated_assignment(reach: FacilityReach, population: np.ndarray, capacity: np.ndarray,
                           time_limit: float = 60.0) -> Assignment:
    """Most residents served within the radius and within capacities (a transportation problem).

    Stage 1 maximises the residents served, ``sum x`` subject to ``sum_j x_ij <= w_i``
    and ``sum_i x_ij <= C_j`` (facilities of unknown capacity are not limited, and
    what they serve is not counted as within capacity); stage 2 keeps that total
    and minimises the person-metres walked, so that residents go to the nearest
    facility that has room. Both are LPs over the sparse pairs, solved by HiGHS.

    Parameters
    ----------
    reach : FacilityReach
        Pairs within the radius.
    population : ndarray of float
    capacity : ndarray of float
        NaN where unknown.
    time_limit : float
        Seconds for each stage.

    Returns
    -------
    Assignment
        ``status`` is HiGHS's model status of stage 2 (``optimal`` when proven).
    """
    import highspy

    w = np.asarray(population, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    m = len(reach)
    if m == 0:
        return _finish("capacitated", reach, np.zeros(0), cap, "optimal", {"served": 0.0})
    lim_fac = np.flatnonzero(np.isfinite(cap))
    fac_row = np.full(reach.n_facilities, -1)
    fac_row[lim_fac] = np.arange(lim_fac.size)
    # rows: one per demand point used, one per facility of known capacity
    d_used, d_row = np.unique(reach.demand, return_inverse=True)
    f_sel = fac_row[reach.facility] >= 0
    rows = np.concatenate([d_row, d_used.size + fac_row[reach.facility][f_sel]])
    cols = np.concatenate([np.arange(m), np.arange(m)[f_sel]])
    a = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(d_used.size + lim_fac.size, m))
    row_up = np.concatenate([w[d_used], cap[lim_fac]])
    lo, up = np.zeros(m), w[reach.demand]
    h = load_model(a, maximize=True, cost=np.ones(m), lower=lo, upper=up, row_lower=np.full(row_up.size, -np.inf),
                   row_upper=row_up, time_limit=time_limit)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS did not solve the capacitated assignment: {h.getModelStatus().name}")
    best = float(h.getInfo().objective_function_value)
    # stage 2: the same total (less 1e-6 residents of numerical slack), fewest person-metres
    a2 = sparse.vstack([a, sparse.csr_matrix(np.ones((1, m)))], format="csr")
    keep = best * (1 - 1e-12) - 1e-6
    h2 = load_model(a2, maximize=False, cost=reach.distance, lower=lo, upper=up,
                    row_lower=np.concatenate([np.full(row_up.size, -np.inf), [keep]]),
                    row_upper=np.concatenate([row_up, [np.inf]]), time_limit=time_limit)
    h2.run()
    status = h2.getModelStatus()
    x = np.asarray((h2 if status == highspy.HighsModelStatus.kOptimal else h).getSolution().col_value, dtype=float)
    x = np.clip(x, 0.0, up)
    return _finish("capacitated", reach, x, cap, "optimal" if status == highspy.HighsModelStatus.kOptimal
                   else status.name.removeprefix("k").lower(), {"served": best})


# --------------------------------------------------------------------------
# E2SFCA
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Decay:
    """A named distance decay for E2SFCA.

    Attributes
    ----------
    name : {"step", "gaussian"}
        ``step``: Luo & Qi (2009) zones, weight ``weights[z]`` up to ``breaks_m[z]``
        (inclusive), 0 beyond; ``gaussian``: ``exp(-d² / (2 σ²))`` up to the catchment.
    catchment_m : float
        No facility counts beyond this many metres.
    breaks_m, weights : tuple of float
        The step zones.
    sigma_m : float
        The Gaussian width.
    """

    name: Literal["step", "gaussian"]
    catchment_m: float
    breaks_m: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    sigma_m: float | None = None

    @staticmethod
    def luo_qi(catchment_m: float) -> Decay:
        """Luo & Qi's (2009) E2SFCA weights 1.00 / 0.68 / 0.22 over thirds of the catchment."""
        c = float(catchment_m)
        return Decay("step", c, (c / 3, 2 * c / 3, c), LUO_QI_WEIGHTS)

    @staticmethod
    def gaussian(catchment_m: float, sigma_m: float | None = None) -> Decay:
        """``exp(-d²/(2σ²))``, σ = half the catchment unless given."""
        return Decay("gaussian", float(catchment_m), sigma_m=float(sigma_m or catchment_m / 2))

    @staticmethod
    def named(name: str, catchment_m: float) -> Decay:
        if name == "step":
            return Decay.luo_qi(catchment_m)
        if name == "gaussian":
            return Decay.gaussian(catchment_m)
        raise ValueInputError(f"E2SFCA decay must be 'step' or 'gaussian', got {name!r}")

    def weight(self, d: np.ndarray) -> np.ndarray:
        """Weight of each distance (0 beyond the catchment)."""
        d = np.asarray(d, dtype=float)
        if self.name == "gaussian":
            return np.where(d <= self.catchment_m, np.exp(-d * d / (2 * self.sigma_m ** 2)), 0.0)
        zone = np.searchsorted(np.asarray(self.breaks_m), d, side="left")  # d <= break: that zone
        w = np.concatenate([np.asarray(self.weights, dtype=float), [0.0]])
        return np.where(d <= self.catchment_m, w[zone], 0.0)

    def to_dict(self) -> dict:
        out: dict = {"decay": self.name, "catchment_m": round(self.catchment_m, 3)}
        if self.name == "step":
            out.update(reference="Luo & Qi (2009) E2SFCA", breaks_m=[round(b, 3) for b in self.breaks_m],
                       weights=list(self.weights))
        else:
            out.update(reference="Gaussian decay exp(-d^2/(2 sigma^2))", sigma_m=round(self.sigma_m, 3))
        return out

    def label(self) -> str:
        if self.name == "step":
            zones = ", ".join(f"≤{b:.0f} m: {w:g}" for b, w in zip(self.breaks_m, self.weights))
            return f"Luo & Qi step decay ({zones})"
        return f"Gaussian decay (σ = {self.sigma_m:.0f} m, ≤{self.catchment_m:.0f} m)"


def e2sfca(reach: FacilityReach, population: np.ndarray, supply: np.ndarray, decay: Decay
           ) -> tuple[np.ndarray, np.ndarray]:
    """Enhanced two-step floating catchment area accessibility.

    ``R_j = S_j / sum_i W(d_ij) P_i`` (facility supply over the decay-weighted
    residents in its catchment), then ``A_i = sum_j W(d_ij) R_j``; pairs farther
    than ``decay.catchment_m`` and facilities with unknown (NaN) supply are left out.

    Parameters
    ----------
    reach : FacilityReach
        Pairs within at least the catchment.
    population : ndarray of float
        Residents per demand point.
    supply : ndarray of float
        Per facility (its capacity in residents), NaN where unknown.
    decay : Decay

    Returns
    -------
    access : ndarray of float
        ``A_i`` per demand point (supply per resident; 0 where no facility counts).
    ratio : ndarray of float
        ``R_j`` per facility (NaN where the supply is unknown, 0 where no one is in reach).
    """
    s = np.asarray(supply, dtype=float)
    p = np.asarray(population, dtype=float)
    use = (reach.distance <= decay.catchment_m) & np.isfinite(s[reach.facility])
    i, j = reach.demand[use], reach.facility[use]
    wgt = decay.weight(reach.distance[use])
    demand_j = np.bincount(j, weights=wgt * p[i], minlength=reach.n_facilities)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(demand_j > 0, s / np.where(demand_j > 0, demand_j, 1.0), 0.0)
    ratio = np.where(np.isfinite(s), ratio, np.nan)
    access = np.bincount(i, weights=wgt * ratio[j], minlength=reach.n_demand)
    return access, ratio


# --------------------------------------------------------------------------
# the diagnosis of a plan
# --------------------------------------------------------------------------

#: facilities.csv columns, in order (the issue's contract)
FACILITY_COLUMNS = ["name", "kind", "subdistrict", "capacity", "assigned_population", "load_ratio", "overloaded"]


@dataclass
class CapacityResult:
    """Capacities, loads and the E2SFCA index of one plan.

    Attributes
    ----------
    facilities : DataFrame
        :data:`FACILITY_COLUMNS` plus ``capacity_source``, one row per counted facility.
    access : ndarray of float
        E2SFCA per demand point, in capacity (residents) per 1,000 residents; NaN
        when no capacity is known.
    nearest : Assignment
    capacitated : Assignment or None
        With ``assign="capacitated"``.
    rule : CapacityRule
    decay : Decay
    threshold_m : float
        The radius residents are assigned within.
    population : float
        All residents of the plan (the share's denominator).
    skipped : list of Skipped
    """

    facilities: pd.DataFrame
    access: np.ndarray
    nearest: Assignment
    capacitated: Assignment | None
    rule: CapacityRule
    decay: Decay
    threshold_m: float
    population: float
    reach: FacilityReach | None = None
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def assignment(self) -> Assignment:
        """The assignment the facility table shows."""
        return self.capacitated if self.capacitated is not None else self.nearest

    @property
    def known(self) -> bool:
        """Whether any counted facility has a capacity."""
        return bool(self.facilities["capacity"].notna().any())

    def table(self) -> pd.DataFrame:
        """``facilities.csv``: exactly :data:`FACILITY_COLUMNS`."""
        return self.facilities[FACILITY_COLUMNS].copy()

    def covered(self, a: Assignment) -> dict:
        """Residents served within capacity, and those served by facilities of unknown capacity."""
        within = float(a.within_capacity.sum())
        unknown = float(a.assigned[~np.isfinite(self.facilities["capacity"].to_numpy(float))].sum())
        share = round(within / self.population, 6) if self.population > 0 else None
        return {"population": round(within, 3), "share": share,
                "served_population": round(float(a.served.sum()), 3),
                "capacity_unknown_population": round(unknown, 3)}

    def summary(self) -> dict:
        """``summary.json`` → ``capacity``."""
        f = self.facilities
        cap = f["capacity"].to_numpy(float)
        known = np.isfinite(cap)
        a = self.assignment
        over = f[f["overloaded"] == True]  # noqa: E712  (object column with None)
        out: dict = {
            "assign": a.mode, "threshold_m": round(self.threshold_m, 3), **self.rule.to_dict(),
            "facilities": len(f), "facilities_with_capacity": int(known.sum()),
            "facilities_capacity_unknown": int((~known).sum()),
            "capacity_sources": {str(k): int(v) for k, v in f["capacity_source"].value_counts().sort_index().items()},
            "total_capacity": round(float(cap[known].sum()), 3) if known.any() else None,
            "assigned_population": round(float(a.assigned.sum()), 3),
            "overloaded_count": len(over),
            "overloaded": [{"name": n, "capacity": round(float(c), 3), "assigned_population": round(float(p), 3)}
                           for n, c, p in zip(over["name"], over["capacity"], over["assigned_population"])],
            "covered_within_capacity": self.covered(a),
            "nearest": {"covered_within_capacity": self.covered(self.nearest),
                        "overloaded_count": int(np.sum(known & (self.nearest.assigned > np.nan_to_num(cap) + 1e-9)))},
        }
        if self.capacitated is not None:
            out["capacitated"] = {"covered_within_capacity": self.covered(self.capacitated),
                                  "status": self.capacitated.status}
        out["facility_loads"] = [
            {"name": r["name"], "kind": r["kind"], "subdistrict": r["subdistrict"], "capacity_source": r["capacity_source"],
             "capacity": None if not np.isfinite(r["capacity"]) else round(float(r["capacity"]), 3),
             "assigned_population": round(float(r["assigned_population"]), 3),
             "load_ratio": None if not np.isfinite(r["load_ratio"]) else round(float(r["load_ratio"]), 6),
             "overloaded": r["overloaded"]} for r in f.to_dict("records")]
        fin = np.isfinite(self.access)
        out["e2sfca"] = {**self.decay.to_dict(), "unit": "capacity (residents) per 1,000 residents",
                         "computed": bool(fin.any())}
        return out


def facility_table(fac: pd.DataFrame, capacity: np.ndarray, source: list[str], assigned: np.ndarray,
                   mode: str) -> pd.DataFrame:
    """The facility rows: capacity, load, ratio and the overload flag (None where capacity is unknown)."""
    known = np.isfinite(capacity)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(known & (capacity > 0), assigned / np.where(capacity > 0, capacity, 1.0),
                         np.where(known & (assigned > 0), np.inf, np.where(known, 0.0, np.nan)))
    over = [None if not k else bool(a > c + 1e-9) for k, a, c in zip(known, assigned, np.nan_to_num(capacity))]
    return pd.DataFrame({
        "name": fac["name"].to_numpy(dtype=object),
        "kind": fac["kind"].to_numpy(dtype=object),
        "subdistrict": fac["subdistrict"].to_numpy(dtype=object) if "subdistrict" in fac.columns else None,
        "capacity": capacity,
        "assigned_population": np.round(assigned, 6),
        "load_ratio": np.round(ratio, 6),
        "overloaded": pd.Series(over, dtype=object),
        "capacity_source": source,
    })


def measure_capacity(network: WalkNetwork, facilities: pd.DataFrame, demand: pd.DataFrame, demand_snap: Snap,
                     threshold_m: float, walk_m: float, max_snap_m: float, rule: CapacityRule = CapacityRule(),
                     assign: Literal["nearest", "capacitated"] = DEFAULT_ASSIGN, decay: Decay | None = None,
                     time_limit: float = 60.0, fragment_m: float = DEFAULT_FRAGMENT_M,
                     island_snap_m: float = DEFAULT_ISLAND_SNAP_M) -> CapacityResult:
    """Capacities, loads and E2SFCA of counted facilities (the output of :func:`coverage.access.measure_coverage`).

    Parameters
    ----------
    network : WalkNetwork
    facilities : DataFrame
        ``CoverageResult.facilities``: counted facilities with ``off_network``.
    demand : DataFrame
        Demand points with ``population``.
    demand_snap : Snap
        The same points snapped (``CoverageResult.demand_snap``).
    threshold_m : float
        Residents are assigned within this network distance (the radius).
    walk_m : float
        The E2SFCA catchment (the walk distance) unless ``decay`` says otherwise.
    max_snap_m : float
        Demand farther from the streets is off the network: never served.
    rule : CapacityRule
    assign : {"nearest", "capacitated"}
    decay : Decay, optional
        Default :meth:`Decay.luo_qi` over ``walk_m``.
    time_limit : float
    fragment_m, island_snap_m : float
        The fragment rule facilities are snapped with (:mod:`coverage.network.islands`), as in
        the coverage pass.

    Returns
    -------
    CapacityResult
    """
    if assign not in ("nearest", "capacitated"):
        raise ValueInputError(f"assign (--assign) must be 'nearest' or 'capacitated', got {assign!r}")
    decay = decay or Decay.luo_qi(walk_m)
    fac = facilities.reset_index(drop=True)
    cap, source, skipped = facility_capacities(fac, rule)
    ok = ~fac["off_network"].to_numpy(bool) if "off_network" in fac.columns else np.ones(len(fac), bool)
    pos = np.flatnonzero(ok)
    fsnap = snap_facility_points(network, shapely.get_coordinates(fac.geometry.values[pos]), fragment_m,
                                 island_snap_m).snap if pos.size else None
    w = demand["population"].to_numpy(dtype=float)
    active = (demand_snap.offset <= max_snap_m) & (w > 0)
    limit = max(float(threshold_m), float(decay.catchment_m))
    if fsnap is not None:
        r = facility_reach(network, fsnap, demand_snap, limit, active)
        reach = FacilityReach(r.demand, pos[r.facility], r.distance, r.n_demand, len(fac), r.limit)
    else:
        e = np.zeros(0, dtype=np.int64)
        reach = FacilityReach(e, e.copy(), np.zeros(0), len(demand), len(fac), limit)
    radius = reach.within(threshold_m)
    near = nearest_assignment(radius, w, cap)
    capd = capacitated_assignment(radius, w, cap, time_limit) if assign == "capacitated" else None
    shown = capd if capd is not None else near
    table = facility_table(fac, cap, source, shown.assigned, shown.mode)
    if np.isfinite(cap).any():
        acc, _ = e2sfca(reach, w, cap, decay)
        access = acc * 1000.0
    else:
        access = np.full(len(demand), np.nan)
    return CapacityResult(table, access, near, capd, rule, decay, float(threshold_m), float(np.nansum(w)), reach,
                          skipped)


def access_by(demand: pd.DataFrame, access: np.ndarray, keys: list[str]) -> pd.DataFrame:
    """Population-weighted mean E2SFCA per group (``keys`` columns of ``demand``), as ``access_e2sfca``."""
    p = demand["population"].to_numpy(dtype=float)
    df = demand[keys].copy()
    df["_wa"] = np.nan_to_num(p) * access
    df["_w"] = np.where(np.isfinite(access), np.nan_to_num(p), 0.0)
    g = df.groupby(keys, dropna=False)[["_wa", "_w"]].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        g["access_e2sfca"] = (g["_wa"] / g["_w"]).where(g["_w"] > 0)
    return g[["access_e2sfca"]].reset_index()


def capacity_rule(rules: pd.DataFrame, capacity: CapacityResult) -> pd.DataFrame:
    """Add ``capacity_rule`` to the per-subdistrict verdicts: staff matched to the population served.

    A subdistrict passes when none of its counted facilities carries more residents
    than its capacity (under the plan's assignment); it is not judged (None) when
    one of them has no known capacity, and the column is added only when some
    capacity is known. A failed capacity rule fails ``passes``.

    Parameters
    ----------
    rules : DataFrame
        :func:`coverage.rules.check_rules` output (``name``, ``passes``).
    capacity : CapacityResult

    Returns
    -------
    DataFrame
        A copy with ``capacity_rule`` (object: True / False / None) when capacities are known.
    """
    out = rules.copy()
    if not capacity.known:
        return out
    f = capacity.facilities
    verdict = []
    for name in out["name"]:
        mine = f[f["subdistrict"] == name]
        if mine["capacity"].isna().any():
            verdict.append(None)
        else:
            verdict.append(not bool((mine["overloaded"] == True).any()))  # noqa: E712
    out["capacity_rule"] = pd.Series(verdict, index=out.index, dtype=object)
    out["passes"] = out["passes"] & (out["capacity_rule"] != False)  # noqa: E712
    return out

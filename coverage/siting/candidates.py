"""Candidate sites for new stations: street nodes, a candidates layer (snapped), minus the exclusion areas."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.errors import CRSError, GeometryError, ValueInputError
from coverage.geo.areas import first_containing
from coverage.network.graph import WalkNetwork
from coverage.network.snap import Snap, snap_points
from coverage.params import CoverageParams
from coverage.result import PlanResult
from coverage.study import StudyArea

__all__ = [
    "CandidateSet",
    "SitingSetup",
    "candidate_sites",
    "check_siting_args",
    "exclude_candidates",
    "layer_candidates",
    "node_candidates",
    "siting_setup",
]


#: A candidate's own fields; where it meets the network is its :class:`Snap`.
_SITE_FIELDS = ("x", "y", "source", "node", "name")


def check_siting_args(sites: object, site_for: str, target_share: float | None, time_limit: float) -> None:
    """The siting options every siting entry point takes, checked once (``--sites`` … ``--time-limit``)."""
    if not (sites == "auto" or (isinstance(sites, (int, np.integer)) and not isinstance(sites, bool)
                                and sites >= 0)):
        raise ValueInputError(f"sites (--sites) must be 'auto' or a number of new stations >= 0, got {sites!r}")
    if site_for not in ("radius", "walk"):
        raise ValueInputError(f"site_for (--site-for) must be 'radius' or 'walk', got {site_for!r}")
    if target_share is not None and not (isinstance(target_share, (int, float)) and 0 <= target_share <= 1):
        raise ValueInputError(f"target_share (--target-share) must be between 0 and 1, got {target_share!r}")
    if not (isinstance(time_limit, (int, float)) and math.isfinite(time_limit) and time_limit > 0):
        raise ValueInputError(f"time_limit (--time-limit) must be a positive number of seconds, got {time_limit!r}")


def _on_snap(field: str, doc: str) -> property:
    """A read-only attribute of the candidates read from their :class:`Snap`."""
    return property(lambda self: getattr(self.snap, field), doc=doc)


class CandidateSet:
    """Candidate sites, each tied to the street network.

    A node candidate stands on a street node (``node`` >= 0, ``edge`` = -1, no
    legs). A layer candidate is a user point snapped onto an edge like a
    facility. Where a site meets the network is held as a
    :class:`coverage.network.snap.Snap` (:attr:`snap`); its fields read
    through as ``edge``, ``u``, ``v``, ``along``, ``length``, ``offset`` and
    ``sx``, ``sy`` (the snap's ``x``, ``y``).

    Parameters
    ----------
    x, y : ndarray
        The site (metric CRS): the node, or the user's point.
    sx, sy : ndarray
        Where the site meets the network (the node, or the snapped point).
    source : ndarray of str
        ``"node"`` or ``"layer"``.
    node : ndarray of int
        Node position for node candidates, -1 otherwise.
    name : ndarray of object
        Layer name (None for nodes).
    edge, u, v : ndarray of int
        Snapped edge and its ends (``u == v == node`` for node candidates).
    along, length, offset : ndarray of float
        Legs of layer candidates (0 for node candidates).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray, source: np.ndarray,
                 node: np.ndarray, name: np.ndarray, edge: np.ndarray, u: np.ndarray, v: np.ndarray,
                 along: np.ndarray, length: np.ndarray, offset: np.ndarray) -> None:
        self.x, self.y, self.source, self.node, self.name = x, y, source, node, name
        self.snap = Snap(edge=edge, u=u, v=v, along=along, length=length, offset=offset, x=sx, y=sy)

    edge = _on_snap("edge", "Snapped edge (-1 for node candidates).")
    u = _on_snap("u", "The edge's first end (the node for node candidates).")
    v = _on_snap("v", "The edge's other end (the node for node candidates).")
    along = _on_snap("along", "Metres from ``u`` along the edge (0 for node candidates).")
    length = _on_snap("length", "Edge length in metres (0 for node candidates).")
    offset = _on_snap("offset", "Off-network leg in metres (0 for node candidates).")
    sx = _on_snap("x", "Where the site meets the network, x.")
    sy = _on_snap("y", "Where the site meets the network, y.")

    def __len__(self) -> int:
        return len(self.x)

    @staticmethod
    def _of(site: dict[str, np.ndarray], snap: Snap) -> CandidateSet:
        """Candidates from their own fields and their :class:`Snap`."""
        out = object.__new__(CandidateSet)
        out.__dict__.update(site, snap=snap)
        return out

    def subset(self, mask: np.ndarray) -> CandidateSet:
        """The candidates selected by a boolean mask or an index array."""
        return CandidateSet._of({f: getattr(self, f)[mask] for f in _SITE_FIELDS}, self.snap.subset(mask))

    @staticmethod
    def concat(parts: list[CandidateSet]) -> CandidateSet:
        """Candidates of several sets, in order."""
        snap = Snap(*(np.concatenate([getattr(p.snap, f.name) for p in parts]) for f in dataclasses.fields(Snap)))
        return CandidateSet._of({f: np.concatenate([getattr(p, f) for p in parts]) for f in _SITE_FIELDS}, snap)

    @property
    def is_layer(self) -> np.ndarray:
        """True for layer candidates (snapped points)."""
        return self.edge >= 0

    def anchors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(candidate, node, cost)``: the nodes a walk from each site starts at, and the legs to them."""
        j = np.arange(len(self))
        lay = self.is_layer
        cand = np.concatenate([j, j[lay]])
        node = np.concatenate([self.u, self.v[lay]])
        cost = np.concatenate([self.offset + self.along, (self.offset + self.length - self.along)[lay]])
        return cand, node.astype(np.int64), cost


def _empty_candidates() -> CandidateSet:
    i = np.zeros(0, dtype=np.int64)
    f = np.zeros(0)
    o = np.zeros(0, dtype=object)
    return CandidateSet(f, f, f, f, o, i, o, i, i, i, f, f, f)


def node_candidates(network: WalkNetwork) -> CandidateSet:
    """Every street node as a candidate site, one per location.

    Parameters
    ----------
    network : WalkNetwork

    Returns
    -------
    CandidateSet
        Nodes at the same coordinates (to the millimetre) appear once (the first).
    """
    xy = np.column_stack([network.node_x, network.node_y])
    _, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    nodes = np.sort(first).astype(np.int64)
    k = len(nodes)
    x, y = network.node_x[nodes], network.node_y[nodes]
    z = np.zeros(k)
    return CandidateSet(x=x, y=y, sx=x.copy(), sy=y.copy(), source=np.full(k, "node", dtype=object), node=nodes,
                        name=np.full(k, None, dtype=object), edge=np.full(k, -1, dtype=np.int64), u=nodes.copy(),
                        v=nodes.copy(), along=z, length=z.copy(), offset=z.copy())


def layer_candidates(network: WalkNetwork, layer: gpd.GeoDataFrame, max_snap_m: float
                     ) -> tuple[CandidateSet, list[str]]:
    """The user's candidate points, snapped onto the streets.

    Parameters
    ----------
    network : WalkNetwork
    layer : GeoDataFrame
        Points (any CRS); optional ``name``.
    max_snap_m : float
        Points farther than this from every walkable street are skipped.

    Returns
    -------
    candidates : CandidateSet
    skipped : list of str
        ``"name (offset m)"`` of each skipped point.
    """
    if layer.crs is None:
        raise CRSError("the candidates layer has no CRS; add a .prj or declare it")
    g = layer.to_crs(network.crs)
    geoms = g.geometry.values
    ok_type = shapely.get_type_id(geoms) == 0
    if (~ok_type | shapely.is_empty(geoms)).any():
        row = int(np.flatnonzero(~ok_type | shapely.is_empty(geoms))[0])
        raise GeometryError("candidate sites must be single points; convert lines/polygons to points "
                            "(e.g. their centroids)", row=row)
    xy = shapely.get_coordinates(geoms)
    if "name" in g.columns:
        names = np.array([None if pd.isna(v) else str(v) for v in g["name"]], dtype=object)
    else:
        names = np.array([f"candidate {i + 1}" for i in range(len(g))], dtype=object)
    snap = snap_points(network, xy)
    ok = snap.offset <= max_snap_m
    skipped = [f"{n} ({o:.0f} m)" for n, o in zip(names[~ok], snap.offset[~ok])]
    s = snap.subset(ok)
    k = int(ok.sum())
    site = {"x": xy[ok, 0], "y": xy[ok, 1], "source": np.full(k, "layer", dtype=object),
            "node": np.full(k, -1, dtype=np.int64), "name": names[ok]}
    return CandidateSet._of(site, s), skipped


def exclude_candidates(candidates: CandidateSet, exclusions: gpd.GeoDataFrame | None, crs: object
                       ) -> tuple[CandidateSet, np.ndarray]:
    """Drop candidates inside (or on the edge of) exclusion polygons.

    Parameters
    ----------
    candidates : CandidateSet
    exclusions : GeoDataFrame or None
        Polygons (any CRS) where no station may go: parks, water, industrial land.
    crs : CRS
        The candidates' (metric) CRS.

    Returns
    -------
    kept : CandidateSet
    excluded : ndarray of bool
        Which of the input candidates were dropped.
    """
    if exclusions is None or len(exclusions) == 0 or len(candidates) == 0:
        return candidates, np.zeros(len(candidates), dtype=bool)
    if exclusions.crs is None:
        raise CRSError("the exclusions layer has no CRS; add a .prj or declare it")
    polys = exclusions.to_crs(crs).geometry.values
    polys = polys[~shapely.is_empty(polys) & np.isin(shapely.get_type_id(polys), (3, 6))]
    if len(polys) == 0:
        raise GeometryError("the exclusions layer holds no polygon; draw the areas where no station may go "
                            "(parks, water, industrial land) as polygons")
    pts = shapely.points(candidates.x, candidates.y)
    excluded = first_containing(pts, polys) >= 0
    return candidates.subset(~excluded), excluded


def _as_snap(cands: CandidateSet) -> Snap:
    """Candidates as snapped points (a node candidate: a point on its node with no legs)."""
    return cands.snap


def candidate_sites(study: StudyArea, params: CoverageParams, candidates: str | None,
                    exclusions: gpd.GeoDataFrame | None, notes: list[str]
                    ) -> tuple[CandidateSet, str, int, list[str]]:
    """The candidate sites (nodes, layer or both, minus exclusions), their source, and what was left out."""
    net = study.network
    has_layer = study.candidates is not None and len(study.candidates) > 0
    source = candidates or ("layer" if has_layer else "nodes")
    parts = []
    off_network: list[str] = []
    if source in ("nodes", "both"):
        parts.append(node_candidates(net))
    if source in ("layer", "both"):
        if not has_layer:
            raise ValueInputError("candidate source 'layer' needs a candidates layer (candidates.geojson with "
                                  "points); add one or use --candidate-source nodes")
        lc, off_network = layer_candidates(net, study.candidates, params.max_snap_m)
        parts.append(lc)
        if off_network:
            notes.append(f"{len(off_network)} candidate site(s) farther than {params.max_snap_m:g} m from any "
                         f"walkable street were skipped: {', '.join(off_network[:10])}")
    cands = CandidateSet.concat(parts) if parts else _empty_candidates()
    excl_layer = exclusions if exclusions is not None else study.exclusions
    cands, excluded = exclude_candidates(cands, excl_layer, net.crs)
    return cands, source, int(excluded.sum()), off_network


@dataclasses.dataclass
class SitingSetup:
    """What every siting run starts from: its target, distance and candidates.

    Attributes
    ----------
    target : float
        Share of residents to cover (the argument, else ``params.target_share``).
    threshold : float
        Metres: ``params.radius_m`` (``site_for="radius"``) or ``params.walk_m``.
    cands : CandidateSet
    source : str
        ``nodes``, ``layer`` or ``both``.
    n_excluded : int
        Candidates dropped inside exclusion areas.
    off_network : list of str
        Layer candidates skipped as too far from a street.
    group : ndarray of int
        Subdistrict of each candidate (first containing, -1 for none).
    """

    target: float
    threshold: float
    cands: CandidateSet
    source: str
    n_excluded: int
    off_network: list[str]
    group: np.ndarray


def siting_setup(result: PlanResult, site_for: str, target_share: float | None, candidates: str | None,
                 exclusions: gpd.GeoDataFrame | None, notes: list[str]) -> SitingSetup:
    """Target, distance, candidate sites and their subdistricts, for a siting run on ``result``.

    Shared by :func:`coverage.siting.propose.propose_sites` and
    :func:`coverage.siting.capacitated.propose_capacitated`; notes on skipped
    candidates go to ``notes``.
    """
    study, params = result.study, result.params
    target = params.target_share if target_share is None else float(target_share)
    threshold = params.radius_m if site_for == "radius" else params.walk_m
    cands, source, n_excluded, off_network = candidate_sites(study, params, candidates, exclusions, notes)
    group = first_containing(shapely.points(cands.x, cands.y), study.subdistricts.geometry.values)
    return SitingSetup(target, threshold, cands, source, n_excluded, off_network, group)

"""Walking profiles on the network: the ways a walker may use, and per-edge cost factors.

The wheelchair profile refuses ``highway=steps`` and ``wheelchair=no`` and prefers
``wheelchair=yes`` (the profiles and their sources are in :data:`coverage.params.PROFILES`).
A refused edge is removed from a copy of the network with the same nodes, so snapping
and every search of that walker stay on the ways it can use.
"""

from __future__ import annotations

import numpy as np

from coverage.errors import ValueInputError
from coverage.network.filter import _as_text
from coverage.network.graph import WalkNetwork
from coverage.params import PROFILES, WalkProfile

__all__ = ["get_profile", "prefer_factors", "profile_network"]


def get_profile(name: str | WalkProfile, speed_kmh: float | None = None) -> WalkProfile:
    """The named profile, with its speed overridden by ``speed_kmh`` when given."""
    prof = name if isinstance(name, WalkProfile) else PROFILES.get(str(name).lower())
    if prof is None:
        raise ValueInputError(f"unknown walking profile {name!r}; use one of {', '.join(PROFILES)}")
    if speed_kmh is None:
        return prof
    if not (np.isfinite(speed_kmh) and speed_kmh > 0):
        raise ValueInputError(f"--speed-kmh must be a positive number, got {speed_kmh!r}")
    return WalkProfile(prof.name, float(speed_kmh), prof.refuse, prof.prefer_factor, prof.source)


def _tag_hits(network: WalkNetwork, tag: str, values: tuple[str, ...]) -> np.ndarray:
    if tag not in network.edges.columns:
        return np.zeros(len(network.edges), dtype=bool)
    text = network.edges[tag].map(_as_text).to_numpy()
    return np.fromiter((any(v in t.split(";") for v in values) for t in text), dtype=bool, count=len(text))


def profile_network(network: WalkNetwork, profile: WalkProfile) -> tuple[WalkNetwork, dict]:
    """The network this walker can use (same nodes; refused edges removed).

    Returns the network (``network`` itself when nothing is refused) and a report
    ``{"refused_edges": {"highway=steps": k, ...}, "refused_length_m": ...}``.
    """
    drop = np.zeros(len(network.edges), dtype=bool)
    counts: dict[str, int] = {}
    for tag, values in profile.refuse:
        hit = _tag_hits(network, tag, values) & ~drop
        if hit.any():
            counts[f"{tag}={'|'.join(values)}"] = int(hit.sum())
        drop |= hit
    report = {"refused_edges": counts, "refused_length_m": round(float(network.edges["length"][drop].sum()), 1)}
    if not drop.any():
        return network, report
    edges = network.edges.loc[~drop].reset_index(drop=True)
    sub = WalkNetwork(crs=network.crs, node_x=network.node_x, node_y=network.node_y, node_id=network.node_id,
                      edges=edges, source=f"{network.source} ({profile.name})",
                      excluded={**network.excluded, **{f"{profile.name}:{k}": v for k, v in counts.items()}})
    return sub, report


def prefer_factors(network: WalkNetwork, profile: WalkProfile) -> np.ndarray:
    """Per-edge cost factor: ``profile.prefer_factor`` on ways not tagged ``wheelchair=yes``, else 1."""
    f = np.ones(len(network.edges))
    if profile.prefer_factor != 1.0:
        f[~_tag_hits(network, "wheelchair", ("yes",))] = profile.prefer_factor
    return f

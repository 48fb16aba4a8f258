"""Direction-dependent walking times per edge: a DEM sampled along the streets and a slope model.

Every edge is sampled every ``spacing`` metres along its geometry (and at both ends); the
DEM (any CRS, read with rasterio) is interpolated bilinearly at the samples; each piece
between two samples gets its grade ``S = dz / ds`` and Tobler's hiking function
``6·exp(-3.5·|S + 0.05|)`` normalised so that ``S = 0`` gives the profile's speed
(:data:`coverage.params.SLOPE_MODEL`). A piece whose end lacks elevation (outside the DEM,
nodata) is walked as flat, and its length is reported. Times are seconds, u → v and v → u.

>>> round(float(tobler_factor(np.array([0.05]))[0] / tobler_factor(np.array([-0.05]))[0]), 6)  # up / down
0.704688
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import shapely

from coverage.errors import CRSError, LayerReadError
from coverage.network.graph import WalkNetwork
from coverage.params import DEM_SPACING_M, SLOPE_MODEL

__all__ = ["EdgeTimes", "edge_samples", "edge_times", "sample_dem", "tobler_factor"]


def tobler_factor(grade: np.ndarray) -> np.ndarray:
    """Tobler's speed at ``grade`` (rise over run, + uphill) divided by his speed on flat ground."""
    return np.exp(-3.5 * np.abs(np.asarray(grade, dtype=float) + 0.05)) / np.exp(-3.5 * 0.05)


def _count_below(pos: np.ndarray, lo: np.ndarray, hi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per query, how many of ``pos[lo+1 .. hi-1]`` are ≤ ``x`` (a vectorised bisection per edge)."""
    a, b = np.zeros(len(x), dtype=np.int64), np.maximum(hi - lo - 1, 0)
    while True:
        todo = a < b
        if not todo.any():
            return a
        mid = (a + b + 1) // 2
        ok = todo & (pos[np.minimum(lo + mid, hi)] <= x)
        a = np.where(ok, mid, a)
        b = np.where(todo & ~ok, mid - 1, b)


@dataclass(frozen=True)
class EdgeTimes:
    """Walking seconds along every edge in both directions, and along parts of edges.

    Attributes
    ----------
    forward, backward : ndarray
        Seconds from ``u`` to ``v`` and from ``v`` to ``u``.
    pos, cum_f, cum_b : ndarray
        Samples of all edges on one increasing axis (``base[e] + s``) with the cumulative
        seconds walking forward from ``u`` (``cum_f``) and back to ``u`` (``cum_b``).
    base : ndarray
        Start of each edge on that axis.
    speed_ms : float
        Flat-ground speed (m/s), also the speed of the off-network legs.
    no_elevation_m : float
        Street length walked as flat because the DEM did not cover it (0 without a DEM: all flat).
    model : str
        The slope model (or ``flat``).
    first, last : ndarray, optional
        Index of each edge's first and last sample in ``pos`` (lookups search only those).
    """

    forward: np.ndarray
    backward: np.ndarray
    pos: np.ndarray
    cum_f: np.ndarray
    cum_b: np.ndarray
    base: np.ndarray
    speed_ms: float
    no_elevation_m: float
    model: str

    first: np.ndarray | None = None
    last: np.ndarray | None = None

    def _at(self, cum: np.ndarray, edge: np.ndarray, along: np.ndarray) -> np.ndarray:
        x = self.base[edge] + along
        if self.first is None or self.last is None:
            return np.interp(x, self.pos, cum) - np.interp(self.base[edge], self.pos, cum)
        # the samples of edge e are pos[first[e]..last[e]], increasing: find the piece holding x by
        # a search inside the edge's own samples (they are few), not over the whole axis
        lo, hi = self.first[edge], self.last[edge]
        k = lo + _count_below(self.pos, lo, hi, x)
        k1 = np.minimum(k + 1, hi)
        span = self.pos[k1] - self.pos[k]
        frac = np.clip(np.divide(x - self.pos[k], span, out=np.zeros(len(x)), where=span > 0), 0.0, 1.0)
        return cum[k] + (cum[k1] - cum[k]) * frac - cum[lo]

    def from_u(self, edge: np.ndarray, along: np.ndarray) -> np.ndarray:
        """Seconds walking from ``u`` forward to the point ``along`` metres in."""
        return self._at(self.cum_f, edge, along)

    def to_u(self, edge: np.ndarray, along: np.ndarray) -> np.ndarray:
        """Seconds walking from the point ``along`` metres in back to ``u``."""
        return self._at(self.cum_b, edge, along)


def _along_points(network: WalkNetwork, edge: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Points ``s`` metres along the geometry of ``edge`` (``s`` sorted per edge, edges ascending).

    One ``np.interp`` over all vertices laid end to end on one axis (each edge's chainage
    offset by its start, 1 m between edges) instead of a GEOS call per point: the same
    points as ``shapely.line_interpolate_point``, an order of magnitude faster.
    """
    geoms = np.asarray(network.edges.geometry.values)
    xy, gi = shapely.get_coordinates(geoms, return_index=True)
    seg = np.hypot(*np.diff(xy, axis=0).T)
    seg[gi[1:] != gi[:-1]] = 0.0  # no segment between two edges
    chain = np.r_[0.0, np.cumsum(seg)]
    glen = shapely.length(geoms)
    start = chain[np.searchsorted(gi, np.arange(len(geoms)))]
    off = np.r_[0.0, np.cumsum(glen + 1.0)[:-1]]
    axis = chain - start[gi] + off[gi]
    at = off[edge] + np.minimum(s, glen[edge])  # like GEOS: a distance past the end gives the end
    return np.column_stack([np.interp(at, axis, xy[:, 0]), np.interp(at, axis, xy[:, 1])])


def edge_samples(network: WalkNetwork, spacing: float = DEM_SPACING_M) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing`` m along every edge and at its end: ``(edge, s, xy)``."""
    length = network.edges["length"].to_numpy(dtype=float)
    n = np.ceil(length / spacing).astype(np.int64) + 1
    edge = np.repeat(np.arange(len(length)), n)
    first = np.cumsum(n) - n
    k = np.arange(len(edge)) - np.repeat(first, n)
    s = np.minimum(k * spacing, length[edge])
    return edge, s, _along_points(network, edge, s)


def sample_dem(path: str | Path, xy: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """Bilinear DEM elevations at points ``xy`` given in ``crs`` (NaN outside or near nodata)."""
    import rasterio

    path = Path(path)
    try:
        src = rasterio.open(path)
    except Exception as exc:
        raise LayerReadError(f"cannot read as a DEM GeoTIFF ({exc}); give a single-band elevation raster",
                             path=path) from exc
    with src:
        if src.crs is None:
            raise CRSError("the DEM has no coordinate reference system; write one into the GeoTIFF", path=path)
        band = src.read(1, masked=True)
        inv = ~src.transform
        to_dem = pyproj.Transformer.from_crs(crs, pyproj.CRS(src.crs.to_wkt()), always_xy=True)
    z = np.ma.filled(band.astype(float), np.nan)
    px, py = to_dem.transform(xy[:, 0], xy[:, 1])
    px, py = np.asarray(px), np.asarray(py)
    col, row = inv.c + inv.a * px + inv.b * py, inv.f + inv.d * px + inv.e * py
    c, r = np.asarray(col) - 0.5, np.asarray(row) - 0.5  # pixel centres at integer positions
    h, w = z.shape
    out = np.full(len(c), np.nan)
    inside = (c >= -0.5) & (c <= w - 0.5) & (r >= -0.5) & (r <= h - 0.5)
    c, r = np.clip(c[inside], 0, w - 1), np.clip(r[inside], 0, h - 1)
    c0, r0 = np.minimum(np.floor(c).astype(np.int64), max(w - 2, 0)), np.minimum(np.floor(r).astype(np.int64), max(h - 2, 0))
    c1, r1 = np.minimum(c0 + 1, w - 1), np.minimum(r0 + 1, h - 1)
    fc, fr = c - c0, r - r0
    top = z[r0, c0] * (1 - fc) + z[r0, c1] * fc
    bottom = z[r1, c0] * (1 - fc) + z[r1, c1] * fc
    out[inside] = top * (1 - fr) + bottom * fr  # NaN when any neighbour is nodata
    return out


def edge_times(network: WalkNetwork, speed_kmh: float, dem: str | Path | None = None,
               spacing: float = DEM_SPACING_M, factors: np.ndarray | None = None) -> EdgeTimes:
    """Seconds along every edge both ways at ``speed_kmh`` on the flat, slope-adjusted with a DEM.

    Parameters
    ----------
    network : WalkNetwork
    speed_kmh : float
        The profile's flat-ground speed.
    dem : path, optional
        DEM GeoTIFF in any CRS (metres of elevation); without it every edge is flat.
    spacing : float
        Sample spacing along edges (metres).
    factors : ndarray, optional
        Per-edge cost factors (a profile's preferences), 1 by default.
    """
    speed = speed_kmh / 3.6
    length = network.edges["length"].to_numpy(dtype=float)
    if dem is not None:
        edge, s, xy = edge_samples(network, spacing)
        z = sample_dem(dem, xy, network.crs)
    else:  # flat: seconds grow linearly along an edge, its two ends are samples enough
        edge, s = np.repeat(np.arange(len(length)), 2), np.column_stack([np.zeros(len(length)), length]).ravel()
        z = np.full(len(s), np.nan)
    ds, dz = np.diff(s), np.diff(z)
    same = edge[1:] == edge[:-1]
    has = np.isfinite(dz) & same  # a 'piece' across two edges is no piece
    grade = np.where(has, dz / np.maximum(ds, 1e-9), 0.0)
    fac = np.ones(len(network.edges)) if factors is None else np.asarray(factors, dtype=float)
    f = fac[edge[:-1]]
    t_f = np.where(same, ds * f / (speed * (tobler_factor(grade) if dem is not None else 1.0)), 0.0)
    t_b = np.where(same, ds * f / (speed * (tobler_factor(-grade) if dem is not None else 1.0)), 0.0)
    cum_f, cum_b = np.r_[0.0, np.cumsum(t_f)], np.r_[0.0, np.cumsum(t_b)]
    base = np.r_[0.0, np.cumsum(length + 1.0)[:-1]]  # a 1 m gap between edges keeps the axis increasing
    first = np.searchsorted(edge, np.arange(len(length)))
    last = np.searchsorted(edge, np.arange(len(length)), side="right") - 1
    no_elev = float(ds[same & ~np.isfinite(dz)].sum()) if dem is not None else 0.0
    return EdgeTimes(forward=cum_f[last] - cum_f[first], backward=cum_b[last] - cum_b[first], pos=base[edge] + s,
                     cum_f=cum_f, cum_b=cum_b, base=base, speed_ms=speed, no_elevation_m=no_elev,
                     model=SLOPE_MODEL if dem is not None else "flat", first=first, last=last)

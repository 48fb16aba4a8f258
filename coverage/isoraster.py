"""Isochrone outlines traced on a grid: the fast way to buffer reached street edges.

Buffering every reached street segment and unioning the buffers in GEOS costs
tens of milliseconds per polygon on real OSM data (thousands of short
segments). The same shape — the reached parts of the edges, cut at the limit,
widened by the buffer distance — is traced here on a grid of ``cell_m`` metres:

1. the reached parts are sampled every half cell; each sample is kept at its
   nearest grid point (with its exact position);
2. a Euclidean feature transform gives every grid point its nearest street grid
   point, and the field is the exact distance to that point's sample — the
   distance to the street to within a fraction of a cell;
3. marching squares (``contourpy``) draw the field's ``buffer`` level with
   sub-cell interpolation, as polygons with holes; holes up to the fill area
   are dropped by their shoelace area.

Measured against the exact GEOS buffer (``method="vector"``), mean outline
offset (symmetric difference / perimeter) at 10 m cells: 1.1 m on a jittered
grid city, 1.2 m on Helsinki's OSM streets (5 m cells: 0.6 m); a pixel
staircase traced at 5 m was 1.8–1.9 m and about 2.5× slower. Coverage figures never
depend on the outline (they come from network distances).

All arrays are built once per network (:class:`SegmentTable`) and per search
with numpy; no Python loop over edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import contourpy
import numpy as np
import shapely
from scipy import ndimage

from .network import WalkNetwork

__all__ = ["SegmentTable", "segment_table", "sample_lines", "reached_samples", "trace_polygon"]


@dataclass(frozen=True)
class SegmentTable:
    """Every straight segment of every edge, with its position along the edge.

    Attributes
    ----------
    edge : ndarray of int
        Edge row of each segment.
    x0, y0, x1, y1 : ndarray of float
        Segment ends (metric CRS), in the edge's u → v direction.
    s0, s1 : ndarray of float
        Distance along the edge from ``u`` to the segment's start and end.
    start : ndarray of int
        ``start[e]:start[e + 1]`` are the segments of edge ``e`` (segments are in edge order).
    """

    edge: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    start: np.ndarray


def segment_table(network: WalkNetwork) -> SegmentTable:
    """Split the network's edge geometries into straight segments (vectorised)."""
    geoms = np.asarray(network.edges.geometry.values)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    same = idx[1:] == idx[:-1]  # consecutive coordinates of one edge form a segment
    a = np.flatnonzero(same)
    x0, y0, x1, y1 = xy[a, 0], xy[a, 1], xy[a + 1, 0], xy[a + 1, 1]
    seg_len = np.hypot(x1 - x0, y1 - y0)
    edge = idx[a]
    # cumulative length along each edge: global cumsum minus the cumsum at the edge's first segment
    csum = np.cumsum(seg_len)
    first = np.r_[True, edge[1:] != edge[:-1]]
    start_of_run = np.maximum.accumulate(np.where(first, np.arange(len(edge)), 0))
    before = csum[start_of_run] - seg_len[start_of_run]
    s1 = csum - before
    s0 = s1 - seg_len
    # geometry lengths and the edges' stored lengths agree (network_from_edges sets length from geometry)
    start = np.searchsorted(edge, np.arange(len(network.edges) + 1))
    return SegmentTable(edge, x0, y0, x1, y1, s0, s1, start)


def sample_lines(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray, step: float) -> np.ndarray:
    """Points from (ax, ay) to (bx, by) on each straight piece, at most ``step`` apart, ends included."""
    if not len(ax):
        return np.zeros((0, 2))
    n = np.ceil(np.hypot(bx - ax, by - ay) / step).astype(np.int64) + 1
    rep = np.repeat(np.arange(len(ax)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    frac = k / np.maximum(n[rep] - 1, 1)
    return np.column_stack([ax[rep] + (bx[rep] - ax[rep]) * frac, ay[rep] + (by[rep] - ay[rep]) * frac])


def _portion_samples(seg: SegmentTable, sel: np.ndarray, p0: np.ndarray, p1: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` metres along the part [p0, p1] (edge positions) of selected segments."""
    s0 = seg.s0[sel]
    L = np.maximum(seg.s1[sel] - s0, 1e-9)
    t0 = (p0 - s0) / L
    t1 = (p1 - s0) / L
    dx, dy = seg.x1[sel] - seg.x0[sel], seg.y1[sel] - seg.y0[sel]
    return sample_lines(seg.x0[sel] + dx * t0, seg.y0[sel] + dy * t0, seg.x0[sel] + dx * t1, seg.y0[sel] + dy * t1,
                        step)


def reached_samples(seg: SegmentTable, edge: np.ndarray, start: np.ndarray, end: np.ndarray, step: float
                    ) -> np.ndarray:
    """Sample points on reached stretches of edges (from :func:`coverage.isochrones.reached_intervals`).

    Parameters
    ----------
    seg : SegmentTable
    edge, start, end : ndarray
        Edge rows and the reached stretch of each, in metres from the edge's ``u``.
    step : float
        Sampling interval in metres.

    Returns
    -------
    ndarray, shape (k, 2)
    """
    # pair each stretch with the segments of its edge, keep the overlaps
    counts = seg.start[edge + 1] - seg.start[edge]
    which = np.repeat(np.arange(len(edge)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = seg.start[edge][which] + within
    lo = np.maximum(seg.s0[idx], start[which])
    hi = np.minimum(seg.s1[idx], end[which])
    keep = hi > lo
    return _portion_samples(seg, idx[keep], lo[keep], hi[keep], step)


def trace_polygon(samples: np.ndarray, buffer_m: float, fill_holes_m2: float, cell_m: float = 10.0
                  ) -> shapely.Geometry:
    """Widen sampled street points by ``buffer_m`` on a grid and return the outline polygon.

    Parameters
    ----------
    samples : ndarray, shape (k, 2)
        Points on the reached streets, at most half a cell apart.
    buffer_m : float
        How far from the reached streets the area extends (> 0).
    fill_holes_m2 : float
        Enclosed holes up to this area are filled.
    cell_m : float
        Grid spacing in metres.

    Returns
    -------
    shapely Polygon or MultiPolygon (empty when there are no samples)
    """
    if len(samples) == 0 or buffer_m <= 0:
        return shapely.Polygon()
    pad = buffer_m + 2 * cell_m  # the frame stays outside the outline, so every ring closes
    x0 = samples[:, 0].min() - pad
    y0 = samples[:, 1].min() - pad
    w = int(np.ceil((samples[:, 0].max() + pad - x0) / cell_m)) + 1
    h = int(np.ceil((samples[:, 1].max() + pad - y0) / cell_m)) + 1
    col = np.rint((samples[:, 0] - x0) / cell_m).astype(np.int64)
    row = np.rint((samples[:, 1] - y0) / cell_m).astype(np.int64)
    # several samples share a grid point: keep the one nearest to it (written last), so that the
    # ends of reached stretches, which decide the rounded caps, are the ones kept where they fall;
    # a stable sort of 8-bit keys is a radix sort in numpy (a float argsort cost ~15 % of the tracer)
    off = np.hypot(samples[:, 0] - (x0 + col * cell_m), samples[:, 1] - (y0 + row * cell_m))
    key = (255 - np.minimum(off / cell_m * 360, 255)).astype(np.uint8)  # off <= 0.71 cell
    order = np.argsort(key, kind="stable")
    owner = np.full((h, w), -1, dtype=np.int64)
    owner[row[order], col[order]] = order  # the sample kept at each grid point
    near_r, near_c = ndimage.distance_transform_edt(owner < 0, return_distances=False, return_indices=True)
    kept = owner.ravel()[near_r.ravel() * w + near_c.ravel()].reshape(h, w)
    gx = x0 + np.arange(w) * cell_m
    gy = y0 + np.arange(h) * cell_m
    field = np.hypot(gx[None, :] - samples[kept, 0], gy[:, None] - samples[kept, 1])
    gen = contourpy.contour_generator(gx, gy, field, fill_type=contourpy.FillType.OuterOffset)
    points, offsets = gen.filled(-1.0, float(buffer_m))
    polys = [_polygon_with_big_holes(xy, off, fill_holes_m2) for xy, off in zip(points, offsets)]
    if not polys:
        return shapely.Polygon()
    # a piece inside a filled hole overlaps its parent now: union, never a MultiPolygon of overlaps
    return polys[0] if len(polys) == 1 else shapely.union_all(polys)


def _ring_areas(xy: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Shoelace area of each closed ring ``xy[offsets[k]:offsets[k + 1]]``."""
    cross = xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]
    cross = np.append(cross, 0.0)
    cross[offsets[1:] - 1] = 0.0  # no term across the seam between rings
    return 0.5 * np.abs(np.add.reduceat(cross, offsets[:-1]))


def _polygon_with_big_holes(xy: np.ndarray, offsets: np.ndarray, fill_holes_m2: float) -> shapely.Polygon:
    """One contourpy polygon (outer ring first) keeping only holes larger than ``fill_holes_m2``."""
    shell = xy[offsets[0]:offsets[1]]
    if len(offsets) <= 2:
        return shapely.Polygon(shell)
    areas = _ring_areas(xy, offsets)
    keep = [k for k in range(1, len(offsets) - 1) if areas[k] > fill_holes_m2]
    return shapely.Polygon(shell, [xy[offsets[k]:offsets[k + 1]] for k in keep])

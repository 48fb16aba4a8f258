"""Isochrone outlines traced on a grid: the fast way to buffer reached street edges.

Buffering every reached street segment and unioning the buffers in GEOS costs
tens of milliseconds per polygon on real OSM data (thousands of short
segments). The same shape — the reached parts of the edges, cut at the limit,
widened by the buffer distance — is traced here on a grid of ``cell_m`` metres:

1. the reached straight pieces are marked every cell at their nearest grid
   point, each mark naming its piece;
2. a Euclidean feature transform gives every grid point its nearest mark, and
   the field is the exact distance from the grid point to that mark's piece;
3. marching squares (``contourpy``) draw the field's ``buffer`` level with
   sub-cell interpolation, as polygons with holes; holes up to the fill area
   are dropped by their shoelace area.

Because the field is an exact distance to a street piece, the only error left
is the linear interpolation across a cell: on one oblique street the outline is
the exact capsule to 0.1 m on average at 12.5 m cells. Measured against the GEOS
buffer of ``method="vector"`` (100 polygons' worth of 5/10/15-minute outlines,
mean symmetric difference / perimeter): 1.0 m on a jittered grid city and 1.3 m
on Helsinki's OSM streets at 12.5 m cells (the default; the earlier tracer, which
measured to the nearest sample point, gave 1.1 / 1.2 m at 10 m cells and took
~1.7× longer), 0.7 / 0.9 m at 10 m, 0.4 m at 5 m. Coverage figures never depend on the outline (they
come from network distances).

The edges' straight segments are built once per network (``WalkNetwork.segments``);
everything per search is numpy, with no Python loop over edges.
"""

from __future__ import annotations

import contourpy
import numpy as np
import shapely
from scipy import ndimage

from coverage.network.graph import SegmentTable, segment_foot
from coverage.ranges import concat_ranges, sample_pieces

__all__ = ["reached_pieces", "trace_polygon"]


def reached_pieces(seg: SegmentTable, edge: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The straight pieces of reached stretches of edges (from :func:`coverage.isochrones.reached_intervals`).

    Parameters
    ----------
    seg : SegmentTable
    edge, start, end : ndarray
        Edge rows and the reached stretch of each, in metres from the edge's ``u``.

    Returns
    -------
    ndarray, shape (k, 4)
        ``x0, y0, x1, y1`` of each reached part of a segment.
    """
    # pair each stretch with the segments of its edge, keep the overlaps
    counts = seg.start[edge + 1] - seg.start[edge]
    which = np.repeat(np.arange(len(edge)), counts)
    idx = concat_ranges(seg.start[edge], counts)
    lo = np.maximum(seg.s0[idx], start[which])
    hi = np.minimum(seg.s1[idx], end[which])
    keep = hi > lo
    idx, lo, hi = idx[keep], lo[keep], hi[keep]
    s0 = seg.s0[idx]
    L = np.maximum(seg.s1[idx] - s0, 1e-9)
    return np.column_stack([*seg.at(idx, (lo - s0) / L), *seg.at(idx, (hi - s0) / L)])


def trace_polygon(pieces: np.ndarray, buffer_m: float, fill_holes_m2: float, cell_m: float = 12.5
                  ) -> shapely.Geometry:
    """Widen straight street pieces by ``buffer_m`` on a grid and return the outline polygon.

    Parameters
    ----------
    pieces : ndarray, shape (k, 4)
        ``x0, y0, x1, y1`` of each reached straight piece (see :func:`reached_pieces`).
    buffer_m : float
        How far from the reached streets the area extends (> 0).
    fill_holes_m2 : float
        Enclosed holes up to this area are filled.
    cell_m : float
        Grid spacing in metres.

    Returns
    -------
    shapely Polygon or MultiPolygon (empty when there are no pieces)
    """
    if len(pieces) == 0 or buffer_m <= 0:
        return shapely.Polygon()
    ax, ay, bx, by = pieces.T
    # marks every cell along each piece name the piece that passes near each grid point (the field
    # below is measured to the piece itself, so denser marks gave no better outline)
    marks, piece = sample_pieces(ax, ay, bx, by, cell_m)
    sx, sy = marks[:, 0], marks[:, 1]
    pad = buffer_m + 1.5 * cell_m  # the frame's field exceeds the buffer, so every ring closes inside it
    x0, y0 = sx.min() - pad, sy.min() - pad
    w = int(np.ceil((sx.max() + pad - x0) / cell_m)) + 1
    h = int(np.ceil((sy.max() + pad - y0) / cell_m)) + 1
    owner = np.full((h, w), -1, dtype=np.int32)
    owner[np.rint((sy - y0) / cell_m).astype(np.intp), np.rint((sx - x0) / cell_m).astype(np.intp)] = piece
    # every grid point takes the piece of its nearest marked point; the field is the exact distance to
    # that piece, so the marching-squares level below is the buffer outline to within interpolation
    near_r, near_c = ndimage.distance_transform_edt(owner < 0, return_distances=False, return_indices=True)
    near = near_r * w
    near += near_c
    k = np.take(owner.ravel(), near.ravel())  # flat takes: ~2x faster than 2-D fancy indexing here
    gx = x0 + np.arange(w) * cell_m
    gy = y0 + np.arange(h) * cell_m
    ends = [np.take(v, k).reshape(h, w) for v in (ax, ay, bx - ax, by - ay)]
    field = segment_foot(gx, gy[:, None], *ends)[1]  # grid axes broadcast
    # the generator class directly: the field has no NaN, so contour_generator's mask pass is skipped;
    # read-only broadcast views serve as the coordinate arrays (no h × w copies)
    gen = contourpy.SerialContourGenerator(np.broadcast_to(gx, (h, w)), np.broadcast_to(gy[:, None], (h, w)),
                                           field, None, corner_mask=True,
                                           line_type=contourpy.LineType.Separate,
                                           fill_type=contourpy.FillType.OuterOffset, quad_as_tri=False,
                                           z_interp=contourpy.ZInterp.Linear)
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
    keep = np.flatnonzero(_ring_areas(xy, offsets)[1:] > fill_holes_m2) + 1
    return shapely.Polygon(shell, [xy[offsets[k]:offsets[k + 1]] for k in keep])

"""Vectorised index ranges, and points along straight pieces built on them (no Python loops)."""

from __future__ import annotations

import numpy as np

__all__ = ["concat_ranges", "sample_pieces"]


def concat_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + l)`` for each ``(s, l)`` pair, without a Python loop.

    Parameters
    ----------
    starts, lengths : ndarray of int
        First value and length of each range (lengths ≥ 0).

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> concat_ranges(np.array([10, 0, 5]), np.array([2, 0, 3])).tolist()
    [10, 11, 5, 6, 7]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - offsets + np.repeat(np.asarray(starts, dtype=np.int64), lengths)


def sample_pieces(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray, step: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Points from (ax, ay) to (bx, by) on each straight piece, at most ``step`` apart, ends included.

    Returns
    -------
    xy : ndarray, shape (k, 2)
    piece : ndarray of int64
        The piece each point lies on.
    """
    if not len(ax):
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    n = np.ceil(np.hypot(bx - ax, by - ay) / step).astype(np.int64) + 1
    piece = np.repeat(np.arange(len(ax)), n)
    frac = concat_ranges(np.zeros(len(n), dtype=np.int64), n) / np.maximum(n[piece] - 1, 1)
    xy = np.column_stack([ax[piece] + (bx[piece] - ax[piece]) * frac, ay[piece] + (by[piece] - ay[piece]) * frac])
    return xy, piece

"""Vectorised index ranges: the one numpy idiom that sparse rows, edge segments and samples all need."""

from __future__ import annotations

import numpy as np

__all__ = ["concat_ranges"]


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

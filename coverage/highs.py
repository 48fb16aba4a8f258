"""A silent HiGHS instance and a column-wise model loader, shared by the LP/MIP users.

The first ``highspy.Highs()`` in a process prints a licence banner straight to
file descriptor 1 (before any option can be set), which would corrupt CLI output
piped as CSV/JSON; :func:`new_highs` sends it to /dev/null once.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from scipy import sparse

__all__ = ["load_model", "new_highs"]

#: fixed: HiGHS runs are reproducible
SEED = 0x5EED_C0DE % 2**31

_BANNER = {"done": False}  # HiGHS prints its banner once per process, on the first instance


def new_highs() -> object:
    """A ``highspy.Highs`` with its output off (the banner swallowed on first use)."""
    import highspy

    if not _BANNER["done"]:
        sys.stdout.flush()
        try:
            saved = os.dup(1)
        except OSError:  # no file descriptor 1 (detached process): nothing to protect
            saved = None
        if saved is not None:
            try:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
        else:
            h = highspy.Highs()
        _BANNER["done"] = True
    else:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", SEED)
    return h


def load_model(a: sparse.spmatrix, *, maximize: bool, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
               row_lower: np.ndarray, row_upper: np.ndarray, integer: np.ndarray | None = None,
               time_limit: float = 60.0) -> object:
    """A silent HiGHS instance holding ``row_lower <= a @ x <= row_upper``, ``lower <= x <= upper``.

    Parameters
    ----------
    a : sparse matrix
        Constraint matrix, rows × columns.
    maximize : bool
    cost, lower, upper : ndarray
        Per column.
    row_lower, row_upper : ndarray
        Per row (``±inf`` for open sides).
    integer : ndarray of bool, optional
        Integer columns (none: an LP).
    time_limit : float
        Seconds.

    Returns
    -------
    highspy.Highs
    """
    import highspy

    a = sparse.csc_matrix(a, dtype=np.float64)
    a.sort_indices()
    n_row, n_col = a.shape
    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit, 1e-3)))
    inf = highspy.kHighsInf
    status = h.passModel(
        n_col, n_row, int(a.nnz), int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize), 0.0,
        np.asarray(cost, dtype=np.float64),
        np.clip(np.asarray(lower, dtype=np.float64), -inf, inf), np.clip(np.asarray(upper, dtype=np.float64), -inf, inf),
        np.clip(np.asarray(row_lower, dtype=np.float64), -inf, inf),
        np.clip(np.asarray(row_upper, dtype=np.float64), -inf, inf),
        a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data,
        np.zeros(n_col, dtype=np.int32) if integer is None else np.asarray(integer).astype(np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model")
    return h

"""Row-weighting local search for set covering: many small moves, each re-scored incrementally.

An implementation of RWLS (Gao, Weise and Li 2015, "An efficient local search
heuristic with row weighting for the unicost set covering problem", *European
Journal of Operational Research* 246(3)) on the reduced boolean matrix of
:func:`coverage.siting.solvers.reduce_problem`:

* every row carries a weight, raised by one each step it stays uncovered, so
  demand that is hard to cover draws sites towards it;
* a column's *score* is the weight it would newly cover (outside the cover) or
  leave uncovered (inside, negative); scores are updated only around the rows a
  move touches;
* each step removes the best-scoring site of the cover (not the one just added,
  oldest first on ties) and adds the best site reaching a random uncovered row,
  among those whose neighbourhood changed since they were last removed
  (configuration checking);
* whenever the cover is complete it is recorded and its least useful site dropped.

On grid-like cities, where the LP bound is weak and a MIP stalls, this finds
covers within one site of the best known in seconds (72 sites in 10 s on the
3k-node grid of ``benchmarks/siting_instances.py``, whose best known had been
73 after 120 s of the window search). It proves nothing: the bound comes from
:mod:`coverage.siting.bigcover`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from coverage.ranges import concat_ranges

__all__ = ["STALL_PER_COLUMN", "rwls_cover", "stall_moves"]


#: Moves without a smaller cover, per column, after which the search stops: small models end in
#: milliseconds, the 3k-node grid after ~7 s of no progress, 50k-column cities practically never.
STALL_PER_COLUMN = 20


def stall_moves(n_columns: int) -> int:
    """Moves without improvement after which the local search gives up (at least 2,000)."""
    return max(2_000, STALL_PER_COLUMN * int(n_columns))


class _Search:
    """Cover state: which columns are chosen, how often each row is covered, weights and scores."""

    def __init__(self, b: sp.csr_matrix, value: np.ndarray | None = None) -> None:
        b = sp.csr_matrix(b, dtype=np.int8)
        bt = b.T.tocsr()
        self.rp, self.ri = b.indptr, b.indices  # row -> its columns
        self.rlen = np.diff(self.rp)
        self.cp, self.ci = bt.indptr, bt.indices  # column -> its rows
        m, n = b.shape
        # row weights: one each (unicost cover), or the rows' values (people) for a partial cover
        self.w = np.ones(m) if value is None else np.asarray(value, dtype=np.float64).copy()
        self.value = self.w.copy()
        self.covered_value = 0.0  # value of the covered rows (the partial cover's constraint)
        self.cc = np.zeros(m, dtype=np.int64)
        # XOR of the chosen columns covering each row: the covering column itself where cc == 1, so
        # a row's single cover is found without scanning the row (the moves touch only rows' counts)
        self.owner = np.zeros(m, dtype=np.int64)
        self.sel = np.zeros(n, dtype=bool)
        # nothing chosen: each column's score is the weight of all its rows
        self.score = np.bincount(self.ri, weights=np.repeat(self.w, self.rlen), minlength=n).astype(np.float64)
        self.age = np.zeros(n, dtype=np.int64)
        self.free = np.ones(n, dtype=bool)  # configuration checking: may be added again
        self.n_uncovered = m

    def _cols_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Columns of ``rows`` and, for each, the row it came from."""
        lens = self.rlen[rows]
        return self.ri[concat_ranges(self.rp[rows], lens)], np.repeat(rows, lens)

    def _rows(self, j: int) -> np.ndarray:
        return self.ci[self.cp[j]:self.cp[j + 1]]

    def add(self, j: int) -> None:
        r = self._rows(j)
        c = self.cc[r]
        newly = r[c == 0]
        if newly.size:  # rows now covered: no longer a gain for any column reaching them
            cols, of = self._cols_of(newly)
            np.subtract.at(self.score, cols, self.w[of])
            self.free[cols] = True
        shared = r[c == 1]
        if shared.size:  # their single chosen column (the XOR of one) is no longer their only cover
            np.add.at(self.score, self.owner[shared], self.w[shared])
        self.cc[r] += 1
        self.owner[r] ^= j
        self.sel[j] = True
        self.n_uncovered -= newly.size
        self.covered_value += float(self.value[newly].sum())
        self.score[j] = -float(self.w[newly].sum())

    def remove(self, j: int) -> None:
        r = self._rows(j)
        self.cc[r] -= 1
        self.owner[r] ^= j
        self.sel[j] = False
        c = self.cc[r]
        lost = r[c == 0]
        if lost.size:  # rows uncovered again: a gain for every column reaching them
            cols, of = self._cols_of(lost)
            np.add.at(self.score, cols, self.w[of])
            self.free[cols] = True
        single = r[c == 1]
        if single.size:  # their remaining chosen column (the XOR of one) is now their only cover
            np.subtract.at(self.score, self.owner[single], self.w[single])
        self.n_uncovered += lost.size
        self.covered_value -= float(self.value[lost].sum())
        self.score[j] = float(self.w[lost].sum())
        self.free[j] = False

    def best_of(self, cols: np.ndarray) -> int:
        """Highest score among ``cols``, the longest unchanged on ties."""
        sc = self.score[cols]
        top = cols[sc == sc.max()]
        return int(top[np.argmin(self.age[top])])

    def reweigh(self, unc: np.ndarray) -> None:
        """Raise the weight of the uncovered rows ``unc`` by their value (and the scores of the columns reaching them)."""
        self.w[unc] += self.value[unc]
        cols, of = self._cols_of(unc)
        np.add.at(self.score, cols, self.value[of])


def rwls_cover(b: sp.csr_matrix, start: np.ndarray, deadline: float, seed: int = 0,
               max_steps: int | None = None, on_better: Callable[[int], None] | None = None,
               stop_at: int | Callable[[], int] = 0, stall: int | None = None) -> np.ndarray:
    """Fewest columns of ``b`` covering every row, by row-weighting local search from a cover.

    Parameters
    ----------
    b : scipy.sparse.csr_matrix
        Boolean rows × columns; every row must have a column.
    start : numpy.ndarray
        Columns of a feasible cover (the greedy's, say).
    deadline : float
        ``time.perf_counter()`` value to stop at.
    seed : int
        Seed of the random choice of uncovered rows (the search is otherwise deterministic).
    max_steps : int, optional
        Stop after this many moves (for reproducible tests).
    on_better : callable, optional
        ``on_better(count)`` for each smaller cover found.
    stop_at : int or callable
        Stop once a cover this small is found (a proven lower bound, say); a callable is asked
        again after each better cover (a bound computed meanwhile in another thread).
    stall : int, optional
        Stop after this many moves without a smaller cover (default: :func:`stall_moves`).

    Returns
    -------
    numpy.ndarray
        Sorted columns of the smallest cover found (``start`` itself if none smaller).

    Examples
    --------
    A path of five rows where columns reach two neighbouring rows each, started
    from all four columns:

    >>> import numpy as np, scipy.sparse as sp, time
    >>> b = sp.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]]))
    >>> rwls_cover(b, np.arange(4), time.perf_counter() + 1, max_steps=200).tolist()
    [0, 2, 3]
    """
    if b.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)  # nothing to cover
    s = _Search(b)
    rng = np.random.default_rng(seed)
    for j in np.asarray(start, dtype=np.int64):
        s.add(int(j))
    if s.n_uncovered:
        raise ValueError("rwls_cover: the start does not cover every row")

    def draw(rng: np.random.Generator) -> tuple[int, np.ndarray]:
        unc = np.flatnonzero(s.cc == 0)  # the rows uncovered now (one scan per step; moves keep the count)
        return int(unc[rng.integers(unc.size)]), unc

    def bump(row: int, unc: np.ndarray) -> None:  # RWLS: every row still uncovered
        s.reweigh(unc[s.cc[unc] == 0])

    return _moves(s, lambda: s.n_uncovered == 0, draw, bump, rng, deadline, max_steps, on_better, stop_at, stall)


def _moves(s: _Search, feasible: Callable[[], bool], draw: Callable, bump: Callable[[int, np.ndarray], None],
           rng: np.random.Generator, deadline: float, max_steps: int | None,
           on_better: Callable[[int], None] | None, stop_at: int | Callable[[], int], stall: int | None
           ) -> np.ndarray:
    """The move loop of :func:`rwls_cover`, from the feasible cover in ``s``.

    While feasible: record a smaller cover, then drop the least useful site. Otherwise swap:
    the site losing least weight (not the one just added) leaves, and the best site reaching
    the row ``draw(rng)`` names comes in (configuration checking first); ``bump`` then raises
    row weights. ``draw`` returns ``(row, uncovered rows)``, or ``(None, …)`` when no row can
    be drawn. Returns the sorted columns of the smallest feasible cover found.
    """
    def floor_now() -> int:  # rows to cover need a column
        return max(1, stop_at() if callable(stop_at) else stop_at)

    best = np.flatnonzero(s.sel)
    chosen = best.copy()
    floor, stall = floor_now(), stall_moves(s.sel.size) if stall is None else stall
    last_added, step, last_better = -1, 0, 0
    while (time.perf_counter() < deadline and (max_steps is None or step < max_steps)
           and best.size > floor and step - last_better < stall):
        step += 1
        if feasible():
            if chosen.size < best.size:
                best, last_better = np.sort(chosen), step
                if on_better is not None:
                    on_better(int(best.size))
                floor = floor_now()
            out = s.best_of(chosen)
            s.remove(out)
            chosen = chosen[chosen != out]
            last_added = -1
            continue
        if chosen.size:  # (empty only after a one-site cover gave up its site)
            out = s.best_of(chosen[chosen != last_added]) if chosen.size > 1 else int(chosen[0])
            s.remove(out)
            chosen = chosen[chosen != out]
            s.age[out] = step
        row, unc = draw(rng)
        if row is None:
            break
        cols = s.ri[s.rp[row]:s.rp[row + 1]]
        pick = cols[s.free[cols]]
        last_added = s.best_of(pick if pick.size else cols)
        s.add(last_added)
        chosen = np.append(chosen, last_added)
        s.age[last_added] = step
        bump(row, unc)
    if feasible() and chosen.size < best.size:
        best = np.sort(chosen)
    return best

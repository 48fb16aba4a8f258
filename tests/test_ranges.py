"""concat_ranges: the vectorised index ranges shared by the solvers, the network and the isochrone tracer."""

from __future__ import annotations

import numpy as np

from coverage.ranges import concat_ranges


def test_concat_ranges_equals_the_python_loop():
    rng = np.random.default_rng(0)
    starts = rng.integers(-50, 50, 200)
    lengths = rng.integers(0, 6, 200)       # empty ranges included
    expected = [v for s, n in zip(starts, lengths) for v in range(s, s + n)]
    assert concat_ranges(starts, lengths).tolist() == expected
    assert concat_ranges(np.array([10, 0, 5]), np.array([2, 0, 3])).tolist() == [10, 11, 5, 6, 7]
    assert concat_ranges(np.zeros(3, int), np.zeros(3, int)).size == 0

"""Plain Python values for JSON: numpy scalars, NaN and NA made strict-JSON safe."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["jsonable"]


def _plain(v: object) -> object:
    if isinstance(v, np.generic):
        return v.item()
    return v


def jsonable(obj: object) -> object:
    """Replace NaN/inf/NA by None and numpy scalars by Python ones, recursively (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj

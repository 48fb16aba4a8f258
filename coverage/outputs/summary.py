"""``summary.json`` as text: strict JSON (no NaN), Chinese kept readable."""

from __future__ import annotations

import json

from coverage.plain import jsonable

__all__ = ["summary_json"]


def _to_json(obj: object) -> str:
    return json.dumps(jsonable(obj), ensure_ascii=False, indent=2, allow_nan=False)


def summary_json(summary: dict) -> str:
    """``summary.json`` text: strict JSON, UTF-8 Chinese kept readable."""
    return _to_json(summary)

"""``Skipped``: one record per repair or omission, with its count and population, so that every total reconciles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Skipped"]


@dataclass
class Skipped:
    """A record of something repaired or left out, for ``summary.json`` ``skipped``.

    Attributes
    ----------
    layer : str
        Which layer (``facilities``, ``population``, ...).
    reason : str
        Machine-readable reason (``off_network``, ``invalid_geometry_repaired``, ...).
    count : int
        How many features.
    population : float
        Population concerned, where it applies.
    items : list
        Names or row numbers of the features (first 50).
    action : str
        What was done: ``dropped``, ``repaired``, ``kept`` (counted, e.g. as uncovered) or ``listed``.
    message : str
        One sentence for the report: what happened and what to do.
    area_m2 : float, optional
        Area concerned (community overlaps and gaps), square metres.
    message_zh : str
        The message in Chinese, when it says more than the app's fixed sentence for the reason.
    details : dict
        Figures behind the message, for programs (e.g. the likely coordinate system and the shift).
    """

    layer: str
    reason: str
    count: int
    population: float = 0.0
    items: list = field(default_factory=list)
    action: str = "dropped"
    message: str = ""
    area_m2: float | None = None
    message_zh: str = ""
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``area_m2`` only for records about areas: overlaps, gaps; ``message_zh`` and
        ``details`` only when set)."""
        out = {"layer": self.layer, "reason": self.reason, "count": int(self.count),
               "population": round(float(self.population), 3), "action": self.action,
               "message": self.message, "items": [str(i) for i in self.items[:50]]}
        if self.area_m2 is not None:
            out["area_m2"] = round(float(self.area_m2), 1)
        if self.message_zh:
            out["message_zh"] = self.message_zh
        if self.details:
            out["details"] = dict(self.details)
        return out

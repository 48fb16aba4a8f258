"""The app's threshold inputs for the chosen rule sets (issue 20): fields, keys and the edited sets.

Every input is keyed by set, rule and parameter (``rt@<set>@<rule>@<parameter>``), never by
its label, so a language switch keeps the planner's values. No Streamlit import: ``app.py``
draws the inputs from :func:`threshold_fields` and checks :func:`edited_rule_sets`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coverage.params import DEFAULT_MINUTES, DEFAULT_RADIUS_M, DEFAULT_TARGET_SHARE
from coverage.rulesets import RuleSet, load_rule_sets, thresholds, with_thresholds
from coverage.webapp.state import tr

__all__ = ["ThresholdField", "edited_rule_sets", "edits_key", "threshold_fields", "threshold_key"]

#: (step, lowest, highest, format) of each parameter's input.
_INPUT = {"min": (1.0, 0.0, None, "%.0f"), "per": (1.0, 1.0, None, "%.0f"),
          "per_population": (1000.0, 1.0, None, "%.0f"), "per_1000": (0.5, 0.0, None, "%.1f"),
          "radius_m": (50.0, 1.0, None, "%.0f"), "minutes": (1.0, 1.0, None, "%.0f"), "share": (0.05, 0.0, 1.0, "%.2f")}


@dataclass(frozen=True)
class ThresholdField:
    """One number input: its session key, what it edits, its label and help (with the document), its range."""

    key: str
    set_id: str
    rule: str
    param: str
    value: float
    label: str
    help: str
    step: float
    low: float
    high: float | None
    format: str


def threshold_key(set_id: str, rule: str, param: str) -> str:
    """The session key of one threshold input (language-independent)."""
    return f"rt@{set_id}@{rule}@{param}"


def threshold_fields(names: Sequence[str], lang: str = "zh") -> list[tuple[RuleSet, list[ThresholdField]]]:
    """The inputs of every editable threshold of the named sets, with each rule's name and document.

    Names are formatted from the file's own thresholds (and the default plan), so a label does
    not change while its value is edited.
    """
    out = []
    for rs in load_rule_sets(list(names)):
        rules = {r.id: r for r in rs.rules}
        fields = []
        for rid, param, value in thresholds(rs):
            zh, en = rules[rid].names(DEFAULT_RADIUS_M, DEFAULT_MINUTES, DEFAULT_TARGET_SHARE)
            step, low, high, fmt = _INPUT[param.partition("@")[0]]
            fields.append(ThresholdField(
                threshold_key(rs.id, rid, param), rs.id, rid, param, value,
                f"{zh if lang == 'zh' else en} · {tr(f'rt_{param}', lang)}",
                tr("rt_from", lang, document=rs.document or rs.id, value=f"{value:g}"), step, low, high, fmt))
        out.append((rs, fields))
    return out


def edited_rule_sets(names: Sequence[str], values: Mapping) -> tuple[RuleSet, ...]:
    """The named sets with the thresholds held in ``values`` (session state, by :func:`threshold_key`)."""
    sets = []
    for rs in load_rule_sets(list(names)):
        mine = {(rid, param): float(values[k]) for rid, param, _ in thresholds(rs)
                if (k := threshold_key(rs.id, rid, param)) in values and values[k] is not None}
        sets.append(with_thresholds(rs, mine))
    return tuple(sets)


def edits_key(sets: Sequence[RuleSet]) -> tuple:
    """What the planner changed (part of the plan's cache key): ``(set id, change)`` pairs."""
    return tuple((rs.id, e) for rs in sets for e in rs.extra.get("edited", []))

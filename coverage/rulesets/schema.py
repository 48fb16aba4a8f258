"""Rule sets: TOML files of policy rules, parsed and validated (issue 20).

A file has a top-level ``id``, ``name_zh``, ``name_en``, ``document`` (the policy cited),
``document_url``, ``note`` and a list of ``[[rules]]``. Each rule has an ``id``, a ``type``,
the facility ``kinds`` it counts, the ``unit`` it applies to (``subdistrict`` or
``community``; optional ``units = [...]``, a list of pilot units by name), the parameters
of its type and ``name_zh`` / ``name_en`` templates formatted from those parameters.
A ``share_within_distance`` rule may weigh one group of residents (``group = "65plus"``,
needs age data) and walk at a named profile (``profile = "elderly"``, its speed).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from coverage.errors import RuleSetError
from coverage.params import PROFILES, radius_label, walk_label
from coverage.study import KNOWN_KINDS

__all__ = [
    "DEFAULT_RULE_SET",
    "RULE_GROUPS",
    "RULE_KINDS",
    "RULE_TYPES",
    "THRESHOLD_PARAMS",
    "Rule",
    "RuleSet",
    "load_rule_set",
    "load_rule_sets",
    "preset_names",
    "thresholds",
    "with_thresholds",
]

#: The preset checked when no rule set is named (today's four rules).
DEFAULT_RULE_SET = "wuhai-2022-health"
#: Parameters of each rule type: (required, optional).
RULE_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "count_per_unit": ((), ("min",)),
    "count_per_subunits": (("per",), ()),
    "count_per_population": (("per_population",), ()),
    "capacity_per_1000": (("per_1000",), ("column",)),
    "share_within_distance": ((), ("radius_m", "minutes", "distance", "share", "group", "profile")),
    "every_unit_served": ((), ()),
}
#: Kinds a rule may count beyond the health kinds; ``counted`` = the plan's counted facilities.
RULE_KINDS = ("emergency_station", "childcare", "park", "counted")
UNITS = ("subdistrict", "community")
#: Resident groups a share rule may weigh by (``group = ...``): label (中文, English); age data needed.
RULE_GROUPS = {"65plus": ("65岁及以上居民", "residents aged 65+")}
#: Walking profiles in the name templates' ``{profile}`` field.
_PROFILE_WORDS = {"adult": ("成人", "adult"), "elderly": ("老年人", "elderly"), "wheelchair": ("轮椅", "wheelchair")}
_COMMON = ("id", "type", "kinds", "unit", "units", "name_zh", "name_en")
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
          10: "ten"}


def _g(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Rule:
    """One policy rule of a :class:`RuleSet` (see the module docstring for the fields)."""

    id: str
    type: str
    kinds: tuple[str, ...]
    unit: str
    units: tuple[str, ...] | None
    params: dict
    name_zh: str
    name_en: str
    path: str = ""

    def distance(self, radius_m: float, minutes: float) -> tuple[str, float]:
        """``("radius", metres)`` or ``("walk", minutes)`` a share rule checks (the plan's when ``distance``)."""
        p = self.params
        if "radius_m" in p:
            return "radius", float(p["radius_m"])
        if "minutes" in p:
            return "walk", float(p["minutes"])
        return (("radius", radius_m) if p.get("distance", "walk") == "radius" else ("walk", minutes))

    def fields(self, radius_m: float, minutes: float, target_share: float) -> dict[str, dict[str, str]]:
        """Template fields, Chinese and English, formatted from the thresholds."""
        p = self.params
        zh: dict[str, str] = {}
        for k in ("min", "per", "per_1000"):
            if k in p:
                zh[k] = _g(p[k])
                zh[f"{k}_word"] = _WORDS.get(p[k], _g(p[k])) if float(p[k]).is_integer() else _g(p[k])
        if "per_population" in p:
            v = p["per_population"]
            zh["per_population"] = "–".join(_g(x) for x in v) if isinstance(v, (list, tuple)) else _g(v)
        zh["share"] = f"{100 * float(p.get('share', target_share)):g}%"
        en = dict(zh)
        if "group" in p:
            zh["group"], en["group"] = RULE_GROUPS[p["group"]]
        if "profile" in p:
            speed = f"{PROFILES[p['profile']].speed_kmh:g} km/h"
            words = _PROFILE_WORDS.get(p["profile"], (p["profile"], p["profile"]))
            zh["profile"], en["profile"] = f"{words[0]}步速（{speed}）", f"{words[1]} speed ({speed})"
        if self.type == "share_within_distance":
            what, x = self.distance(radius_m, minutes)
            zh["radius"], en["radius"] = radius_label(x) if what == "radius" else ("", "")
            zh["walk"], en["walk"] = walk_label(x) if what == "walk" else ("", "")
        return {"zh": zh, "en": en}

    def names(self, radius_m: float, minutes: float, target_share: float) -> tuple[str, str]:
        """(中文, English) name, formatted from the rule's thresholds."""
        f = self.fields(radius_m, minutes, target_share)
        return self.name_zh.format(**f["zh"]), self.name_en.format(**f["en"])


@dataclass(frozen=True)
class RuleSet:
    """A named, cited list of rules."""

    id: str
    name_zh: str
    name_en: str
    document: str
    document_url: str
    note: str
    rules: tuple[Rule, ...]
    path: str = ""
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """JSON-friendly metadata (for ``summary.json`` → ``rule_sets``)."""
        out = {"id": self.id, "name_zh": self.name_zh, "name_en": self.name_en, "document": self.document,
               "document_url": self.document_url, "note": self.note, "file": Path(self.path).name}
        if self.extra.get("edited"):  # thresholds changed by the planner (the app), not the document's
            out["edited"] = list(self.extra["edited"])
        return out


#: Numeric parameters a planner may edit (the app's threshold inputs); a range gives two, ``name@0`` and ``name@1``.
THRESHOLD_PARAMS = ("min", "per", "per_population", "per_1000", "radius_m", "minutes", "share")


def thresholds(rs: RuleSet) -> list[tuple[str, str, float]]:
    """(rule id, parameter, value) of every editable threshold of a set, in file order.

    >>> [t for t in thresholds(load_rule_set("national-chs")) if t[0] == "centre_per_population"]
    [('centre_per_population', 'per_population@0', 30000.0), ('centre_per_population', 'per_population@1', 100000.0)]
    """
    out = []
    for r in rs.rules:
        for k in THRESHOLD_PARAMS:
            v = r.params.get(k)
            if isinstance(v, list):
                out += [(r.id, f"{k}@{i}", float(x)) for i, x in enumerate(v)]
            elif v is not None:
                out.append((r.id, k, float(v)))
    return out


def _edited(rule: Rule, values: dict[tuple[str, str], float]) -> tuple[dict, list[str]]:
    p = {k: list(v) if isinstance(v, list) else v for k, v in rule.params.items()}
    notes = []
    for (rid, name), value in values.items():
        if rid != rule.id:
            continue
        key, _, idx = name.partition("@")
        old = p[key][int(idx)] if idx else p.get(key)
        if old is None or float(old) == float(value):
            continue
        value = int(value) if float(value).is_integer() and key in ("min", "per") else value
        if idx:
            p[key][int(idx)] = value
        else:
            p[key] = value
        notes.append(f"{rule.id}.{name}: {_g(old)} → {_g(value)}")
    return p, notes


def with_thresholds(rs: RuleSet, values: dict[tuple[str, str], float]) -> RuleSet:
    """A copy of a set with some thresholds replaced, keyed ``(rule id, parameter)`` as in :func:`thresholds`.

    The new values are checked as if written in the file (a :class:`RuleSetError` names the
    file, rule and field); ``extra["edited"]`` lists the changes, shown in ``summary.json``.
    """
    rules, notes = [], []
    for r in rs.rules:
        params, changed = _edited(r, values)
        _check_params(r.id, r.type, params, rs.path)
        rules.append(dataclasses.replace(r, params=params))
        notes += changed
    if not notes:
        return rs
    return dataclasses.replace(rs, rules=tuple(rules), extra={**rs.extra, "edited": notes})


def _presets_dir():
    return resources.files("coverage.rulesets") / "presets"


def preset_names() -> list[str]:
    """Names of the built-in presets (package data), sorted."""
    return sorted(p.name.removesuffix(".toml") for p in _presets_dir().iterdir() if p.name.endswith(".toml"))


def _number(value: object, path: str, rule: str, name: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RuleSetError(f"{value!r} is not a number; write a number", path, rule, name)
    if value < 0 or (positive and value == 0):
        raise RuleSetError(f"{value!r} must be {'> 0' if positive else '>= 0'}; thresholds cannot be negative",
                           path, rule, name)
    return value


def _check_params(rule_id: str, kind: str, p: dict, path: str) -> None:
    for k in ("min", "per_1000"):
        if k in p:
            _number(p[k], path, rule_id, k)
    for k in ("per", "radius_m", "minutes"):
        if k in p:
            _number(p[k], path, rule_id, k, positive=True)
    if "per_population" in p:
        v = p["per_population"]
        vs = v if isinstance(v, list) else [v]
        if len(vs) not in (1, 2):
            raise RuleSetError("write one number N or a range [low, high]", path, rule_id, "per_population")
        for x in vs:
            _number(x, path, rule_id, "per_population", positive=True)
        if len(vs) == 2 and vs[0] > vs[1]:
            raise RuleSetError(f"range {vs} is reversed; write [low, high]", path, rule_id, "per_population")
    if "share" in p and not (0 <= _number(p["share"], path, rule_id, "share") <= 1):
        raise RuleSetError(f"{p['share']!r} must be between 0 and 1", path, rule_id, "share")
    if "distance" in p and p["distance"] not in ("radius", "walk"):
        raise RuleSetError(f"{p['distance']!r}: use 'radius' or 'walk' (the plan's) or radius_m / minutes",
                           path, rule_id, "distance")
    if kind == "share_within_distance" and sum(k in p for k in ("radius_m", "minutes", "distance")) != 1:
        raise RuleSetError("give exactly one of radius_m, minutes or distance", path, rule_id, "distance")
    if "group" in p and (not isinstance(p["group"], str) or p["group"] not in RULE_GROUPS):
        raise RuleSetError(f"unknown group {p['group']!r}; use one of {', '.join(RULE_GROUPS)}", path, rule_id, "group")
    if "profile" in p and (not isinstance(p["profile"], str) or p["profile"] not in PROFILES):
        raise RuleSetError(f"unknown walking profile {p['profile']!r}; use one of {', '.join(PROFILES)}",
                           path, rule_id, "profile")
    if "column" in p and not isinstance(p["column"], str):
        raise RuleSetError("write a column name", path, rule_id, "column")


def _literal_threshold(template: str, p: dict) -> str | None:
    """A threshold value written into a name template instead of its {field}, if any."""
    text = re.sub(r"\{[^}]*\}", "", template)
    for k, v in p.items():
        for x in (v if isinstance(v, list) else [v]):
            number = isinstance(x, (int, float)) and not isinstance(x, bool) and k != "share"
            if number and re.search(rf"(?<![\d.,]){re.escape(_g(x))}(?![\d.,])", text):
                return f"{k} = {_g(x)}"
    return None


def _parse_rule(raw: object, path: str, index: int) -> Rule:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise RuleSetError(f"rule {index + 1} has no id; write id = \"...\"", path, None, "id")
    rid = raw["id"]
    kind = raw.get("type")
    if kind not in RULE_TYPES:
        raise RuleSetError(f"unknown type {kind!r}; use one of {', '.join(RULE_TYPES)}", path, rid, "type")
    required, optional = RULE_TYPES[kind]
    unknown = sorted(set(raw) - set(_COMMON) - set(required) - set(optional))
    if unknown:
        raise RuleSetError(f"unknown field for type {kind}: {', '.join(unknown)}", path, rid, unknown[0])
    missing = [k for k in required if k not in raw]
    if missing:
        raise RuleSetError(f"type {kind} needs {missing[0]}", path, rid, missing[0])
    kinds = raw.get("kinds")
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        raise RuleSetError("write kinds = [\"station\", ...]", path, rid, "kinds")
    for k in kinds:
        if k not in KNOWN_KINDS + RULE_KINDS:
            raise RuleSetError(f"unknown kind {k!r}; use one of {', '.join(KNOWN_KINDS + RULE_KINDS)}",
                               path, rid, "kinds")
    unit = raw.get("unit", "subdistrict")
    if unit not in UNITS:
        raise RuleSetError(f"unknown unit {unit!r}; use subdistrict or community", path, rid, "unit")
    if kind == "count_per_subunits" and unit != "subdistrict":
        raise RuleSetError("count_per_subunits counts communities, so its unit is subdistrict", path, rid, "unit")
    units = raw.get("units")
    if units is not None and (not isinstance(units, list) or not all(isinstance(u, str) for u in units)):
        raise RuleSetError("write units = [\"甲一社区\", ...] (unit names)", path, rid, "units")
    params = {k: raw[k] for k in required + optional if k in raw}
    _check_params(rid, kind, params, path)
    names = {}
    for lang in ("name_zh", "name_en"):
        t = raw.get(lang, rid)
        if not isinstance(t, str):
            raise RuleSetError("write a text template", path, rid, lang)
        lit = _literal_threshold(t, params)
        if lit:
            raise RuleSetError(f"the name repeats the threshold {lit}; write its field in braces instead, "
                               "e.g. {radius} or {min}", path, rid, lang)
        names[lang] = t
    rule = Rule(rid, kind, tuple(kinds), unit, None if units is None else tuple(units), params,
                names["name_zh"], names["name_en"], path)
    try:
        rule.names(500.0, 15.0, 1.0)
    except (KeyError, IndexError, ValueError) as exc:
        raise RuleSetError(f"unknown field {exc} in the name template", path, rid, "name_zh/name_en") from None
    return rule


def parse_rule_set(text: str, path: str) -> RuleSet:
    """Parse and validate one rule-set file's text (``path`` names it in errors)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleSetError(f"is not valid TOML ({exc}); check quotes and brackets", path) from None
    raws = doc.get("rules")
    if not isinstance(raws, list) or not raws:
        raise RuleSetError("has no [[rules]]; add at least one", path, None, "rules")
    rules = [_parse_rule(r, path, i) for i, r in enumerate(raws)]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise RuleSetError("duplicate rule id; give each rule its own id", path, r.id, "id")
        seen.add(r.id)
    sid = doc.get("id") or Path(path).stem
    meta = {k: str(doc.get(k, "")) for k in ("name_zh", "name_en", "document", "document_url", "note")}
    return RuleSet(str(sid), meta["name_zh"] or str(sid), meta["name_en"] or str(sid), meta["document"],
                   meta["document_url"], meta["note"], tuple(rules), path)


def load_rule_set(name_or_path: str | Path) -> RuleSet:
    """A preset by name (:func:`preset_names`) or a TOML file by path."""
    name = str(name_or_path)
    if name in preset_names():
        f = _presets_dir() / f"{name}.toml"
        return parse_rule_set(f.read_text(encoding="utf-8"), f"{name}.toml")
    p = Path(name)
    if not p.is_file():
        raise RuleSetError(f"no such rule set; give a file path or one of {', '.join(preset_names())}", name)
    return parse_rule_set(p.read_text(encoding="utf-8"), str(p))


def load_rule_sets(names: list | tuple | None) -> tuple[RuleSet, ...]:
    """Several rule sets (default: :data:`DEFAULT_RULE_SET`); a set named twice is refused."""
    sets = tuple(s if isinstance(s, RuleSet) else load_rule_set(s) for s in (names or [DEFAULT_RULE_SET]))
    ids = [s.id for s in sets]
    for s in sets:
        if ids.count(s.id) > 1:
            raise RuleSetError("rule set given twice; name each set once", s.path, None, "id")
    return sets

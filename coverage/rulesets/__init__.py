"""Policy rule sets (issue 20): TOML files of rules, built-in cited presets, and their per-unit check."""

from coverage.rulesets.check import (
    RuleData,
    centre_need,
    check_capacity_columns,
    check_rule_sets,
    station_need,
    subdistrict_verdicts,
    unenforced_counts,
)
from coverage.rulesets.schema import (
    DEFAULT_RULE_SET,
    Rule,
    RuleSet,
    load_rule_set,
    load_rule_sets,
    preset_names,
    thresholds,
    with_thresholds,
)

__all__ = ["DEFAULT_RULE_SET", "Rule", "RuleData", "RuleSet", "centre_need", "check_capacity_columns",
           "check_rule_sets", "load_rule_set", "load_rule_sets", "preset_names", "station_need", "subdistrict_verdicts",
           "thresholds", "unenforced_counts", "with_thresholds"]

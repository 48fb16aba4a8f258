"""15-minute health circle planner (一刻钟健康医疗圈规划工具).

The public API, the same calls the command line and the Streamlit app make:

>>> import coverage as hc
>>> study = hc.load_study_area()            # embedded Haibowan demo, or a data folder
>>> result = hc.run_plan(study, isochrone_minutes=(15,))   # demand, coverage, isochrones, rules
>>> sorted(result.rules.columns)[:3]        # per-subdistrict verdicts (DataFrame)
['centre_rule', 'centres', 'code']
>>> hc.write_outputs(result, "out")         # summary.json, compliance.csv, report.html …  # doctest: +SKIP

Step by step: :func:`walk_graph`, :func:`build_demand`, :func:`coverage`,
:func:`isochrones`, :func:`check_rules`, :func:`propose_sites`, :func:`to_report`.

Names are loaded on first use (module-level ``__getattr__``), so ``import coverage``
itself is instant; the data flow, layer by layer, is drawn in ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from coverage.version import __version__

if TYPE_CHECKING:  # the names below, for type checkers and IDEs
    from coverage import isochrones
    from coverage.access import CoverageResult
    from coverage.demand import Demand, build_demand
    from coverage.errors import CoverageInputError
    from coverage.network import WalkNetwork, walk_graph
    from coverage.outputs import to_report, write_outputs
    from coverage.params import CoverageParams
    from coverage.pipeline import coverage, run_plan
    from coverage.result import PlanResult
    from coverage.rules import check_rules
    from coverage.siting import propose_sites
    from coverage.study import StudyArea, build_study_area, load_study_area

#: Public name → the module that defines it (``isochrones`` is a callable module: see there).
_API: dict[str, str] = {
    "CoverageParams": "coverage.params", "CoverageResult": "coverage.access",
    "CoverageInputError": "coverage.errors", "WalkNetwork": "coverage.network", "walk_graph": "coverage.network",
    "PlanResult": "coverage.result", "coverage": "coverage.pipeline", "run_plan": "coverage.pipeline",
    "Demand": "coverage.demand", "build_demand": "coverage.demand", "check_rules": "coverage.rules",
    "StudyArea": "coverage.study", "build_study_area": "coverage.study", "load_study_area": "coverage.study",
    "propose_sites": "coverage.siting", "to_report": "coverage.outputs", "write_outputs": "coverage.outputs",
    "isochrones": "coverage.isochrones",
}

__all__ = [
    "CoverageInputError",
    "CoverageParams",
    "CoverageResult",
    "Demand",
    "PlanResult",
    "StudyArea",
    "WalkNetwork",
    "__version__",
    "build_demand",
    "build_study_area",
    "check_rules",
    "coverage",
    "isochrones",
    "load_study_area",
    "propose_sites",
    "run_plan",
    "to_report",
    "walk_graph",
    "write_outputs",
]


def __getattr__(name: str) -> Any:
    """Load a public name on first use."""
    if name not in _API:
        raise AttributeError(f"module 'coverage' has no attribute {name!r}")
    module = importlib.import_module(_API[name])
    value = module if name == "isochrones" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))

"""15-minute health circle planner (一刻钟健康医疗圈规划工具).

The public API, the same calls the command line and the Streamlit app make:

>>> import coverage as hc                                         # doctest: +SKIP
>>> study = hc.load_study_area()            # embedded Haibowan demo, or a data folder
>>> result = hc.run_plan(study)             # demand, coverage, isochrones, rules
>>> result.rules                            # per-subdistrict verdicts (DataFrame)
>>> hc.write_outputs(result, "out")         # summary.json, compliance.csv, report.html …

Step by step: :func:`walk_graph`, :func:`build_demand`, :func:`coverage`,
:func:`isochrones`, :func:`check_rules`, :func:`propose_sites`, :func:`to_report`.
"""

__version__ = "0.1.0"

from .access import CoverageParams, CoverageResult  # noqa: E402
from .errors import CoverageInputError  # noqa: E402
from .isochrones import isochrones  # noqa: E402
from .network import WalkNetwork, walk_graph  # noqa: E402
from .pipeline import PlanResult, coverage, run_plan  # noqa: E402
from .population import Demand, build_demand  # noqa: E402
from .rules import check_rules  # noqa: E402
from .study import StudyArea, build_study_area, load_study_area  # noqa: E402


def propose_sites(result, **kwargs):
    """Propose new station sites for a plan; see :func:`coverage.siting.propose_sites`."""
    from .siting import propose_sites as _propose

    return _propose(result, **kwargs)


def to_report(result, path, **kwargs) -> None:
    """Write the self-contained HTML report; see :func:`coverage.report.to_report`."""
    from .report import to_report as _to_report

    _to_report(result, path, **kwargs)


def write_outputs(result, out, report: bool = True):
    """Write summary.json, compliance.csv, isochrones.geojson, report.html; see :mod:`coverage.outputs`."""
    from .outputs import write_outputs as _write

    return _write(result, out, report=report)


__all__ = [
    "__version__", "CoverageParams", "CoverageResult", "CoverageInputError", "isochrones", "WalkNetwork",
    "walk_graph", "PlanResult", "coverage", "run_plan", "Demand", "build_demand", "check_rules", "StudyArea",
    "build_study_area", "load_study_area", "propose_sites", "to_report", "write_outputs",
]

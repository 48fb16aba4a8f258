"""Siting: where the missing stations go, over a sparse reach matrix.

- :mod:`~coverage.siting.candidates`: candidate sites (street nodes, a candidates layer, exclusions);
- :mod:`~coverage.siting.reach`: which candidate reaches which resident within the radius or walk;
- :mod:`~coverage.siting.centres`: the best site for a missing community health service centre;
- :mod:`~coverage.siting.solvers`: set covering (LSCP) and maximal covering (MCLP) with HiGHS and greedy;
- :mod:`~coverage.siting.bigcover`: the large-scale set-covering engine behind ``propose_sites`` (proven bound);
- :mod:`~coverage.siting.propose`: :func:`propose_sites`, the whole siting step of a plan.
"""

from coverage.siting.propose import PROPOSAL_COLUMNS, SitingResult, propose_sites

__all__ = ["PROPOSAL_COLUMNS", "SitingResult", "propose_sites"]

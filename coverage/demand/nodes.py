"""Population model ``street_nodes``: community totals spread evenly over the street nodes inside each community (the crudest model; outputs say so)."""

from __future__ import annotations

from typing import Any

import numpy as np

from coverage.demand.base import Demand, _check_options, _finish, _key, demand_from_street_nodes, population_source

__all__ = ["demand_from_street_nodes_model"]


def demand_from_street_nodes_model(study, **other: Any) -> Demand:
    """Each community's total spread evenly over its street nodes: the crudest model.

    Delegates to :func:`coverage.demand.nodes.demand_from_street_nodes` and adds
    the per-community report. People land on arterials and park edges as much
    as in housing; use it only when nothing better exists.
    """
    _check_options(other)
    d = demand_from_street_nodes(study.network, study.communities)
    comms = study.communities
    key = {_key(nm, sd): i for i, (nm, sd) in enumerate(zip(comms["name"], comms["subdistrict"]))}
    pts = d.points.copy()
    pts["_cidx"] = np.asarray([key.get(_key(nm, sd), -1) for nm, sd in zip(pts["community"], pts["subdistrict"])],
                              dtype=np.int64)
    pts["origin"] = "street_node"
    return _finish(study, pts, "street_nodes", population_source(study, "street_nodes"),
                   d.note_zh, d.note_en + " Use buildings, compounds or a raster where available.", d.skipped, {})

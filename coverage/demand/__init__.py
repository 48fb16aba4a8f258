"""Demand: where the residents are, one module per population model.

:func:`build_demand` picks a model by name (or ``auto``: the best source the
study area holds) from :data:`MODELS`, the one registry of models:

- ``points`` / ``polygons`` (:mod:`coverage.demand.points`): a population layer;
- ``buildings`` (:mod:`coverage.demand.buildings`): residential footprints × floors;
- ``compounds`` (:mod:`coverage.demand.compounds`): 小区 households × household size;
- ``raster`` (:mod:`coverage.demand.raster`): a population raster (WorldPop);
- ``street_nodes`` (:mod:`coverage.demand.nodes`): community totals spread over street nodes.

Every model preserves community totals exactly and returns a :class:`Demand`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coverage.demand.base import (
    KNOWN_OPTIONS,
    MODEL_NOTES,
    POPULATION_MODELS,
    Demand,
    demand_from_street_nodes,
    population_source,
)
from coverage.demand.buildings import _has_residential_buildings, demand_from_buildings, osm_residential_buildings
from coverage.demand.compounds import demand_from_compounds
from coverage.demand.nodes import demand_from_street_nodes_model
from coverage.demand.points import demand_from_points
from coverage.demand.raster import demand_from_raster
from coverage.errors import ValueInputError

__all__ = [
    "KNOWN_OPTIONS",
    "MODELS",
    "MODEL_NOTES",
    "POPULATION_MODELS",
    "Demand",
    "auto_model",
    "build_demand",
    "demand_from_points",
    "demand_from_street_nodes",
]


def auto_model(study, **options: Any) -> str | None:
    """The best model the study's data allow.

    ``compounds`` if the study has a compounds layer; else ``buildings`` if its
    buildings layer holds residential buildings; else ``raster`` if a
    ``raster=`` option is given; else ``buildings`` if the streets are an OSM
    file (``.osm``, ``.osm.pbf``, ``.osm.bz2`` ...) whose ``building=*`` ways
    include residential ones (the model then reads them, and names the source
    ``streets.osm (buildings)``); else None (the caller falls back to street
    nodes). A raster given on purpose beats buildings that merely came with
    the streets.
    """
    if options.get("compounds") is not None or (study.compounds is not None and len(study.compounds)):
        return "compounds"
    if options.get("buildings") is not None or _has_residential_buildings(study, options.get("landuse")):
        return "buildings"
    if options.get("raster"):
        return "raster"
    if osm_residential_buildings(study, options.get("landuse")):
        return "buildings"
    return None


#: Model name → ``callable(study, **options) -> Demand``.
MODELS: dict[str, Callable[..., Demand]] = {
    "buildings": demand_from_buildings,
    "compounds": demand_from_compounds,
    "raster": demand_from_raster,
    "street_nodes": demand_from_street_nodes_model,
}


def build_demand(study, model: str = "auto", **options) -> Demand:
    """Choose and build the population model for a study area.

    Parameters
    ----------
    study : StudyArea
    model : str
        ``auto`` (the best source the study holds), ``points``/``polygons``
        (the population layer), ``street_nodes``, or a model registered in
        :mod:`coverage.demand` (``buildings``, ``compounds``, ``raster``).
    **options
        Passed to the model (e.g. ``household_size``, ``raster``).

    Returns
    -------
    Demand
    """
    if model == "auto":
        if study.population is not None:
            model = "points"
        else:
            model = auto_model(study, **options) or "street_nodes"
    if model in ("points", "polygons"):
        if study.population is None:
            raise ValueInputError(f"population model {model!r} needs a population layer (population.geojson)")
        demand = demand_from_points(study.population, study.communities, study.network)
    elif model == "street_nodes":
        demand = demand_from_street_nodes(study.network, study.communities)
    elif model in MODELS:
        demand = MODELS[model](study, **options)
    else:
        raise ValueInputError(f"unknown population model {model!r}; choose one of "
                              f"{', '.join(dict.fromkeys(POPULATION_MODELS + tuple(MODELS)))}")
    demand.details.setdefault("source", population_source(study, demand.model))
    if not demand.total > 0:
        where = study.sources.get("population") or study.sources.get("communities") or "communities"
        raise ValueInputError("no population: every community's population is empty or zero; add a "
                              "population (人口) column to the communities layer or a population layer",
                              path=where)
    return demand

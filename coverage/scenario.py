"""What-if scenarios: hypothetical facilities added, existing ones removed, and the record of both.

A :class:`Scenario` lists the edits; :func:`apply_scenario` turns them into the study a plan
is run on (the hypothetical facilities carry ``scenario = "added"``), and :func:`describe_scenario`
is what ``summary.json`` → ``scenario`` says of them, so that every output of a scenario can name
what was added and removed. :func:`coverage.pipeline.run_plan` does all three when given a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from coverage.errors import ValueInputError
from coverage.study import StudyArea

__all__ = ["HYPOTHETICAL_KIND_RAW", "SCENARIO_COLUMN", "Scenario", "added_facilities", "apply_scenario",
           "describe_scenario", "scenario_counts"]

#: Facility column marking the hypothetical facilities of a scenario study (value ``"added"``).
SCENARIO_COLUMN = "scenario"
#: ``kind_raw`` of a hypothetical station (the kind as a planner would read it in a table).
HYPOTHETICAL_KIND_RAW = "假设新增服务站 / hypothetical station"


@dataclass(frozen=True)
class Scenario:
    """Facility edits of a what-if scenario.

    Attributes
    ----------
    added : tuple of (name, lon, lat) or (name, lon, lat, kind)
        Hypothetical facilities, WGS84 degrees; the kind is ``station`` unless
        given (an accepted proposal may be a ``centre``).
    removed : tuple
        Index labels of existing facilities (``study.facilities.index``) taken out.

    Examples
    --------
    >>> s = Scenario(added=(("新站", 106.8, 39.65),), removed=(3,))
    >>> s.empty, s.stations()
    (False, [('新站', 106.8, 39.65, 'station')])
    """

    added: tuple = ()
    removed: tuple = ()

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed

    def stations(self) -> list[tuple[str, float, float, str]]:
        """``(name, lon, lat, kind)`` of each added facility."""
        return [(str(a[0]), float(a[1]), float(a[2]), a[3] if len(a) > 3 and a[3] else "station")
                for a in self.added]

    def key(self) -> tuple:
        """A hashable key (cache keys of the app)."""
        return (tuple((n, round(x, 7), round(y, 7), k) for n, x, y, k in self.stations()),
                tuple(sorted(self.removed, key=str)))


def added_facilities(study: StudyArea, scenario: Scenario, kind_raw: str = HYPOTHETICAL_KIND_RAW
                     ) -> gpd.GeoDataFrame:
    """The hypothetical facilities (counted), in the study CRS, indexed ``scenario_1``, ``scenario_2``, …

    Parameters
    ----------
    study : StudyArea
    scenario : Scenario
    kind_raw : str
        ``kind_raw`` of hypothetical stations (other kinds keep their kind).
    """
    items = scenario.stations()
    rows = [{"name": name, "kind": kind, "kind_raw": kind_raw if kind == "station" else kind, "counted": True,
             SCENARIO_COLUMN: "added"} for name, _, _, kind in items]
    geoms = [shapely.Point(lon, lat) for _, lon, lat, _ in items]
    columns = ["name", "kind", "kind_raw", "counted", SCENARIO_COLUMN]
    gdf = gpd.GeoDataFrame(rows, columns=columns, geometry=geoms, crs=4326) if rows else \
        gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=4326)
    gdf.index = [f"scenario_{i + 1}" for i in range(len(gdf))]
    return gdf.to_crs(study.crs)


def _check_removed(study: StudyArea, scenario: Scenario) -> None:
    """Refuse removals of facilities the study does not have (a stale label would silently remove nothing)."""
    unknown = [r for r in scenario.removed if r not in study.facilities.index]
    if unknown:
        raise ValueInputError(f"scenario removed: no facility with index {', '.join(map(repr, unknown[:5]))}; "
                              f"use labels of study.facilities.index (0 … {len(study.facilities) - 1})")


def apply_scenario(study: StudyArea, scenario: Scenario, kind_raw: str = HYPOTHETICAL_KIND_RAW) -> StudyArea:
    """The study with the scenario's facilities: the removed ones out, the hypothetical ones in.

    Raises
    ------
    ValueInputError
        When a removed label is not a facility of the study.
    """
    if scenario.empty:
        return study
    _check_removed(study, scenario)
    base = study.facilities.drop(index=list(scenario.removed))
    add = added_facilities(study, scenario, kind_raw)
    fac = pd.concat([base, add[[c for c in add.columns if c in base.columns or c == SCENARIO_COLUMN]]], axis=0)
    return study.with_facilities(gpd.GeoDataFrame(fac, geometry="geometry", crs=study.crs))


def _rows(fac: gpd.GeoDataFrame, change: str) -> list[dict]:
    """One dict per facility: name, kind, where it lies, metres in the study CRS and WGS84 degrees."""
    ll = fac.geometry.to_crs(4326)
    out = []
    for (_, r), p in zip(fac.iterrows(), ll):
        out.append({"change": change, "name": str(r["name"]), "kind": str(r["kind"]),
                    "kind_raw": None if pd.isna(r.get("kind_raw")) else str(r.get("kind_raw")),
                    "counted": bool(r["counted"]), "subdistrict": r.get("subdistrict"),
                    "community": r.get("community"), "x": round(float(r.geometry.x), 2),
                    "y": round(float(r.geometry.y), 2), "lon": round(float(p.x), 7), "lat": round(float(p.y), 7)})
    return out


def describe_scenario(study: StudyArea, scenario: Scenario, applied: StudyArea | None = None) -> dict:
    """``{"added": [...], "removed": [...]}``: each edited facility's name, kind, place and coordinates.

    Parameters
    ----------
    study : StudyArea
        The study without the edits (where the removed facilities still are).
    scenario : Scenario
    applied : StudyArea, optional
        ``apply_scenario(study, scenario)`` if already built (its hypothetical facilities are
        linked to subdistricts and communities).
    """
    applied = applied if applied is not None else apply_scenario(study, scenario)
    fac = applied.facilities
    added = fac[fac[SCENARIO_COLUMN] == "added"] if SCENARIO_COLUMN in fac.columns else fac.iloc[:0]
    removed = study.facilities.loc[list(scenario.removed)]
    return {"added": _rows(added, "added"), "removed": _rows(removed, "removed")}


def scenario_counts(record: dict) -> tuple[str, str]:
    """The one-line label of a scenario record: ``("新增 N 处、移除 M 处", "N added, M removed")``.

    >>> scenario_counts({"added": [{}, {}], "removed": [{}]})
    ('新增 2 处、移除 1 处', '2 added, 1 removed')
    """
    n, m = len(record.get("added", [])), len(record.get("removed", []))
    return f"新增 {n} 处、移除 {m} 处", f"{n} added, {m} removed"

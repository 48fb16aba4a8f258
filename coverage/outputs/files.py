"""Writing a plan's files: summary.json, compliance.csv, communities.csv, facilities.csv, isochrones.geojson,
report.html, and for a scenario scenario.csv.

The only module that writes results to disk. CSV files are UTF-8 with a BOM
so that Excel on Chinese Windows shows the names correctly.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd

from coverage.outputs.report import render_report
from coverage.outputs.summary import _to_json
from coverage.outputs.tables import compliance_table, scenario_table
from coverage.plain import jsonable
from coverage.result import PlanResult
from coverage.siting.propose import SitingResult

__all__ = ["write_outputs"]


def write_outputs(result: PlanResult, out: str | Path, report: bool = True) -> dict[str, Path]:
    """Write every output file of a plan.

    Parameters
    ----------
    result : PlanResult
    out : path
        Output folder (created).
    report : bool
        Also render ``report.html``.

    Returns
    -------
    dict
        ``{name: path}`` of the files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    summary = result.summary()
    files["summary.json"] = out / "summary.json"
    files["summary.json"].write_text(_to_json(summary), encoding="utf-8")
    files["compliance.csv"] = out / "compliance.csv"
    compliance_table(result).to_csv(files["compliance.csv"], index=False, encoding="utf-8-sig")
    files["communities.csv"] = out / "communities.csv"
    result.communities.round(4).to_csv(files["communities.csv"], index=False, encoding="utf-8-sig")
    files["isochrones.geojson"] = out / "isochrones.geojson"
    iso = result.isochrones.to_crs(4326)
    _write_geojson(iso, files["isochrones.geojson"])
    if result.scenario is not None:
        files["scenario.csv"] = out / "scenario.csv"
        scenario_table(result).to_csv(files["scenario.csv"], index=False, encoding="utf-8-sig")
    if result.siting is not None:
        files.update(write_proposals(result.siting, out))
    if result.capacity is not None:
        files["facilities.csv"] = out / "facilities.csv"
        result.capacity.table().to_csv(files["facilities.csv"], index=False, encoding="utf-8-sig")
    if report:

        files["report.html"] = out / "report.html"
        files["report.html"].write_text(render_report(result, summary), encoding="utf-8")
    return files


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoJSON (RFC 7946, WGS84); an empty layer is written as an empty FeatureCollection."""
    text = gdf.to_json(drop_id=True, to_wgs84=True, ensure_ascii=False) if len(gdf) else \
        '{"type": "FeatureCollection", "features": []}'
    path.write_text(text, encoding="utf-8")


def write_proposals(siting: SitingResult, out: str | Path) -> dict[str, Path]:
    """Write ``proposals.geojson`` (WGS84) and ``proposals.csv`` (UTF-8 with BOM).

    Returns
    -------
    dict
        ``{file name: path}``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"proposals.geojson": out / "proposals.geojson", "proposals.csv": out / "proposals.csv"}
    features = []
    for rec in siting.records():
        features.append({"type": "Feature", "properties": rec,
                         "geometry": {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]}})
    files["proposals.geojson"].write_text(
        json.dumps(jsonable({"type": "FeatureCollection", "features": features}), ensure_ascii=False,
                   allow_nan=False), encoding="utf-8")
    siting.table().to_csv(files["proposals.csv"], index=False, encoding="utf-8-sig")
    return files

"""Writing a plan's files: summary.json, compliance.csv, communities.csv, isochrones.geojson, report.html.

The only module that writes results to disk. CSV files are UTF-8 with a BOM
so that Excel on Chinese Windows shows the names correctly.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .pipeline import PlanResult, jsonable

__all__ = ["write_outputs", "compliance_table", "COMPLIANCE_COLUMNS", "jsonable", "summary_json"]

#: compliance.csv columns: (key, 中文, English)
COMPLIANCE_COLUMNS = [
    ("name", "街道/乡镇", "subdistrict"),
    ("code", "区划代码", "code"),
    ("communities", "社区数", "communities"),
    ("centres", "社区卫生服务中心", "centres"),
    ("stations", "社区卫生服务站", "stations"),
    ("stations_required", "应设服务站", "stations required"),
    ("centre_rule", "中心达标", "centre rule"),
    ("station_rule", "服务站达标", "station rule"),
    ("population", "人口", "population"),
    ("radius_share", "500米覆盖率", "radius share"),
    ("radius_euclidean_share", "500米直线覆盖率", "radius share (crow flies)"),
    ("walk_share", "15分钟步行覆盖率", "walk share"),
    ("radius_rule", "500米覆盖达标", "radius rule"),
    ("walk_rule", "15分钟覆盖达标", "walk rule"),
    ("passes", "全部达标", "all rules pass"),
]


def compliance_table(result: PlanResult, bilingual_headers: bool = True) -> pd.DataFrame:
    """The per-subdistrict rule table, with ``中文 / English`` headers.

    Parameters
    ----------
    result : PlanResult
    bilingual_headers : bool
        Headers like ``社区数 / communities``; else the JSON keys.

    Returns
    -------
    DataFrame
    """
    r = result.rules[[k for k, _, _ in COMPLIANCE_COLUMNS]].copy()
    for col in ("radius_share", "radius_euclidean_share", "walk_share"):
        r[col] = r[col].astype(float).round(4)
    r["population"] = r["population"].round(1)
    if bilingual_headers:
        r.columns = [f"{zh} / {en}" for _, zh, en in COMPLIANCE_COLUMNS]
    return r


def _to_json(obj: object) -> str:
    return json.dumps(jsonable(obj), ensure_ascii=False, indent=2, allow_nan=False)


def summary_json(summary: dict) -> str:
    """``summary.json`` text: strict JSON, UTF-8 Chinese kept readable."""
    return _to_json(summary)


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
    if result.siting is not None:
        files.update(result.siting.write(out))
    if report:
        from .report import render_report

        files["report.html"] = out / "report.html"
        files["report.html"].write_text(render_report(result, summary), encoding="utf-8")
    return files


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoJSON (RFC 7946, WGS84); an empty layer is written as an empty FeatureCollection."""
    text = gdf.to_json(drop_id=True, to_wgs84=True, ensure_ascii=False) if len(gdf) else \
        '{"type": "FeatureCollection", "features": []}'
    path.write_text(text, encoding="utf-8")

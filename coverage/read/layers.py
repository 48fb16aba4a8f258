"""Reading layers: any format, any CRS, Chinese column names and coordinate systems.

This is the only module that opens user files. Each reader returns a
GeoDataFrame with normalised column names (``name``, ``kind``, ``code``,
``subdistrict``, ``population``), validated geometries, and a list of
*skip records* saying what was repaired or left out; every problem that the
user must fix raises a :class:`~coverage.errors.CoverageInputError` naming the
file and row.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.errors import (
    CoverageInputError,
    CRSError,
    GeometryError,
    LayerReadError,
    MissingColumnError,
    ValueInputError,
)
from coverage.geo.chinese_crs import normalise_coordinate_system, to_wgs84
from coverage.read.cells import normalise_columns
from coverage.read.safety import check_xml_safe, safe_extract_zip
from coverage.read.sniff import _check_content, _sniff_quietly
from coverage.skipped import Skipped

__all__ = ["LAYER_STEMS", "TABLE_EXTENSIONS", "VECTOR_EXTENSIONS", "find_layer_files", "read_layer", "read_meta", "read_table_points", "validate_geometries"]

VECTOR_EXTENSIONS = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".kml")

TABLE_EXTENSIONS = (".csv", ".txt", ".xlsx", ".xls")

#: OSM file endings and the libosmium format of each (coverage.network.osmread reads them all).
OSM_FORMATS: dict[str, str] = {
    ".osm": "osm", ".osm.xml": "osm", ".xml": "osm",
    ".osm.bz2": "osm.bz2", ".osm.xml.bz2": "osm.bz2",
    ".osm.gz": "osm.gz", ".osm.xml.gz": "osm.gz",
    ".osm.pbf": "pbf", ".pbf": "pbf",
}
STREET_EXTENSIONS = (*OSM_FORMATS, ".graphml")

LAYER_STEMS = ("streets", "subdistricts", "communities", "facilities", "population", "buildings",
               "compounds", "candidates", "exclusions")


def _shapefile_encoding(path: Path) -> str | None:
    """Guess a Shapefile's attribute encoding when it has no ``.cpg``.

    Chinese offices' Shapefiles are often GBK without a ``.cpg``; GDAL then
    assumes ISO-8859-1 and names come out garbled. Try UTF-8 on the DBF's bytes
    and fall back to GB18030 (a superset of GBK).
    """
    if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) > 10 else 0
    # field names (32-byte descriptors after the header) can be GBK too, even when all values are ASCII
    names = b"".join(raw[o:o + 11] for o in range(32, max(header_len - 1, 32), 32))
    body = names + raw[header_len:]
    if not any(b > 127 for b in body):
        return None
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _show(value: object) -> str:
    """A cell value for messages: ``(empty)`` for blanks, the text otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "(empty)"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else str(value)


def _read_text_table(path: Path) -> pd.DataFrame:
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xls"):
        try:
            return pd.read_excel(path)
        except ImportError as exc:
            raise LayerReadError(f"reading Excel needs the openpyxl/xlrd package ({exc}); save the sheet as "
                                 "CSV (UTF-8) instead", path=path) from exc
        except Exception as exc:
            raise LayerReadError(f"cannot read as an Excel workbook ({type(exc).__name__}: {exc}); open it in "
                                 "Excel/WPS and save it again as .xlsx or CSV (UTF-8)", path=path) from exc
    last: Exception | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=enc, sep=None, engine="python")
        except UnicodeDecodeError as exc:
            last = exc
        except pd.errors.EmptyDataError as exc:
            raise LayerReadError("the table is empty (no header row); save it again with a header row "
                                 "name,kind,lon,lat", path=path,
                                 zh="表格为空（没有表头行）：请加上表头行 name,kind,lon,lat 后重新保存") from exc
        except Exception as exc:
            raise LayerReadError(f"cannot read as CSV ({type(exc).__name__}: {exc}); save it from Excel/WPS as "
                                 "\"CSV UTF-8 (comma delimited)\"", path=path,
                                 zh=f"无法按CSV读取（{type(exc).__name__}: {exc}）：请在Excel/WPS中另存为"
                                    "“CSV UTF-8（逗号分隔）”") from exc
    raise LayerReadError(f"is neither UTF-8 nor GBK text ({last}); save it as \"CSV UTF-8\"", path=path,
                         zh="既不是UTF-8也不是GBK编码的文本：请另存为“CSV UTF-8”")


def read_table_points(path: str | Path, coordinate_system: str = "wgs84", layer: str = "facilities") -> gpd.GeoDataFrame:
    """Read a CSV or Excel list of points with longitude/latitude columns.

    Parameters
    ----------
    path : path
        ``.csv`` (UTF-8 or GBK, any delimiter) or ``.xlsx``.
    coordinate_system : str
        Datum of the coordinates: ``wgs84`` (default), ``gcj02`` (高德/腾讯),
        ``bd09`` (百度) or ``cgcs2000``. Converted to WGS84.
    layer : str
        Layer name for messages.

    Returns
    -------
    GeoDataFrame
        Points in EPSG:4326, columns normalised.
    """
    path = Path(path)
    df = _read_text_table(path)
    if df.empty:
        raise LayerReadError(f"the {layer} table has no rows; add one row per feature under the header", path=path,
                             zh=f"{layer} 表格没有数据行：请在表头下每个要素填一行")
    df.columns = [str(c) for c in df.columns]
    df = normalise_columns(df, ("name", "kind", "code", "subdistrict", "population", "address", "lon", "lat"))
    for col in ("lon", "lat"):
        if col not in df.columns:
            raise MissingColumnError(f"no {col} column; name the coordinate columns lon/lat (or 经度/纬度). "
                                     f"Columns found: {list(df.columns)}", path=path,
                                     zh=f"没有 {col} 列：请把坐标列命名为 lon/lat（或 经度/纬度）。现有列：{list(df.columns)}")
        if isinstance(df[col], pd.DataFrame):
            raise MissingColumnError(f"two {col} columns (e.g. lon and 经度); keep one. Columns found: "
                                     f"{list(df.columns)}", path=path)
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    bad = lon.isna() | lat.isna() | ~np.isfinite(lon.fillna(0)) | ~np.isfinite(lat.fillna(0))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueInputError(f"missing or non-numeric coordinates (lon={_show(df['lon'].iloc[row])}, "
                              f"lat={_show(df['lat'].iloc[row])}) in {int(bad.sum())} row(s); write decimal degrees "
                              "(e.g. 106.82, 39.67) or delete the row(s)", path=path, row=row + 2)
    _check_lonlat(lon.to_numpy(), lat.to_numpy(), path)
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs=4326)
    return _declare_coordinate_system(gdf, coordinate_system, path)


_SWAP_HINT = "longitude and latitude look swapped: swap the columns (lon = 经度 ≈ 106.8 for Wuhai, lat = 纬度 ≈ 39.7)"

_NOT_DEGREES = ("these are not degrees; projected coordinates (metres) need a layer format with a CRS "
                "(GeoPackage, or a Shapefile with its .prj)")


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, path: Path, names: list | None = None,
                  rows: list | None = None) -> None:
    """Refuse coordinates that are not lon/lat degrees, and spot swapped columns.

    ``names``/``rows`` (vector layers) label the features; otherwise rows are
    CSV line numbers (header = 1).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)

    def where(i: int) -> tuple[str, object]:
        if rows is None:
            return "", i + 2
        label = f"feature {names[i]!r} " if names is not None and names[i] is not None else "feature "
        return label, rows[i]

    out = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if out.any():
        swapped = bool((np.abs(lon) <= 90).all() and (np.abs(lat) <= 180).all())
        i = int(np.flatnonzero(out)[0])
        label, row = where(i)
        hint = _SWAP_HINT if swapped else _NOT_DEGREES
        raise CRSError(f"{label}coordinates out of range (lon={lon[i]:.6g}, lat={lat[i]:.6g}): {hint}",
                       path=path, row=row)
    # inside China longitudes are 73–135 and latitudes 18–54: a table entirely the other way round is swapped
    if len(lon) and (np.all((lon > 15) & (lon < 55)) and np.all((lat > 70) & (lat < 136))):
        label, row = where(0)
        raise CRSError(f"{label}(lon={lon[0]:.6g}, lat={lat[0]:.6g}): {_SWAP_HINT}", path=path, row=row)


def _check_vector_lonlat(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Per-feature degree check of a layer in a geographic CRS."""
    b = shapely.bounds(gdf.geometry.values)
    ok = np.isfinite(b).all(axis=1)
    if not ok.any():
        return
    b = b[ok]
    rows = list(gdf.index[ok])
    names = list(gdf["name"][ok]) if "name" in gdf.columns else None
    # the corner farthest from zero decides: a feature is out of range if either corner is
    lon = np.where(np.abs(b[:, 2]) > np.abs(b[:, 0]), b[:, 2], b[:, 0])
    lat = np.where(np.abs(b[:, 3]) > np.abs(b[:, 1]), b[:, 3], b[:, 1])
    _check_lonlat(lon, lat, path, names=names, rows=rows)


def _declare_coordinate_system(gdf: gpd.GeoDataFrame, system: str | None, path: Path) -> gpd.GeoDataFrame:
    if not system or system.lower() in ("wgs84", "epsg:4326", "4326"):
        return gdf

    norm = normalise_coordinate_system(system)
    if norm == "wgs84":
        return gdf
    return to_wgs84(gdf, norm, name=str(path))


def read_layer(path: str | Path, kind: str = "layer", coordinate_system: str | None = None) -> gpd.GeoDataFrame:
    """Read one vector layer or point table, in its own CRS, columns normalised.

    Parameters
    ----------
    path : path
        GeoJSON, GeoPackage, Shapefile (or a zip holding one), FlatGeobuf, KML,
        or a CSV/XLSX point table with lon/lat columns.
    kind : str
        Layer name for messages (``subdistricts``, ``facilities``, ...).
    coordinate_system : str, optional
        Declare that lon/lat coordinates are GCJ-02 (``gcj02``) or BD-09
        (``bd09``); they are converted to WGS84.

    Returns
    -------
    GeoDataFrame
        With a CRS. Geometries are not yet validated (see :func:`validate_geometries`).
    """
    path = Path(path)
    ext = _check_file(path, kind)
    _check_content(path, kind)
    if ext in TABLE_EXTENSIONS:
        return read_table_points(path, coordinate_system or "wgs84", layer=kind)
    if ext == ".zip":
        return _read_zip(path, kind, coordinate_system)
    gdf = _read_vector(path, ext, kind)
    crs = _layer_crs(gdf, ext, kind, path)
    gdf = normalise_columns(gdf)
    if crs.is_geographic:
        _check_vector_lonlat(gdf, path)
    if coordinate_system:
        gdf = _declare_coordinate_system(gdf.to_crs(4326) if crs.is_geographic else gdf, coordinate_system, path)
    return gdf


def _check_file(path: Path, kind: str) -> str:
    """Refuse a missing, folder, empty or unsupported file; return its lower-case extension."""
    if not path.exists():
        raise LayerReadError(f"{kind} file not found; check the name and folder", path=path,
                             zh=f"找不到 {kind} 文件：请检查文件名和文件夹")
    if path.is_dir():
        raise LayerReadError(f"is a folder, not a {kind} file", path=path)
    if path.stat().st_size == 0:
        raise LayerReadError(f"the {kind} file is empty (0 bytes); the copy or download probably failed — "
                             "copy or export it again", path=path,
                             zh=f"{kind} 文件为空（0字节），复制或下载可能失败：请重新复制或导出")
    ext = path.suffix.lower()
    if ext not in VECTOR_EXTENSIONS + TABLE_EXTENSIONS:
        raise LayerReadError(f"unsupported file type {ext!r} for {kind}; use one of "
                             f"{', '.join(VECTOR_EXTENSIONS + TABLE_EXTENSIONS)}", path=path,
                             zh=f"{kind} 不支持 {ext!r} 文件类型：请使用 {', '.join(VECTOR_EXTENSIONS + TABLE_EXTENSIONS)}")
    return ext


def _read_vector(path: Path, ext: str, kind: str) -> gpd.GeoDataFrame:
    """Read a vector file with GDAL; a failure says what the content looks like and how to export it again."""
    kwargs: dict[str, Any] = {}
    if ext == ".shp":
        for side in (".shx", ".dbf"):
            if not (path.with_suffix(side).exists() or path.with_suffix(side.upper()).exists()):
                raise LayerReadError(f"the Shapefile's {path.stem}{side} is missing beside it; copy all its parts "
                                     "(.shp .shx .dbf .prj .cpg), or zip them together and give the .zip", path=path)
        enc = _shapefile_encoding(path)
        if enc:
            kwargs["encoding"] = enc
    if ext == ".kml":
        check_xml_safe(path)
    try:
        return gpd.read_file(path, **kwargs)
    except Exception as exc:
        _, description = _sniff_quietly(path)
        detail = str(exc).split(";")[0].replace(str(path), path.name)
        raise LayerReadError(f"cannot read as a {ext} {kind} layer ({type(exc).__name__}: {detail}); its content "
                             f"looks like {description}. Export the layer again as GeoJSON, GeoPackage or a zipped "
                             "Shapefile", path=path,
                             zh=f"无法按 {ext} 读取 {kind} 图层（{type(exc).__name__}: {detail}），其内容看起来是"
                                f" {description}：请重新导出为GeoJSON、GeoPackage或打包（zip）的Shapefile") from exc


def _layer_crs(gdf: gpd.GeoDataFrame, ext: str, kind: str, path: Path) -> pyproj.CRS:
    """The layer's CRS, after refusing a layer without geometry, without features or without a (readable) CRS."""
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise GeometryError(f"the {kind} file has attributes but no geometry; export it as a spatial layer "
                            "(or a CSV with lon/lat columns)", path=path)
    if len(gdf) == 0:
        raise LayerReadError(f"the {kind} layer has no features; export it again with its features (was a filter "
                             "or an empty selection active?)", path=path,
                             zh=f"{kind} 图层没有要素：请连同要素重新导出（是否启用了筛选或选择为空？）")
    if gdf.crs is None:
        if ext == ".shp":
            msg = (f"the {kind} Shapefile has no coordinate reference system: {path.stem}.prj is missing; copy the "
                   ".prj beside it, or save the layer again from GIS with its CRS (EPSG:4490 CGCS2000, EPSG:4326 "
                   "WGS84 or the projected CRS it was drawn in)")
        else:
            msg = (f"the {kind} layer has no coordinate reference system; save it again with its CRS "
                   "(EPSG:4490 CGCS2000, EPSG:4326 WGS84 or the projected CRS it was drawn in)")
        missing = f"（缺少 {path.stem}.prj）" if ext == ".shp" else ""
        raise CRSError(msg, path=path, zh=f"{kind} 图层没有坐标参考系{missing}：请带坐标系重新保存"
                                          "（EPSG:4490 CGCS2000、EPSG:4326 WGS84 或其投影坐标系）")
    try:
        return pyproj.CRS(gdf.crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"the {kind} layer's coordinate reference system is not understood ({exc}); save it "
                       "again with an EPSG code", path=path) from exc


def _read_zip(path: Path, kind: str, coordinate_system: str | None) -> gpd.GeoDataFrame:
    """Read a zipped Shapefile (or other layer) after a safe extraction; nothing is left on disk."""
    import tempfile


    with tempfile.TemporaryDirectory(prefix="coverage_zip_") as tmp:
        files = safe_extract_zip(path, tmp)
        rel = {f: f.relative_to(tmp).as_posix() for f in files}
        layers = [f for f in files if f.suffix.lower() in (".shp", ".geojson", ".gpkg", ".json")
                  and not f.name.startswith("._") and "__MACOSX" not in rel[f]]
        if not layers:
            raise LayerReadError(f"the zip holds no .shp/.geojson/.gpkg for {kind} (found: "
                                 f"{[rel[f] for f in files][:10]}); zip the layer's files themselves", path=path)
        if len(layers) > 1:
            shp = [f for f in layers if f.suffix.lower() == ".shp"]
            layers = shp[:1] if len(shp) == 1 else layers
            if len(layers) > 1:
                raise LayerReadError(f"the zip holds several layers {[rel[f] for f in layers]}; zip one layer per "
                                     "file", path=path)
        try:
            return read_layer(layers[0], kind=kind, coordinate_system=coordinate_system)
        except CoverageInputError as exc:
            # name the archive and its member, not the temporary folder
            raise type(exc)(exc.reason.replace(str(layers[0]), rel[layers[0]]),
                            path=f"{path} › {rel[layers[0]]}", row=exc.row,
                            zh=exc.zh and exc.zh.replace(str(layers[0]), rel[layers[0]])) from exc


_FAMILIES = {"point": {0, 4}, "line": {1, 2, 5}, "polygon": {3, 6}}  # shapely geometry type ids


def _drop_missing(gdf: gpd.GeoDataFrame, kind: str, path: str | Path | None,
                  skipped: list[Skipped]) -> gpd.GeoDataFrame:
    """Drop features without geometry (counted), then refuse NaN or infinite coordinates.

    Parameters
    ----------
    gdf : GeoDataFrame
    kind : str
        Layer name for messages and skip records.
    path : path, optional
        The file, for messages.
    skipped : list of Skipped
        Receives the ``empty_geometry`` record.

    Returns
    -------
    GeoDataFrame
        The features that have a geometry.

    Raises
    ------
    GeometryError
        No feature has a geometry, or some coordinates are not finite.
    """
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        names = _labels(gdf, missing)
        skipped.append(Skipped(kind, "empty_geometry", int(missing.sum()), items=names,
                               population=_pop_sum(gdf, missing),
                               message="features without geometry were left out; draw them or delete them"))
        gdf = gdf.loc[~missing]
        geoms = gdf.geometry.values
    if len(gdf) == 0:
        raise GeometryError(f"the {kind} layer has no feature with a geometry; export it again with its shapes",
                            path=path)
    coords = shapely.get_coordinates(geoms)
    if len(coords) and not np.isfinite(coords).all():
        bad = ~np.array([np.isfinite(shapely.get_coordinates(g)).all() for g in geoms])
        row = gdf.index[int(np.flatnonzero(bad)[0])]
        raise GeometryError(f"{int(bad.sum())} {kind} feature(s) have NaN or infinite coordinates (first: "
                            f"{_label(gdf, row)}); fix or delete them", path=path, row=row)
    return gdf


def _validate_polygons(gdf: gpd.GeoDataFrame, types: pd.Series, kind: str, path: str | Path | None,
                       skipped: list[Skipped]) -> gpd.GeoDataFrame:
    """Refuse non-polygons; repair invalid polygons and drop those left without area (both counted).

    Parameters
    ----------
    gdf : GeoDataFrame
        Features that all have a finite geometry.
    types : Series
        Their shapely geometry type ids.
    kind : str
        Layer name for messages and skip records.
    path : path, optional
        The file, for messages.
    skipped : list of Skipped
        Receives the ``invalid_geometry_repaired`` and ``invalid_geometry_dropped`` records.

    Returns
    -------
    GeoDataFrame

    Raises
    ------
    GeometryError
        A feature is not a polygon, or every polygon is invalid and has no area.
    """
    geoms = gdf.geometry.values
    bad = ~types.isin(_FAMILIES["polygon"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        counts = pd.Series([g.geom_type for g in geoms[bad]]).value_counts()
        found = ", ".join(f"{n} {t}" for t, n in counts.items())
        raise GeometryError(f"{kind} must be polygons, but {found} found (first: {_label(gdf, gdf.index[i])}); "
                            "export the boundary layer, not its points or lines", path=path, row=gdf.index[i],
                            zh=f"{kind} 必须是面，但发现 {found}（第一个：{_label(gdf, gdf.index[i])}）：请导出边界面图层，"
                               "而不是点或线")
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    names = _labels(gdf, invalid)
    fixed = shapely.make_valid(geoms[invalid])
    # make_valid may return collections with slivers of lines: keep the polygonal part
    fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
    geoms = geoms.copy()
    geoms[invalid] = fixed
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    gone = shapely.is_empty(geoms) | (shapely.area(geoms) <= 0)
    repaired = invalid & ~gone
    if repaired.any():
        skipped.append(Skipped(kind, "invalid_geometry_repaired", int(repaired.sum()),
                               items=_labels(gdf, repaired), action="repaired",
                               message="self-intersecting or invalid polygons repaired with make_valid; "
                                       "check their shapes in GIS"))
    if gone.any():
        skipped.append(Skipped(kind, "invalid_geometry_dropped", int(gone.sum()), items=_labels(gdf, gone),
                               population=_pop_sum(gdf, gone), action="dropped",
                               message="invalid polygons with no area left after repair were left out; "
                                       "redraw them"))
        gdf = gdf.loc[~gone]
        if len(gdf) == 0:
            raise GeometryError(f"every {kind} polygon is invalid and has no area ({names[:5]}); redraw "
                                "the layer", path=path)
    return gdf


def validate_geometries(gdf: gpd.GeoDataFrame, kind: str, expect: str, path: str | Path | None = None
                        ) -> tuple[gpd.GeoDataFrame, list[Skipped]]:
    """Check geometry types, repair invalid polygons, drop (and count) empty ones.

    Parameters
    ----------
    gdf : GeoDataFrame
    kind : str
        Layer name for messages and skip records.
    expect : {"polygon", "point", "line", "any"}
        The geometry family the layer must hold. Polygons given for points are
        replaced by their representative point (counted).
    path : path, optional
        The file, for messages.

    Returns
    -------
    GeoDataFrame, list of Skipped
    """
    skipped: list[Skipped] = []
    gdf = _drop_missing(gdf.copy(), kind, path, skipped)
    geoms = gdf.geometry.values
    types = pd.Series(shapely.get_type_id(geoms))
    if expect == "polygon":
        gdf = _validate_polygons(gdf, types, kind, path, skipped)
    elif expect == "point":
        poly = types.isin(_FAMILIES["polygon"] | _FAMILIES["line"]).to_numpy()
        multi = (types == 4).to_numpy()
        if poly.any() or multi.any():
            geoms = geoms.copy()
            geoms[poly | multi] = shapely.point_on_surface(geoms[poly | multi])
            gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
            skipped.append(Skipped(kind, "converted_to_point", int((poly | multi).sum()), action="repaired",
                                   items=_labels(gdf, poly | multi),
                                   message="polygons, lines or multipoints replaced by a point on their surface"))
    elif expect == "line":
        bad = ~types.isin(_FAMILIES["line"]).to_numpy()
        if bad.all():
            raise GeometryError(f"{kind} must be lines (street centre-lines)", path=path)
    return gdf, skipped


def _label(gdf: pd.DataFrame, row: object) -> str:
    """``row 3 ('甲一社区')`` for messages."""
    name = gdf.at[row, "name"] if "name" in gdf.columns else None
    return f"row {row}" + (f" ({name!r})" if isinstance(name, str) and name else "")


def _labels(gdf: pd.DataFrame, mask: np.ndarray) -> list:
    """Names (or row numbers) of the masked features, for skip records."""
    if "name" in gdf.columns:
        return [n if isinstance(n, str) and n else f"row {i}" for i, n in zip(gdf.index[mask], gdf["name"][mask])]
    return [f"row {i}" for i in gdf.index[mask]]


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _pop_sum(gdf: pd.DataFrame, mask: np.ndarray) -> float:
    if "population" not in gdf.columns:
        return 0.0
    return float(pd.to_numeric(gdf["population"], errors="coerce")[mask].fillna(0).sum())


def find_layer_files(folder: str | Path) -> dict[str, Path]:
    """Find the layer files of a data folder by stem.

    Parameters
    ----------
    folder : path

    Returns
    -------
    dict
        ``{stem: path}`` for each of :data:`LAYER_STEMS` present.

    Raises
    ------
    LayerReadError
        If the folder is missing, or holds two files for one layer.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LayerReadError("data folder not found (give a folder holding streets.*, subdistricts.*, "
                             "communities.*, facilities.*)", path=folder,
                             zh="找不到数据文件夹（应含 streets.*、subdistricts.*、communities.*、facilities.*）")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        name = p.name.lower()
        for stem in LAYER_STEMS:
            if not name.startswith(stem + "."):
                continue
            rest = name[len(stem):]
            allowed = VECTOR_EXTENSIONS + TABLE_EXTENSIONS + (STREET_EXTENSIONS if stem == "streets" else ())
            if rest not in allowed:
                continue
            if stem in found:
                raise LayerReadError(f"two files for {stem}: {found[stem].name} and {p.name}; keep one", path=folder)
            found[stem] = p
    return found


def read_meta(folder: str | Path) -> dict:
    """Read ``meta.json`` of a data folder (empty dict if absent)."""
    p = Path(folder) / "meta.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LayerReadError(f"meta.json is not valid JSON ({exc})", path=p) from exc

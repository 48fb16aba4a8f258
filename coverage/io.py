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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .errors import CRSError, GeometryError, LayerReadError, MissingColumnError, ValueInputError

__all__ = [
    "LAYER_STEMS",
    "VECTOR_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "COLUMN_ALIASES",
    "Skipped",
    "read_layer",
    "read_table_points",
    "find_layer_files",
    "normalise_columns",
    "validate_geometries",
    "classify_kind",
    "read_meta",
]

VECTOR_EXTENSIONS = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".kml")
TABLE_EXTENSIONS = (".csv", ".txt", ".xlsx", ".xls")
STREET_EXTENSIONS = (".osm", ".osm.xml", ".graphml", ".osm.pbf", ".pbf")
LAYER_STEMS = ("streets", "subdistricts", "communities", "facilities", "population", "buildings",
               "compounds", "candidates", "exclusions")

#: Accepted column names (lower-cased) for each normalised column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "名字", "机构名称", "单位名称", "社区名称", "街道名称", "name_zh", "mc"),
    "kind": ("kind", "type", "类型", "类别", "机构类型", "机构类别", "category", "lx"),
    "code": ("code", "代码", "编码", "区划代码", "统计用区划代码", "adcode", "dm"),
    "subdistrict": ("subdistrict", "street", "街道", "所属街道", "街道/乡镇", "乡镇", "所属乡镇", "township"),
    "population": ("population", "pop", "人口", "常住人口", "人口数", "户籍人口", "residents"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "address": ("address", "地址", "addr"),
}

#: Facility kinds. Order matters: the first pattern that matches the kind or the name wins.
KIND_PATTERNS: list[tuple[str, str]] = [
    ("centre", r"社区卫生服务中心|community health (service )?cent(re|er)|^cent(re|er)$|^chsc$"),
    ("station", r"社区卫生服务站|community health (service )?station|^station$|^chss$"),
    # township hospitals play the centre role in towns (乡镇卫生院)
    ("centre", r"乡镇卫生院|^卫生院$|township (health centre|hospital)"),
    ("village_clinic", r"卫生室|village clinic"),
    ("hospital", r"医院|hospital"),
    ("clinic", r"诊所|门诊|clinic|doctors"),
]


@dataclass
class Skipped:
    """A record of something repaired or left out, for ``summary.json`` ``skipped``.

    Attributes
    ----------
    layer : str
        Which layer (``facilities``, ``population``, ...).
    reason : str
        Machine-readable reason (``off_network``, ``invalid_geometry_repaired``, ...).
    count : int
        How many features.
    population : float
        Population concerned, where it applies.
    items : list
        Names or row numbers of the features (first 50).
    action : str
        What was done: ``dropped``, ``repaired``, ``kept`` (counted, e.g. as uncovered) or ``listed``.
    """

    layer: str
    reason: str
    count: int
    population: float = 0.0
    items: list = field(default_factory=list)
    action: str = "dropped"
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"layer": self.layer, "reason": self.reason, "count": int(self.count),
                "population": round(float(self.population), 3), "action": self.action,
                "message": self.message, "items": [str(i) for i in self.items[:50]]}


def _match_column(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    for a in aliases:
        if a in low:
            return low[a]
    return None


def normalise_columns(df: pd.DataFrame, wanted: tuple[str, ...] = ("name", "kind", "code", "subdistrict",
                                                                   "population", "address")) -> pd.DataFrame:
    """Rename Chinese or variant column names to the normalised ones.

    Parameters
    ----------
    df : DataFrame
    wanted : tuple of str
        Normalised names to look for (see :data:`COLUMN_ALIASES`).

    Returns
    -------
    DataFrame
        A copy with recognised columns renamed; other columns untouched.
    """
    rename = {}
    cols = [c for c in df.columns if c != getattr(df, "_geometry_column_name", None)]
    for target in wanted:
        if target in df.columns:
            continue
        src = _match_column(cols, COLUMN_ALIASES[target])
        if src is not None and src not in rename:
            rename[src] = target
    return df.rename(columns=rename)


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
    body = raw[header_len:]
    if not any(b > 127 for b in body):
        return None
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _read_text_table(path: Path) -> pd.DataFrame:
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xls"):
        try:
            return pd.read_excel(path)
        except Exception as exc:
            raise LayerReadError(f"cannot read as an Excel workbook ({exc})", path=path) from exc
    last: Exception | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=enc, sep=None, engine="python")
        except UnicodeDecodeError as exc:
            last = exc
        except Exception as exc:
            raise LayerReadError(f"cannot read as CSV ({exc})", path=path) from exc
    raise LayerReadError(f"is neither UTF-8 nor GBK text ({last})", path=path)


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
        raise LayerReadError(f"the {layer} table has no rows", path=path)
    df = normalise_columns(df, ("name", "kind", "code", "subdistrict", "population", "address", "lon", "lat"))
    for col in ("lon", "lat"):
        if col not in df.columns:
            raise MissingColumnError(f"no {col} column; name the coordinate columns lon/lat (or 经度/纬度). "
                                     f"Columns found: {list(df.columns)}", path=path)
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    bad = lon.isna() | lat.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueInputError(f"missing or non-numeric lon/lat ({df['lon'].iloc[row]!r}, {df['lat'].iloc[row]!r}) "
                              f"in {int(bad.sum())} row(s); fix or delete them", path=path, row=row + 2)
    _check_lonlat(lon.to_numpy(), lat.to_numpy(), path)
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs=4326)
    return _declare_coordinate_system(gdf, coordinate_system, path)


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, path: Path) -> None:
    """Refuse coordinates that are not lon/lat degrees, and spot swapped columns."""
    if (np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
        swapped = (np.abs(lon) <= 90).all() and (np.abs(lat) <= 180).all()
        row = int(np.flatnonzero((np.abs(lat) > 90) | (np.abs(lon) > 180))[0])
        hint = ("longitude and latitude look swapped: swap the columns" if swapped else
                "these are not degrees; projected coordinates need a layer format with a CRS (GeoPackage/Shapefile)")
        raise CRSError(f"coordinates out of range (lon={lon[row]}, lat={lat[row]}): {hint}", path=path, row=row + 2)
    # inside China longitudes are 73–135 and latitudes 18–54: a table entirely the other way round is swapped
    if len(lon) and (np.all((lon > 15) & (lon < 55)) and np.all((lat > 70) & (lat < 136))):
        raise CRSError(f"longitude and latitude look swapped (first row lon={lon[0]}, lat={lat[0]}): swap the columns",
                       path=path, row=2)


def _declare_coordinate_system(gdf: gpd.GeoDataFrame, system: str | None, path: Path) -> gpd.GeoDataFrame:
    if not system or system.lower() in ("wgs84", "epsg:4326", "4326"):
        return gdf
    from .chinese_crs import normalise_coordinate_system, to_wgs84

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
    if not path.exists():
        raise LayerReadError(f"{kind} file not found", path=path)
    if path.stat().st_size == 0:
        raise LayerReadError(f"the {kind} file is empty (0 bytes)", path=path)
    ext = path.suffix.lower()
    if ext in TABLE_EXTENSIONS:
        return read_table_points(path, coordinate_system or "wgs84", layer=kind)
    if ext == ".zip":
        return _read_zip(path, kind, coordinate_system)
    if ext not in VECTOR_EXTENSIONS:
        raise LayerReadError(f"unsupported file type {ext!r} for {kind}; use one of "
                             f"{', '.join(VECTOR_EXTENSIONS + TABLE_EXTENSIONS)}", path=path)
    kwargs: dict[str, Any] = {}
    if ext == ".shp":
        enc = _shapefile_encoding(path)
        if enc:
            kwargs["encoding"] = enc
    try:
        gdf = gpd.read_file(path, **kwargs)
    except Exception as exc:
        raise LayerReadError(f"cannot read as a {ext} vector layer ({type(exc).__name__}: {exc}); is the file "
                             "what its extension says?", path=path) from exc
    if len(gdf) == 0:
        raise LayerReadError(f"the {kind} layer has no features", path=path)
    if gdf.crs is None:
        raise CRSError(f"the {kind} layer has no coordinate reference system; add the .prj file (Shapefile) or "
                       "save it with a CRS (EPSG:4326, EPSG:4490 or a projected CRS)", path=path)
    gdf = normalise_columns(gdf)
    if coordinate_system:
        gdf = _declare_coordinate_system(gdf.to_crs(4326) if gdf.crs.is_geographic else gdf, coordinate_system, path)
    elif pyproj.CRS(gdf.crs).is_geographic:
        b = gdf.total_bounds
        _check_lonlat(np.array([b[0], b[2]]), np.array([b[1], b[3]]), path)
    return gdf


def _read_zip(path: Path, kind: str, coordinate_system: str | None) -> gpd.GeoDataFrame:
    """Read a zipped Shapefile (or other layer) after a safe extraction."""
    import tempfile

    from .safety import safe_extract_zip

    tmp = Path(tempfile.mkdtemp(prefix="coverage_zip_"))
    files = safe_extract_zip(path, tmp)
    layers = [f for f in files if f.suffix.lower() in (".shp", ".geojson", ".gpkg", ".json")]
    if not layers:
        raise LayerReadError(f"the zip holds no .shp/.geojson/.gpkg for {kind} (found: "
                             f"{[f.name for f in files][:10]})", path=path)
    if len(layers) > 1:
        shp = [f for f in layers if f.suffix.lower() == ".shp"]
        layers = shp[:1] if len(shp) == 1 else layers
        if len(layers) > 1:
            raise LayerReadError(f"the zip holds several layers {[f.name for f in layers]}; zip one layer per file",
                                 path=path)
    return read_layer(layers[0], kind=kind, coordinate_system=coordinate_system)


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
    gdf = gdf.copy()
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        names = gdf["name"][missing].tolist() if "name" in gdf.columns else list(np.flatnonzero(missing))
        skipped.append(Skipped(kind, "empty_geometry", int(missing.sum()), items=names,
                               population=_pop_sum(gdf, missing), message="features without geometry were left out"))
        gdf = gdf.loc[~missing]
        geoms = gdf.geometry.values
    if len(gdf) == 0:
        raise GeometryError(f"the {kind} layer has no feature with a geometry", path=path)
    types = pd.Series(shapely.get_type_id(geoms))
    families = {"point": {0, 4}, "line": {1, 2, 5}, "polygon": {3, 6}}
    if expect == "polygon":
        bad = ~types.isin(families["polygon"]).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise GeometryError(f"{kind} must be polygons, but feature {row} is a "
                                f"{shapely.get_type_id(geoms[row]) and geoms[row].geom_type}; "
                                "export the boundary layer, not its points or lines", path=path, row=row)
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            names = gdf["name"][invalid].tolist() if "name" in gdf.columns else list(np.flatnonzero(invalid))
            fixed = shapely.make_valid(geoms[invalid])
            # make_valid may return collections with slivers of lines: keep the polygonal part
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
            geoms = geoms.copy()
            geoms[invalid] = fixed
            gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
            skipped.append(Skipped(kind, "invalid_geometry_repaired", int(invalid.sum()), items=names,
                                   action="repaired", message="self-intersecting or invalid polygons repaired with make_valid"))
    elif expect == "point":
        poly = types.isin(families["polygon"] | families["line"]).to_numpy()
        multi = (types == 4).to_numpy()
        if poly.any() or multi.any():
            geoms = geoms.copy()
            geoms[poly | multi] = shapely.point_on_surface(geoms[poly | multi])
            gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
            skipped.append(Skipped(kind, "converted_to_point", int((poly | multi).sum()), action="repaired",
                                   message="polygons, lines or multipoints replaced by a point on their surface"))
    elif expect == "line":
        bad = ~types.isin(families["line"]).to_numpy()
        if bad.all():
            raise GeometryError(f"{kind} must be lines (street centre-lines)", path=path)
    return gdf, skipped


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _pop_sum(gdf: pd.DataFrame, mask: np.ndarray) -> float:
    if "population" not in gdf.columns:
        return 0.0
    return float(pd.to_numeric(gdf["population"], errors="coerce")[mask].fillna(0).sum())


def classify_kind(kind: object, name: object = None) -> str:
    """Map a facility's kind (and name) to ``centre``, ``station`` or another kind.

    Parameters
    ----------
    kind : object
        The ``kind``/``类型`` value: ``centre``, ``station``, ``社区卫生服务中心``, ``医院``...
    name : object, optional
        The facility's name, used when the kind is empty or generic
        (a name ending in 社区卫生服务中心 is a centre).

    Returns
    -------
    str
        ``centre``, ``station``, ``village_clinic``, ``hospital``, ``clinic``,
        or the kind lower-cased (``other`` if empty).
    """
    texts = []
    for t in (kind, name):
        if t is None or (isinstance(t, float) and math.isnan(t)):
            continue
        texts.append(str(t).strip().lower())
    for text in texts:
        for label, pattern in KIND_PATTERNS:
            if re.search(pattern, text):
                return label
    return texts[0] if texts and texts[0] else "other"


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
                             "communities.*, facilities.*)", path=folder)
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

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
import unicodedata
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
    "code_text",
    "population_numbers",
    "validate_geometries",
    "classify_kind",
    "read_meta",
    "sniff_content",
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
    message : str
        One sentence for the report: what happened and what to do.
    area_m2 : float, optional
        Area concerned (community overlaps and gaps), square metres.
    """

    layer: str
    reason: str
    count: int
    population: float = 0.0
    items: list = field(default_factory=list)
    action: str = "dropped"
    message: str = ""
    area_m2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``area_m2`` only for records about areas: overlaps, gaps)."""
        out = {"layer": self.layer, "reason": self.reason, "count": int(self.count),
               "population": round(float(self.population), 3), "action": self.action,
               "message": self.message, "items": [str(i) for i in self.items[:50]]}
        if self.area_m2 is not None:
            out["area_m2"] = round(float(self.area_m2), 1)
        return out


def _match_column(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    for a in aliases:
        if a in low:
            return low[a]
    return None


def code_text(value: object) -> str | None:
    """A statistical code (统计用区划代码) as text, whatever the file stored.

    Codes must stay text: their leading digits matter, and Excel stores them as
    floats (``1.50302001002e11``) or as text with a trailing ``.0``. Full-width
    digits and spaces are repaired (NFKC, spaces dropped).

    Parameters
    ----------
    value : object
        A cell as read (str, int, float, None, NaN or ``pd.NA``).

    Returns
    -------
    str or None
        The code as text; None for a blank cell.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return text or None


def population_numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Head counts from cells as people type them, and which cells are not numbers.

    Numbers pass as they are; text is read after NFKC (full-width digits and
    commas), with a trailing 人 dropped and thousands separators between digit
    groups removed (``"12,345"``, ``"12 345"``, ``"１２，３４５人"``).

    Parameters
    ----------
    raw : pandas.Series
        The population column as read.

    Returns
    -------
    values : ndarray of float
        NaN for blank cells and for cells that are not numbers.
    not_number : ndarray of bool
        Cells with text that is not a number (callers name the first one's row).
        Negative and infinite values are returned as they are, for the caller to refuse.
    """
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, copy=True)
    not_number = np.zeros(len(raw), dtype=bool)
    todo = np.flatnonzero(np.isnan(values) & raw.notna().to_numpy())  # text cells only: numbers pass as they are
    if len(todo):
        text = pd.Series([unicodedata.normalize("NFKC", str(v)).strip() for v in raw.iloc[todo].tolist()],
                         dtype="string")
        cleaned = (text.str.replace(r"\s*人$", "", regex=True)
                   .str.replace(r"(?<=\d)[,\s](?=\d{3}(\D|$))", "", regex=True))
        parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
        values[todo] = parsed
        not_number[todo] = np.isnan(parsed) & (text != "").to_numpy(dtype=bool)
    return values, not_number


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


#: Leading bytes of binary formats: (magic, description, family).
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"SQLite format 3\x00", "a GeoPackage/SQLite database", "gpkg"),
    (b"PK\x03\x04", "a zip archive (a zipped Shapefile, or an .xlsx workbook)", "zip"),
    (b"PK\x05\x06", "an empty zip archive", "zip"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook", "xls"),
    (b"\x00\x00\x27\x0a", "the .shp part of a Shapefile", "shp"),
    (b"fgb\x03", "a FlatGeobuf file", "fgb"),
    (b"\x1f\x8b", "a gzip-compressed file", "gzip"),
    (b"BZh", "a bzip2-compressed file", "bzip2"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "archive"),
    (b"Rar!", "a RAR archive", "archive"),
    (b"%PDF", "a PDF document", "document"),
    (b"\x89PNG", "a PNG image", "image"),
    (b"\xff\xd8\xff", "a JPEG image", "image"),
    (b"II*\x00", "a TIFF image (a raster, not a vector layer)", "image"),
    (b"MM\x00*", "a TIFF image (a raster, not a vector layer)", "image"),
)

#: Content families each extension may hold.
_EXPECTED: dict[str, tuple[str, ...]] = {
    ".geojson": ("geojson", "json"), ".json": ("geojson", "json"), ".gpkg": ("gpkg",), ".shp": ("shp",),
    ".zip": ("zip",), ".fgb": ("fgb",), ".kml": ("kml", "xml"), ".csv": ("text",), ".txt": ("text",),
    ".xlsx": ("zip",), ".xls": ("xls", "zip"),
}
_FAMILY_EXT = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".shp", "fgb": ".fgb", "kml": ".kml",
               "text": ".csv", "xls": ".xls", "osm_xml": ".osm", "graphml": ".graphml"}


def sniff_content(path: str | Path, head_bytes: int = 4096) -> tuple[str, str]:
    """Say what a file holds, from its first bytes, whatever its extension.

    Parameters
    ----------
    path : path
    head_bytes : int
        How much to read.

    Returns
    -------
    family : str
        ``geojson``, ``json``, ``osm_json``, ``osm_xml``, ``kml``, ``graphml``, ``html``,
        ``xml``, ``text``, ``gpkg``, ``zip``, ``xls``, ``shp``, ``fgb``, ``gzip``, ``bzip2``,
        ``archive``, ``document``, ``image``, ``empty`` or ``binary``.
    description : str
        For messages, e.g. ``"CSV/text"`` or ``"a PDF document"``.
    """
    with open(path, "rb") as fh:
        head = fh.read(head_bytes)
    if not head.strip():
        return "empty", "nothing (the file is empty or blank)"
    for magic, label, family in _MAGIC:
        if head.startswith(magic):
            return family, label
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) > 3 and (head[1:2] == b"\x00" or head[0:1] == b"\x00")):
        return "binary", "UTF-16/binary data"
    text = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError as exc:
            # the head may end in the middle of a multi-byte character
            if exc.start >= len(head) - 4:
                text = head[:exc.start].decode(enc, errors="ignore")
                break
    if text is None or "\x00" in text:
        return "binary", "binary data of an unknown type"
    t = text.lstrip().lstrip("\x1e").lower()   # RS: GeoJSON text sequences (RFC 8142)
    if t.startswith(("{", "[")):
        if '"featurecollection"' in t or '"feature"' in t or '"geometry"' in t or '"coordinates"' in t:
            return "geojson", "GeoJSON"
        if '"elements"' in t or '"osm3s"' in t:
            return "osm_json", "OSM/Overpass JSON (not OSM XML or GeoJSON)"
        return "json", "JSON without features (not GeoJSON)"
    if t.startswith("<"):
        if "<html" in t or "<!doctype html" in t or "<body" in t:
            return "html", "an HTML web page (a failed download or an error page?)"
        if "<osm" in t:
            return "osm_xml", "OSM XML"
        if "<kml" in t:
            return "kml", "KML"
        if "<graphml" in t:
            return "graphml", "GraphML"
        return "xml", "XML"
    return "text", "CSV/text"


def _mismatch(path: Path, kind: str, family: str, description: str) -> LayerReadError:
    """The error for a file whose content is not what its extension says."""
    ext = path.suffix.lower()
    if family == "html":
        advice = "download or export the file again"
    elif family in _FAMILY_EXT:
        advice = f"rename it to {path.stem}{_FAMILY_EXT[family]} if that is what it is, or export the {kind} layer again"
    elif family == "zip" and ext in (".geojson", ".json", ".gpkg", ".shp"):
        advice = f"rename it to {path.stem}.zip (a zipped Shapefile is read directly)"
    else:
        advice = f"export the {kind} layer as GeoJSON, GeoPackage or a zipped Shapefile"
    return LayerReadError(f"is not a {ext} file: its content looks like {description}; {advice}", path=path)


def _check_content(path: Path, kind: str) -> None:
    """Refuse a file whose first bytes are clearly another format than its extension says."""
    ext = path.suffix.lower()
    expected = _EXPECTED.get(ext)
    if expected is None:
        return
    try:
        family, description = sniff_content(path)
    except OSError as exc:
        raise LayerReadError(f"cannot open the {kind} file ({exc})", path=path) from exc
    if family == "empty":
        raise LayerReadError(f"the {kind} file is blank; copy or export it again", path=path)
    if family in expected:
        return
    if ext in (".csv", ".txt") and family in ("geojson", "json", "xml", "kml", "osm_xml", "osm_json"):
        raise _mismatch(path, kind, family, description)
    if ext in (".csv", ".txt"):
        if family in ("zip", "xls"):
            raise LayerReadError(f"is an Excel workbook, not CSV text; rename it to {path.stem}"
                                 f"{'.xlsx' if family == 'zip' else '.xls'} or save it as CSV", path=path)
        if family != "binary":
            raise _mismatch(path, kind, family, description)
        return  # odd encodings are left to the CSV reader
    raise _mismatch(path, kind, family, description)


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
                                 "name,kind,lon,lat", path=path) from exc
        except Exception as exc:
            raise LayerReadError(f"cannot read as CSV ({type(exc).__name__}: {exc}); save it from Excel/WPS as "
                                 "\"CSV UTF-8 (comma delimited)\"", path=path) from exc
    raise LayerReadError(f"is neither UTF-8 nor GBK text ({last}); save it as \"CSV UTF-8\"", path=path)


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
        raise LayerReadError(f"the {layer} table has no rows; add one row per feature under the header", path=path)
    df.columns = [str(c) for c in df.columns]
    df = normalise_columns(df, ("name", "kind", "code", "subdistrict", "population", "address", "lon", "lat"))
    for col in ("lon", "lat"):
        if col not in df.columns:
            raise MissingColumnError(f"no {col} column; name the coordinate columns lon/lat (or 经度/纬度). "
                                     f"Columns found: {list(df.columns)}", path=path)
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
        raise LayerReadError(f"{kind} file not found; check the name and folder", path=path)
    if path.is_dir():
        raise LayerReadError(f"is a folder, not a {kind} file", path=path)
    if path.stat().st_size == 0:
        raise LayerReadError(f"the {kind} file is empty (0 bytes); the copy or download probably failed — "
                             "copy or export it again", path=path)
    ext = path.suffix.lower()
    if ext not in VECTOR_EXTENSIONS + TABLE_EXTENSIONS:
        raise LayerReadError(f"unsupported file type {ext!r} for {kind}; use one of "
                             f"{', '.join(VECTOR_EXTENSIONS + TABLE_EXTENSIONS)}", path=path)
    _check_content(path, kind)
    if ext in TABLE_EXTENSIONS:
        return read_table_points(path, coordinate_system or "wgs84", layer=kind)
    if ext == ".zip":
        return _read_zip(path, kind, coordinate_system)
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
        from .safety import check_xml_safe
        check_xml_safe(path)
    try:
        gdf = gpd.read_file(path, **kwargs)
    except Exception as exc:
        _, description = _sniff_quietly(path)
        detail = str(exc).split(";")[0].replace(str(path), path.name)
        raise LayerReadError(f"cannot read as a {ext} {kind} layer ({type(exc).__name__}: {detail}); its content "
                             f"looks like {description}. Export the layer again as GeoJSON, GeoPackage or a zipped "
                             "Shapefile", path=path) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise GeometryError(f"the {kind} file has attributes but no geometry; export it as a spatial layer "
                            "(or a CSV with lon/lat columns)", path=path)
    if len(gdf) == 0:
        raise LayerReadError(f"the {kind} layer has no features; export it again with its features (was a filter "
                             "or an empty selection active?)", path=path)
    if gdf.crs is None:
        if ext == ".shp":
            msg = (f"the {kind} Shapefile has no coordinate reference system: {path.stem}.prj is missing; copy the "
                   ".prj beside it, or save the layer again from GIS with its CRS (EPSG:4490 CGCS2000, EPSG:4326 "
                   "WGS84 or the projected CRS it was drawn in)")
        else:
            msg = (f"the {kind} layer has no coordinate reference system; save it again with its CRS "
                   "(EPSG:4490 CGCS2000, EPSG:4326 WGS84 or the projected CRS it was drawn in)")
        raise CRSError(msg, path=path)
    try:
        crs = pyproj.CRS(gdf.crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"the {kind} layer's coordinate reference system is not understood ({exc}); save it "
                       "again with an EPSG code", path=path) from exc
    gdf = normalise_columns(gdf)
    if crs.is_geographic:
        _check_vector_lonlat(gdf, path)
    if coordinate_system:
        gdf = _declare_coordinate_system(gdf.to_crs(4326) if crs.is_geographic else gdf, coordinate_system, path)
    return gdf


def _sniff_quietly(path: Path) -> tuple[str, str]:
    try:
        return sniff_content(path)
    except OSError:
        return "binary", "unreadable data"


def _read_zip(path: Path, kind: str, coordinate_system: str | None) -> gpd.GeoDataFrame:
    """Read a zipped Shapefile (or other layer) after a safe extraction; nothing is left on disk."""
    import tempfile

    from .errors import CoverageInputError
    from .safety import safe_extract_zip

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
                            path=f"{path} › {rel[layers[0]]}", row=exc.row) from exc


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
    types = pd.Series(shapely.get_type_id(geoms))
    families = {"point": {0, 4}, "line": {1, 2, 5}, "polygon": {3, 6}}
    if expect == "polygon":
        bad = ~types.isin(families["polygon"]).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            counts = pd.Series([g.geom_type for g in geoms[bad]]).value_counts()
            found = ", ".join(f"{n} {t}" for t, n in counts.items())
            raise GeometryError(f"{kind} must be polygons, but {found} found (first: {_label(gdf, gdf.index[i])}); "
                                "export the boundary layer, not its points or lines", path=path, row=gdf.index[i])
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
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
    elif expect == "point":
        poly = types.isin(families["polygon"] | families["line"]).to_numpy()
        multi = (types == 4).to_numpy()
        if poly.any() or multi.any():
            geoms = geoms.copy()
            geoms[poly | multi] = shapely.point_on_surface(geoms[poly | multi])
            gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
            skipped.append(Skipped(kind, "converted_to_point", int((poly | multi).sum()), action="repaired",
                                   items=_labels(gdf, poly | multi),
                                   message="polygons, lines or multipoints replaced by a point on their surface"))
    elif expect == "line":
        bad = ~types.isin(families["line"]).to_numpy()
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

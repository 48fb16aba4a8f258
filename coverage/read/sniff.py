"""What a file really is, from its first bytes: refuses a file whose content does not match its extension, naming both."""

from __future__ import annotations

from pathlib import Path

from coverage.errors import LayerReadError

__all__ = ["sniff_content"]

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


def _sniff_quietly(path: Path) -> tuple[str, str]:
    try:
        return sniff_content(path)
    except OSError:
        return "binary", "unreadable data"

"""Chinese coordinate systems: GCJ-02 (高德/腾讯), BD-09 (百度), CGCS2000.

Most Chinese web maps and POI exports (Amap, Tencent, Baidu) publish
coordinates that are deliberately offset from WGS84 by a few hundred metres.
A facility layer taken from them and read as WGS84 lands in the wrong block,
which silently breaks every 500 m / 15-minute coverage figure. This module
converts those systems to WGS84, recognises CGCS2000 Gauss-Krüger grids, and
diagnoses an undeclared offset by comparing a point layer with the streets.

The GCJ-02 forward formula is the widely published "eviltransform" /
coordTransform algorithm (Krasovsky ellipsoid constants, polynomial-sine
perturbation). It has no closed-form inverse, so :func:`gcj02_to_wgs84` solves
it by fixed-point iteration to well below 1 cm. BD-09 is defined on top of
GCJ-02 and is inverted the same way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike

from coverage.errors import CRSError, NetworkError, ValueInputError

__all__ = [
    "COORDINATE_SYSTEMS",
    "OffsetDiagnosis",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "detect_offset",
    "gauss_kruger_zone_crs",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "is_cgcs2000_gauss_kruger",
    "normalise_coordinate_system",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Constants of the published GCJ-02 algorithm (Krasovsky 1940 ellipsoid).
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# BD-09 constant: pi * 3000 / 180.
_X_PI = math.pi * 3000.0 / 180.0

# Iterative inverses stop when the correction is below this many degrees
# (1e-10 deg is ~0.01 mm), far inside the 1 cm requirement.
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30

# The usual rough "mainland China" box in which GCJ-02 differs from WGS84.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

COORDINATE_SYSTEMS: dict[str, tuple[str, ...]] = {
    "wgs84": (
        "wgs84", "wgs-84", "wgs 84", "wgs1984", "epsg:4326", "4326", "gps",
        "crs84", "ogc:crs84", "wgs84坐标系", "gps坐标",
    ),
    "gcj02": (
        "gcj02", "gcj-02", "gcj 02", "amap", "gaode", "autonavi", "高德",
        "高德地图", "腾讯", "腾讯地图", "tencent", "qq", "火星", "火星坐标",
        "火星坐标系", "国测局", "国测局坐标", "国测局坐标系",
    ),
    "bd09": (
        "bd09", "bd-09", "bd 09", "bd09ll", "baidu", "百度", "百度地图",
        "百度坐标", "百度坐标系",
    ),
    "cgcs2000": (
        "cgcs2000", "cgcs 2000", "epsg:4490", "4490", "2000国家大地坐标系",
        "国家2000", "国家2000坐标系", "天地图", "tianditu",
    ),
}
"""Accepted coordinate-system declarations: canonical name -> aliases."""

_ALIAS_TO_CANONICAL: dict[str, str] = {
    alias: canonical for canonical, aliases in COORDINATE_SYSTEMS.items() for alias in aliases
}

# Lon/lat CRSs whose numbers may legitimately carry GCJ-02 / BD-09 values
# (exporters commonly label offset coordinates as EPSG:4326).
_LONLAT_EPSG = {4326, 4490}


# --------------------------------------------------------------------------
# Point conversions
# --------------------------------------------------------------------------


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    """Broadcast inputs to float arrays; remember whether both were scalars."""
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    scalar = lon_a.ndim == 0 and lat_a.ndim == 0
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    return lon_a.astype(float, copy=True), lat_a.astype(float, copy=True), scalar


def _out(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> tuple[Any, Any]:
    """Return plain floats for scalar input, arrays otherwise."""
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray | bool:
    """Tell whether points lie outside the rough mainland-China box.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray of bool, or bool
        True where GCJ-02 is taken to equal WGS84.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    result = (
        (lon_a < _CHINA_LON[0]) | (lon_a > _CHINA_LON[1])
        | (lat_a < _CHINA_LAT[0]) | (lat_a > _CHINA_LAT[1])
    )
    return bool(result) if scalar else result


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 offset (degrees) at WGS84 points; zero outside China."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: np.ndarray,
    lat: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x) = target`` by fixed-point iteration.

    Both forward maps are the identity plus a slowly varying offset of a few
    hundred metres, so ``x <- x - (forward(x) - target)`` contracts fast
    (about 1e-4 per step); a handful of iterations reach 1e-10 degrees.
    """
    x, y = start[0].copy(), start[1].copy()
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x -= ex
        y -= ey
        finite = np.isfinite(ex) & np.isfinite(ey)
        if not finite.any():
            break
        if max(np.abs(ex[finite]).max(), np.abs(ey[finite]).max()) < _INVERSE_TOL_DEG:
            break
    return x, y


def _wgs_to_gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_approx(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published one-step BD-09 inverse (error up to a few decimetres)."""
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to GCJ-02 (高德/腾讯).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees (scalars or broadcastable arrays).

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for scalar input
        GCJ-02 coordinates; points outside mainland China are unchanged.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_wgs_to_gcj(lon_a, lat_a), scalar)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 lon/lat to WGS84 by iterating the forward formula.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for scalar input
        WGS84 coordinates whose forward conversion reproduces the input to
        better than 1e-9 degrees (sub-millimetre).
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_invert(_wgs_to_gcj, lon_a, lat_a, (lon_a, lat_a)), scalar)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 lon/lat to BD-09 (百度).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for scalar input
        BD-09 coordinates. Baidu applies this step everywhere, so unlike
        GCJ-02 it is not skipped outside China.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_to_bd(lon_a, lat_a), scalar)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 lon/lat to GCJ-02, refining the one-step formula iteratively.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for scalar input
        GCJ-02 coordinates that map back onto the input to sub-millimetre.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    start = _bd_to_gcj_approx(lon_a, lat_a)
    return _out(*_invert(_gcj_to_bd, lon_a, lat_a, start), scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for scalar input
        BD-09 coordinates.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_to_bd(*_wgs_to_gcj(lon_a, lat_a)), scalar)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 lon/lat to WGS84 (via GCJ-02, both steps iterative).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for scalar input
        WGS84 coordinates.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    g_lon, g_lat = _invert(_gcj_to_bd, lon_a, lat_a, _bd_to_gcj_approx(lon_a, lat_a))
    return _out(*_invert(_wgs_to_gcj, g_lon, g_lat, (g_lon, g_lat)), scalar)


_TO_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], tuple[Any, Any]]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


# --------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------


def _accepted_names() -> str:
    return "; ".join(f"{c}: {', '.join(a)}" for c, a in COORDINATE_SYSTEMS.items())


def normalise_coordinate_system(name: str) -> str:
    """Map a declared coordinate system (any alias, any case) to its canonical name.

    Parameters
    ----------
    name : str
        A declaration such as ``"GCJ-02"``, ``"高德"``, ``"EPSG:4326"``.

    Returns
    -------
    str
        One of ``"wgs84"``, ``"gcj02"``, ``"bd09"``, ``"cgcs2000"``.

    Raises
    ------
    CRSError
        If the name is not a string or not a known alias; the message lists
        every accepted name.
    """
    if not isinstance(name, str):
        raise CRSError(
            f"coordinate_system must be a string, got {type(name).__name__} {name!r}; "
            f"accepted names are {_accepted_names()}"
        )
    key = " ".join(name.strip().lower().split())
    squashed = key.replace("-", "").replace("_", "").replace(" ", "")
    for candidate in (key, key.replace("_", "-"), squashed):
        if candidate in _ALIAS_TO_CANONICAL:
            return _ALIAS_TO_CANONICAL[candidate]
    raise CRSError(
        f"unknown coordinate_system {name!r}; accepted names are {_accepted_names()}"
    )


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------


def _layer(name: str | None) -> str:
    return f"layer {name!r}" if name else "layer"


def _check_lonlat(gdf: gpd.GeoDataFrame, system: str, name: str | None) -> None:
    """Refuse coordinates that cannot be longitude/latitude degrees."""
    coords, index = shapely.get_coordinates(gdf.geometry.values, return_index=True)
    if coords.size == 0:
        return
    x, y = coords[:, 0], coords[:, 1]
    bad = ~np.isfinite(x) | ~np.isfinite(y) | (np.abs(x) > 180.0) | (np.abs(y) > 90.0)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    row = gdf.index[index[first]]
    hint = "declare the layer's real CRS (e.g. a .prj) or convert it to longitude/latitude degrees"
    swapped = (
        np.all((x >= _CHINA_LAT[0]) & (x <= _CHINA_LAT[1]))
        and np.all((y >= _CHINA_LON[0]) & (y <= _CHINA_LON[1]))
    )
    if swapped:
        hint = "longitude and latitude look swapped; put longitude (经度) first"
    elif np.nanmax(np.abs(coords[:, :2])) > 1000.0:
        hint = "these look like projected metres, not degrees; " + hint
    raise CRSError(
        f"{_layer(name)} is declared {system} but its coordinates are not plausible "
        f"longitude/latitude degrees ({int(bad.sum())} of {len(x)} vertices outside "
        f"±180/±90 or not finite; x {np.nanmin(x):.6g}..{np.nanmax(x):.6g}, "
        f"y {np.nanmin(y):.6g}..{np.nanmax(y):.6g}); {hint}",
        row=row,
    )


def _convert_coords(
    func: Callable[[ArrayLike, ArrayLike], tuple[Any, Any]],
) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a lon/lat converter for shapely.transform, keeping any z column."""

    def apply(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0], out[:, 1] = func(coords[:, 0], coords[:, 1])
        return out

    return apply


def to_wgs84(
    gdf: gpd.GeoDataFrame, coordinate_system: str, name: str | None = None
) -> gpd.GeoDataFrame:
    """Return a copy of a layer in EPSG:4326 with Chinese map offsets removed.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer. For ``gcj02``/``bd09`` its CRS must be unset or a lon/lat
        label (EPSG:4326/4490) and its coordinates lon/lat degrees. For
        ``wgs84``/``cgcs2000`` an existing CRS governs and is reprojected with
        pyproj; an unset CRS is taken to be the declared one.
    coordinate_system : str
        Declaration (any alias accepted by :func:`normalise_coordinate_system`).
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326. Every vertex of every geometry (points, lines,
        polygons, multi-parts, collections; z kept) is converted.
        ``attrs["chinese_crs"]`` records the source system, the number of
        vertices and how many of them lay outside China (left unchanged).

    Raises
    ------
    CRSError
        Unknown declaration, a projected or non-WGS84 CRS on a GCJ-02/BD-09
        layer, or coordinates that are not plausible lon/lat degrees.
    """
    system = normalise_coordinate_system(coordinate_system)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise CRSError(f"{_layer(name)}: expected a GeoDataFrame, got {type(gdf).__name__}")
    out = gdf.copy()
    n_vertices = int(shapely.get_num_coordinates(out.geometry.values).sum())

    if system in ("wgs84", "cgcs2000"):
        declared = 4326 if system == "wgs84" else 4490
        out = out.set_crs(declared) if out.crs is None else out
        if not out.crs.is_geographic:
            out = out.to_crs(4326)
        _check_lonlat(out, system, name)
        out = out.to_crs(4326) if out.crs.to_epsg() != 4326 else out
        out.attrs["chinese_crs"] = {
            "source": system, "vertices": n_vertices, "out_of_china_vertices": 0,
        }
        return out

    if out.crs is not None and not _is_lonlat_label(out.crs):
        raise CRSError(
            f"{_layer(name)} is declared {system} (longitude/latitude degrees) but has CRS "
            f"{out.crs.to_string()!r}; GCJ-02/BD-09 exist only as lon/lat: remove the .prj "
            f"or set it to EPSG:4326, or drop the coordinate_system declaration"
        )
    _check_lonlat(out, system, name)
    coords = shapely.get_coordinates(out.geometry.values)
    n_outside = int(np.count_nonzero(out_of_china(coords[:, 0], coords[:, 1])))
    out = out.set_crs(4326, allow_override=True)
    out[out.geometry.name] = gpd.GeoSeries(
        shapely.transform(out.geometry.values, _convert_coords(_TO_WGS84[system]), include_z=None),
        index=out.index,
        crs=4326,
    )
    out.attrs["chinese_crs"] = {
        "source": system,
        "vertices": n_vertices,
        "out_of_china_vertices": n_outside,
    }
    return out


def _is_lonlat_label(crs: pyproj.CRS) -> bool:
    """True for CRSs whose numbers are plain WGS84-like lon/lat degrees."""
    epsg = crs.to_epsg()
    if epsg in _LONLAT_EPSG:
        return True
    return crs.equals(pyproj.CRS.from_user_input("OGC:CRS84"))


# --------------------------------------------------------------------------
# Gauss-Krüger
# --------------------------------------------------------------------------

_GK_EPSG_RANGE = range(4491, 4555)


def _param(crs: pyproj.CRS, wanted: str) -> float | None:
    op = crs.coordinate_operation
    if op is None:
        return None
    for p in op.params:
        if p.name.lower() == wanted.lower():
            return float(p.value)
    return None


@functools.lru_cache(maxsize=1)
def _gk_table() -> dict[tuple[int, int], int]:
    """(zone width, central meridian) -> EPSG code of the CM-style CGCS2000 GK CRS.

    Built from pyproj's EPSG database so no code is hard-wired.
    """
    table: dict[tuple[int, int], int] = {}
    for code in _GK_EPSG_RANGE:
        crs = pyproj.CRS.from_epsg(code)
        if "CM" not in crs.name:  # the zone-prefixed variants share CMs
            continue
        width = 3 if "3-degree" in crs.name else 6
        cm = _param(crs, "Longitude of natural origin")
        if cm is not None:
            table[(width, round(cm))] = code
    return table


def is_cgcs2000_gauss_kruger(crs: Any) -> bool:
    """Tell whether a CRS is a CGCS2000 Gauss-Krüger grid (EPSG:4491-4554).

    Parameters
    ----------
    crs : pyproj.CRS, str, int or None
        Anything :meth:`pyproj.CRS.from_user_input` accepts (EPSG code, WKT
        from a .prj, ...). ``None`` gives False.

    Returns
    -------
    bool
        True for the 3° and 6° zones with or without the zone-number false
        easting, also when given as WKT that pyproj cannot match to an EPSG
        code but that has the same datum and projection parameters.

    Raises
    ------
    CRSError
        If ``crs`` cannot be parsed as a CRS at all.
    """
    if crs is None:
        return False
    try:
        crs = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"cannot parse CRS {crs!r}: {exc}; give an EPSG code or WKT") from exc
    if crs.to_epsg() in _GK_EPSG_RANGE:
        return True
    # Structural match for .prj WKT that does not resolve to an EPSG code.
    if not crs.is_projected or crs.datum is None or "2000" not in crs.datum.name:
        return False
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return False
    cm = _param(crs, "Longitude of natural origin")
    k = _param(crs, "Scale factor at natural origin")
    fe = _param(crs, "False easting")
    if cm is None or k is None or fe is None or abs(k - 1.0) > 1e-12:
        return False
    if not (75 <= cm <= 135 and abs(cm / 3 - round(cm / 3)) < 1e-9):
        return False
    prefix = round((fe - 500000.0) / 1e6)
    if abs(fe - 500000.0 - prefix * 1e6) > 1e-6:
        return False
    # A zone-number false easting must agree with the central meridian.
    if prefix == 0:
        return True
    if 25 <= prefix <= 45:
        return round(cm) == 3 * prefix
    return 13 <= prefix <= 23 and round(cm) == 6 * prefix - 3


def gauss_kruger_zone_crs(lon: float, zone_width: int = 3) -> pyproj.CRS:
    """CGCS2000 Gauss-Krüger CRS (central-meridian form, false easting 500 km) for a longitude.

    Parameters
    ----------
    lon : float
        Longitude in degrees east (73°E-136.5°E for 3° zones).
    zone_width : {3, 6}
        Zone width in degrees. 3° zones are centred on multiples of 3°
        (Wuhai, ~106.8°E, falls in CM 108°E); 6° zone n spans
        (6n-6, 6n] °E with CM 6n-3.

    Returns
    -------
    pyproj.CRS
        E.g. ``EPSG:4545`` (CGCS2000 / 3-degree Gauss-Kruger CM 108E) for 106.8°E.

    Raises
    ------
    CRSError
        Zone width other than 3 or 6, or a longitude outside China's GK zones.
    """
    if zone_width not in (3, 6):
        raise CRSError(f"zone_width must be 3 or 6 (degrees), got {zone_width!r}")
    if not np.isfinite(lon):
        raise CRSError(f"longitude must be a finite number of degrees, got {lon!r}")
    if zone_width == 3:
        cm = 3 * math.floor((lon + 1.5) / 3.0)
    else:
        cm = 6 * (math.floor(lon / 6.0) + 1) - 3
    code = _gk_table().get((zone_width, cm))
    if code is None:
        cms = sorted(c for w, c in _gk_table() if w == zone_width)
        raise CRSError(
            f"longitude {lon}° has no CGCS2000 {zone_width}° Gauss-Krüger zone "
            f"(central meridians {cms[0]}°E-{cms[-1]}°E); check that the value is a "
            f"longitude in degrees east"
        )
    return pyproj.CRS.from_epsg(code)


# --------------------------------------------------------------------------
# Offset detection
# --------------------------------------------------------------------------

_SYSTEM_LABEL = {
    "gcj02": ("GCJ-02（高德/腾讯）", "GCJ-02 (Amap/Tencent)"),
    "bd09": ("BD-09（百度）", "BD-09 (Baidu)"),
}
_COMPASS = [
    ("北", "north"), ("东北", "north-east"), ("东", "east"), ("东南", "south-east"),
    ("南", "south"), ("西南", "south-west"), ("西", "west"), ("西北", "north-west"),
]
_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class OffsetDiagnosis:
    """A point layer that looks like undeclared GCJ-02 or BD-09.

    Attributes
    ----------
    likely_system : str
        ``"gcj02"`` or ``"bd09"``.
    median_before_m : float
        Median distance (m) from the points as given to the nearest street.
    median_after_m : float
        Same after converting the points from ``likely_system`` to WGS84.
    shift_m : float
        Median distance (m) between the points as given and converted.
    message : str
        Bilingual (Chinese / English) warning for the app and the CLI.
    shift_bearing_deg : float
        Direction in which the layer is displaced (from true to as given),
        degrees clockwise from north.
    n_points : int
        Number of points examined.
    """

    likely_system: str
    median_before_m: float
    median_after_m: float
    shift_m: float
    message: str
    shift_bearing_deg: float = float("nan")
    n_points: int = 0

    @property
    def direction(self) -> tuple[str, str]:
        """The compass direction of the displacement, (中文, English), e.g. ("东", "east")."""
        return _compass(self.shift_bearing_deg)


def _points_array(points_lonlat: ArrayLike) -> np.ndarray:
    pts = np.asarray(points_lonlat, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueInputError(
            f"points_lonlat must be an (n, 2) array of longitude, latitude; got shape {pts.shape}"
        )
    bad = ~np.isfinite(pts).all(axis=1)
    if bad.any():
        raise ValueInputError(
            f"{int(bad.sum())} point(s) have missing or non-finite coordinates "
            f"(first at position {int(np.flatnonzero(bad)[0])}); fix or remove them before "
            f"checking for a coordinate offset",
            row=int(np.flatnonzero(bad)[0]),
        )
    return pts


def _lines_metric(lines: gpd.GeoSeries | Iterable[Any], metric_crs: Any) -> np.ndarray:
    if not isinstance(lines, gpd.GeoSeries):
        lines = gpd.GeoSeries(list(lines), crs=4326)
    elif lines.crs is None:
        lines = lines.set_crs(4326)
    lines = lines[~(lines.isna() | lines.is_empty)]
    if len(lines) == 0:
        raise NetworkError(
            "no street lines to compare the points with; provide a non-empty streets layer"
        )
    return np.asarray(lines.to_crs(metric_crs).values)


def _median_distance(tree: shapely.STRtree, xy: np.ndarray) -> float:
    pts = shapely.points(xy)
    (ipt, _), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    per_point = np.full(len(xy), np.inf)
    np.minimum.at(per_point, ipt, dist)
    return float(np.median(per_point))


def _compass(bearing: float) -> tuple[str, str]:
    return _COMPASS[int(((bearing % 360.0) + 22.5) // 45.0) % 8]


def detect_offset(
    points_lonlat: ArrayLike,
    street_lines_wgs84: gpd.GeoSeries | Iterable[Any],
    metric_crs: Any,
    *,
    name: str = "facilities",
    min_ratio: float = 0.5,
    min_gain_m: float = 50.0,
) -> OffsetDiagnosis | None:
    """Decide whether a point layer taken as WGS84 is really GCJ-02 or BD-09.

    Facilities stand next to streets. If undoing a GCJ-02 (or BD-09) offset
    pulls the points much closer to the WGS84 street lines, the layer was
    almost certainly exported from a Chinese web map without being declared.

    Parameters
    ----------
    points_lonlat : array_like, shape (n, 2)
        Longitude/latitude of the points as currently interpreted (WGS84).
    street_lines_wgs84 : geopandas.GeoSeries or iterable of shapely geometries
        Street centre-lines in EPSG:4326 (a GeoSeries with another CRS is
        reprojected; missing/empty geometries are ignored).
    metric_crs : pyproj.CRS or anything pyproj accepts
        Metric CRS in which distances are measured (e.g. the study's UTM zone).
    name : str
        Layer name used in the message.
    min_ratio : float
        A conversion must cut the median distance by more than this fraction.
    min_gain_m : float
        ... and by more than this many metres.

    Returns
    -------
    OffsetDiagnosis or None
        The best-fitting system with median distances before/after, the
        typical shift and a bilingual message; None when no conversion helps
        enough, or when there are no points.

    Raises
    ------
    ValueInputError
        ``points_lonlat`` is not (n, 2) or has non-finite values.
    NetworkError
        There are no street lines.
    """
    pts = _points_array(points_lonlat)
    if len(pts) == 0:
        return None
    tree = shapely.STRtree(_lines_metric(street_lines_wgs84, metric_crs))
    to_metric = pyproj.Transformer.from_crs(4326, metric_crs, always_xy=True)

    def median_for(lonlat: np.ndarray) -> float:
        xy = np.column_stack(to_metric.transform(lonlat[:, 0], lonlat[:, 1]))
        return _median_distance(tree, xy)

    before = median_for(pts)
    candidates = {s: np.column_stack(f(pts[:, 0], pts[:, 1])) for s, f in _TO_WGS84.items()}
    after = {s: median_for(c) for s, c in candidates.items()}
    best = min(after, key=after.__getitem__)
    gain = before - after[best]
    if not (gain > min_gain_m and after[best] < (1.0 - min_ratio) * before):
        return None

    fixed = candidates[best]
    az, _, dist = _GEOD.inv(fixed[:, 0], fixed[:, 1], pts[:, 0], pts[:, 1])
    az_rad = np.radians(np.asarray(az))
    bearing = float(np.degrees(np.arctan2(np.sin(az_rad).mean(), np.cos(az_rad).mean())) % 360.0)
    shift = float(np.median(dist))
    zh_dir, en_dir = _compass(bearing)
    zh_sys, en_sys = _SYSTEM_LABEL[best]
    message = (
        f"图层“{name}”疑似为{zh_sys}坐标而非WGS84：转换后到最近街道的中位距离由 "
        f"{before:.0f} 米降至 {after[best]:.0f} 米，整体向{zh_dir}偏移约 {shift:.0f} 米。"
        f"请在 meta.json 中为该图层声明 \"coordinate_system\": \"{best}\"。"
        f" / Layer '{name}' looks like {en_sys} rather than WGS84: converting it cuts the "
        f"median distance to the nearest street from {before:.0f} m to {after[best]:.0f} m; "
        f"the layer is offset about {shift:.0f} m to the {en_dir} (bearing {bearing:.0f}°). "
        f"Declare \"coordinate_system\": \"{best}\" for this layer in meta.json."
    )
    return OffsetDiagnosis(
        likely_system=best,
        median_before_m=before,
        median_after_m=after[best],
        shift_m=shift,
        message=message,
        shift_bearing_deg=bearing,
        n_points=len(pts),
    )

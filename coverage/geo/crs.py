"""The metric coordinate reference system every distance is measured in.

All metric work happens in one projected CRS chosen from the data: the WGS84
UTM zone containing the study area's centre (for Wuhai, 106.8° E, that is UTM
zone 48N, EPSG:32648). The choice is explicit, stored on the study area and
written to every output.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj

from coverage.errors import CRSError

__all__ = [
    "MAX_SCALE_ERROR",
    "check_metric_crs",
    "choose_metric_crs",
    "describe_crs",
    "gauss_kruger_crs_for_lonlat",
    "scale_error",
    "suggest_crs",
    "to_metric",
    "utm_crs_for_lonlat",
]

#: Largest scale error accepted for an analysis CRS given by the user (0.5 %: a 500 m radius
#: is then off by at most 2.5 m). EPSG:3857 at 38° N stretches every length by 1.27.
MAX_SCALE_ERROR = 0.005


def utm_crs_for_lonlat(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS84 UTM zone CRS that contains a point.

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude in degrees (WGS84).

    Returns
    -------
    pyproj.CRS
        EPSG:326zz in the northern hemisphere, EPSG:327zz in the southern.
    """
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CRSError(f"({lon}, {lat}) is not a longitude/latitude in degrees")
    zone = min(math.floor((lon + 180) / 6) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def gauss_kruger_crs_for_lonlat(lon: float, lat: float) -> pyproj.CRS | None:
    """The CGCS2000 3-degree Gauss–Krüger zone (no zone prefix) for a point in China, else ``None``.

    Examples
    --------
    >>> gauss_kruger_crs_for_lonlat(106.8, 39.7).name            # Wuhai
    'CGCS2000 / 3-degree Gauss-Kruger CM 108E'
    >>> gauss_kruger_crs_for_lonlat(2.35, 48.85) is None          # Paris
    True
    """
    cm = 3 * round(lon / 3)
    if not (75 <= cm <= 135 and 0 <= lat <= 56):
        return None
    return pyproj.CRS.from_epsg(4534 + (cm - 75) // 3)  # EPSG:4534 = CM 75E … EPSG:4554 = CM 135E


def suggest_crs(lon: float, lat: float) -> str:
    """Suitable CRSs for a place, e.g. ``EPSG:32648 (WGS 84 / UTM zone 48N) or EPSG:4545 (CGCS2000 / …)``."""
    options = [utm_crs_for_lonlat(lon, lat), gauss_kruger_crs_for_lonlat(lon, lat)]
    return " or ".join(f"EPSG:{c.to_epsg()} ({c.name})" for c in options if c is not None)


def scale_error(crs: pyproj.CRS, lon: np.ndarray, lat: np.ndarray) -> float:
    """Largest ``|scale - 1|`` of a projected CRS at some points (meridional and parallel scale)."""
    f = pyproj.Proj(crs).get_factors(np.asarray(lon, float), np.asarray(lat, float))
    return float(np.nanmax(np.abs(np.r_[f.meridional_scale, f.parallel_scale] - 1.0)))


def check_metric_crs(crs: pyproj.CRS, bounds: tuple[float, float, float, float], option: str = "--crs"
                     ) -> pyproj.CRS:
    """Refuse a CRS that is not projected in metres, or whose scale error over the study area is too large.

    Parameters
    ----------
    crs : pyproj.CRS
    bounds : (min lon, min lat, max lon, max lat)
        The study area in degrees; the scale is checked on a 5 × 5 grid over it.
    option : str
        Named in the error.

    Returns
    -------
    pyproj.CRS
        ``crs`` unchanged.

    Examples
    --------
    >>> check_metric_crs(pyproj.CRS.from_epsg(32648), (106.7, 39.6, 106.9, 39.8)).to_epsg()
    32648
    >>> check_metric_crs(pyproj.CRS.from_epsg(3857), (106.7, 39.6, 106.9, 39.8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coverage.errors.CRSError: --crs EPSG:3857 stretches lengths by up to 30.2 % ... use EPSG:32648 (WGS 84 / UTM ...
    """
    x0, y0, x1, y1 = bounds
    fix = suggest_crs((x0 + x1) / 2, (y0 + y1) / 2)
    label = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name
    units = {a.unit_name for a in crs.axis_info}
    if not crs.is_projected or not units <= {"metre", "meter"}:
        raise CRSError(f"{option} {label} is not a projected CRS in metres; use {fix}")
    lon, lat = np.meshgrid(np.linspace(x0, x1, 5), np.linspace(y0, y1, 5))
    err = scale_error(crs, lon.ravel(), lat.ravel())
    if not err <= MAX_SCALE_ERROR:
        raise CRSError(f"{option} {label} stretches lengths by up to {100 * err:.1f} % at the study area (more than "
                       f"{100 * MAX_SCALE_ERROR:g} %); use {fix}")
    return crs


def choose_metric_crs(*layers: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Choose the UTM zone for the combined extent of some layers.

    Parameters
    ----------
    *layers : GeoDataFrame or GeoSeries
        Layers with a CRS set; empty layers are ignored.

    Returns
    -------
    pyproj.CRS
        The UTM zone containing the centre of the layers' combined bounds.
    """
    xs: list[float] = []
    ys: list[float] = []
    for layer in layers:
        if layer is None or len(layer) == 0:
            continue
        if layer.crs is None:
            raise CRSError("a layer has no coordinate reference system; declare it before choosing a metric CRS")
        minx, miny, maxx, maxy = layer.to_crs(4326).total_bounds
        xs += [minx, maxx]
        ys += [miny, maxy]
    if not xs:
        raise CRSError("no non-empty layer to choose a metric CRS from")
    return utm_crs_for_lonlat((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)


def to_metric(layer: gpd.GeoDataFrame, crs: pyproj.CRS, name: str = "layer") -> gpd.GeoDataFrame:
    """Reproject a layer to the study's metric CRS.

    Parameters
    ----------
    layer : GeoDataFrame
        Any CRS; must have one.
    crs : pyproj.CRS
        The metric CRS (see :func:`choose_metric_crs`).
    name : str
        Used in the error message.

    Returns
    -------
    GeoDataFrame
        A copy in ``crs``.
    """
    if layer.crs is None:
        raise CRSError(f"{name} has no coordinate reference system; add a .prj or declare the CRS")
    return layer.to_crs(crs)


def describe_crs(crs: pyproj.CRS) -> dict:
    """Return a JSON-friendly description of a CRS (``epsg``, ``name``, ``units``)."""
    crs = pyproj.CRS.from_user_input(crs)
    units = crs.axis_info[0].unit_name if crs.axis_info else None
    return {"epsg": crs.to_epsg(), "name": crs.name, "units": units}

"""The metric coordinate reference system every distance is measured in.

All metric work happens in one projected CRS chosen from the data: the WGS84
UTM zone containing the study area's centre (for Wuhai, 106.8° E, that is UTM
zone 48N, EPSG:32648). The choice is explicit, stored on the study area and
written to every output.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pyproj

from coverage.errors import CRSError

__all__ = ["utm_crs_for_lonlat", "choose_metric_crs", "to_metric", "describe_crs"]


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
    zone = min(int(math.floor((lon + 180) / 6)) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


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

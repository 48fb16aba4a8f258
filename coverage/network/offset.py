"""Facilities that sit off the streets the way an undeclared GCJ-02/BD-09 layer does: the offset diagnosis."""

from __future__ import annotations

import geopandas as gpd
import shapely

from coverage.geo.chinese_crs import OffsetDiagnosis, detect_offset
from coverage.network.graph import WalkNetwork

__all__ = ["check_offset"]


def check_offset(facilities_wgs84: gpd.GeoDataFrame, network: WalkNetwork, *,
                 name: str = "facilities", min_gain_m: float = 20.0) -> OffsetDiagnosis | None:
    """Warn when a facility layer read as WGS84 is probably GCJ-02 (高德/腾讯) or BD-09 (百度).

    Parameters
    ----------
    facilities_wgs84 : GeoDataFrame
        The facilities as loaded (any CRS; reprojected to EPSG:4326). Non-point
        features are represented by a point on their surface.
    network : WalkNetwork
        The walking network; its edges (reprojected to EPSG:4326) are the
        streets the facilities should stand next to.
    name : str
        Layer name for the message.
    min_gain_m : float
        Smallest drop in the median distance to the streets that counts. In a
        dense city with 150 m blocks a 400 m shift leaves points only ~45 m from
        some street, so the default is lower than detect_offset's 50 m; the
        relative test (the median must halve) guards against false alarms.

    Returns
    -------
    OffsetDiagnosis or None
        See :func:`coverage.geo.chinese_crs.detect_offset`: the likely system and
        a bilingual message telling the user to declare
        ``"coordinate_system"`` for the layer; None when the layer lines up
        with the streets (or is empty).
    """
    if len(facilities_wgs84) == 0:
        return None
    fac = facilities_wgs84 if facilities_wgs84.crs is None else facilities_wgs84.to_crs(4326)
    geoms = fac.geometry.values
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    lines = gpd.GeoSeries(network.edges.geometry.values, crs=network.crs).to_crs(4326)
    return detect_offset(pts, lines, network.crs, name=name, min_gain_m=min_gain_m)

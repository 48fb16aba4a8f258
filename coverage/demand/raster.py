"""Population model ``raster``: a population GeoTIFF (e.g. WorldPop), rescaled to community totals unless told not to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from coverage.demand.base import Demand, _allocate, _check_options, _fallback_note, _finish, _scale_factors
from coverage.errors import CRSError, LayerReadError, ValueInputError
from coverage.geo.areas import first_containing
from coverage.skipped import Skipped

__all__ = ["demand_from_raster"]


def demand_from_raster(study, *, raster: str | Path | None = None, rescale: bool | None = None, band: int = 1,
                       **other: Any) -> Demand:
    """Population raster cells (persons per cell, e.g. WorldPop) as demand points.

    Parameters
    ----------
    study : StudyArea
    raster : path
        A GeoTIFF of *counts* per cell (WorldPop "ppp"), any CRS.
    rescale : bool, optional
        Scale each community's cells to its given total. Default: rescale
        when any community has a population. With ``False`` the raster's
        own numbers are kept (community totals are then *not* preserved; the
        report shows both).
    band : int
        Band holding the counts.
    **other
        Options of the other models (ignored).

    Returns
    -------
    Demand
        One point per cell with a positive count whose centre lies in the
        study area (union of the subdistricts), at the cell centre reprojected
        to the metric CRS. Cells in the study area but in no community keep
        their raster value (community ``None``).
    """
    _check_options(other)
    if raster is None:
        raise ValueInputError("population model 'raster' needs a population GeoTIFF: pass --raster FILE "
                              "(population_options={'raster': path})")
    path = Path(raster)
    if not path.exists():
        raise LayerReadError("population raster not found", path=path)
    skipped: list[Skipped] = []
    area = shapely.union_all(study.subdistricts.geometry.values)
    values, transform, src_crs = _read_window(path, band, study.crs, area)
    neg = values < 0
    if neg.any():
        skipped.append(Skipped("raster", "negative_cells", int(neg.sum()), action="dropped",
                               message="cells with negative counts (undeclared nodata?) ignored"))
    v, geoms = _cells_inside(values, transform, src_crs, study.crs, area)
    if not len(v):
        raise ValueInputError("no populated raster cell has its centre inside the study area; is it the right "
                              f"place and CRS ({src_crs})?", path=path)
    cidx = first_containing(geoms, study.communities.geometry.values)
    pts = gpd.GeoDataFrame({"weight": v, "_cidx": cidx, "origin": "cell"}, geometry=geoms, crs=study.crs)
    has_totals = bool(study.communities["population"].notna().any())
    do_rescale = has_totals if rescale is None else bool(rescale)
    out, sk, rows_c = _allocate(study, pts, layer="raster", reason_zh="人口栅格单元", rescale=do_rescale)
    skipped += sk
    zh_end, en_end = _fallback_note(rows_c, "内无栅格单元", "a cell")
    zh = ("人口来自人口栅格（每个栅格单元中心一个需求点）" + ("，并按社区人口总数等比例调整" if do_rescale else "，未按社区人口调整")
          + zh_end)
    en = ("Population from a population raster (one demand point per cell centre)"
          + (", scaled to each community's total" if do_rescale else ", not scaled to community totals") + en_end)
    res_x, res_y = abs(transform.a), abs(transform.e)
    details = {
        "raster": {"file": path.name, "crs": str(src_crs), "cell_size": [res_x, res_y], "band": int(band),
                   "cells": len(v), "population": float(v.sum())},
        "rescaled": do_rescale,
        "scale_factors": _scale_factors(study, rows_c),
    }
    return _finish(study, out, "raster", f"raster {path.name}", zh, en, skipped, details, rows_c)


def _read_window(path: Path, band: int, crs, area) -> tuple[np.ndarray, Any, Any]:
    """The raster's cells over ``area`` (in ``crs``): values (NaN for nodata), the window's transform, its CRS.

    Only the window around the area is read: a national WorldPop file is far
    larger than a district.
    """
    import rasterio
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window

    try:
        src = rasterio.open(path)
    except Exception as exc:
        raise LayerReadError(f"cannot read as a GeoTIFF ({type(exc).__name__}: {exc})", path=path) from exc
    with src:
        if src.crs is None:
            raise CRSError("the population raster has no CRS; save it as a GeoTIFF with one (WorldPop is EPSG:4326)",
                           path=path)
        if not 1 <= band <= src.count:
            raise ValueInputError(f"band {band} does not exist; the raster has {src.count} band(s)", path=path)
        b = transform_bounds(crs, src.crs, *area.bounds, densify_pts=21)
        inv = ~src.transform
        bx = np.array([b[0], b[0], b[2], b[2]])
        by = np.array([b[1], b[3], b[1], b[3]])
        cols_b = inv.c + inv.a * bx + inv.b * by
        rows_b = inv.f + inv.d * bx + inv.e * by
        # whole cells, padded by one: a centre just inside the area may sit in a cell cut off by rounding
        c0 = max(int(np.floor(cols_b.min())) - 1, 0)
        r0 = max(int(np.floor(rows_b.min())) - 1, 0)
        c1 = min(int(np.ceil(cols_b.max())) + 1, src.width)
        r1 = min(int(np.ceil(rows_b.max())) + 1, src.height)
        if c1 <= c0 or r1 <= r0:
            raise ValueInputError("the population raster does not cover the study area; is it the right place "
                                  f"and CRS ({src.crs})?", path=path)
        win = Window(c0, r0, c1 - c0, r1 - r0)
        data = src.read(band, window=win, masked=True)
        transform = src.window_transform(win)
        src_crs = src.crs
    return np.ma.filled(data.astype(float), np.nan), transform, src_crs


def _cells_inside(values: np.ndarray, transform: Any, src_crs: Any, crs: Any, area
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Counts and centres (in ``crs``) of the populated cells whose centre lies in ``area``."""
    rows, cols = np.nonzero(np.isfinite(values) & (values > 0))
    cc, rr = cols + 0.5, rows + 0.5
    xs = transform.c + transform.a * cc + transform.b * rr
    ys = transform.f + transform.d * cc + transform.e * rr
    tr = pyproj.Transformer.from_crs(src_crs, crs, always_xy=True)
    mx, my = tr.transform(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    mx, my = np.asarray(mx, dtype=float), np.asarray(my, dtype=float)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, mx, my) if len(mx) else np.zeros(0, dtype=bool)
    return values[rows[inside], cols[inside]], shapely.points(mx[inside], my[inside])

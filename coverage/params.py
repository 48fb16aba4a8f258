"""The thresholds of the 15-minute health circle: every default lives here, once.

The command line, the Streamlit app, the library and the labels of every table
read their defaults from this module, so changing a default changes it everywhere.

>>> p = CoverageParams(radius_m=300, minutes=5)
>>> p.walk_m                     # 5 minutes at 4 km/h
333.3333333333333
>>> radius_label(p.radius_m), walk_label(p.minutes)
(('300米', '300 m'), ('5分钟步行', '5-minute walk'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coverage.errors import ValueInputError

__all__ = [
    "APP_TIME_LIMIT_S",
    "DEFAULT_ASSIGN",
    "DEFAULT_COUNTED_KINDS",
    "DEFAULT_E2SFCA_DECAY",
    "DEFAULT_FRAGMENT_M",
    "DEFAULT_ISLAND_SNAP_M",
    "DEFAULT_ISOCHRONE_MINUTES",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_MINUTES",
    "DEFAULT_POPULATION_MODEL",
    "DEFAULT_RADIUS_M",
    "DEFAULT_RESIDENTS_PER_DOCTOR",
    "DEFAULT_SPEED_KMH",
    "DEFAULT_TARGET_SHARE",
    "DEFAULT_TIME_LIMIT_S",
    "LUO_QI_WEIGHTS",
    "PRESETS",
    "CoverageParams",
    "check_isochrone_minutes",
    "radius_label",
    "walk_label"
]

#: Coverage radius (metres): residents within 500 m of a health facility.
DEFAULT_RADIUS_M = 500.0
#: Walking time budget (minutes): the 15-minute circle.
DEFAULT_MINUTES = 15.0
#: Walking speed (km/h); 4 km/h makes 15 minutes 1000 m (GB 50180-2018: 800–1000 m).
DEFAULT_SPEED_KMH = 4.0
#: Points farther than this (metres) from any walkable street are off-network.
DEFAULT_MAX_SNAP_M = 300.0
#: A connected piece of network with less street than this (metres) and no facility is a fragment.
DEFAULT_FRAGMENT_M = 1000.0
#: A point snapped onto a fragment moves to the main network when a main street is this close (metres).
DEFAULT_ISLAND_SNAP_M = 50.0
#: Coverage target of the rules (1.0 = every resident).
DEFAULT_TARGET_SHARE = 1.0
#: Isochrone times drawn per facility (minutes).
DEFAULT_ISOCHRONE_MINUTES: tuple[float, ...] = (5, 10, 15)


def check_isochrone_minutes(values: object, option: str = "--isochrone-minutes") -> tuple[float, ...]:
    """Isochrone walking times as positive finite minutes, from ``"5,10,15"`` or a sequence.

    Raises
    ------
    ValueInputError
        Empty, not a number, NaN, infinite, zero or negative, naming ``option`` and the fix.

    Examples
    --------
    >>> check_isochrone_minutes("5, 10,15")
    (5.0, 10.0, 15.0)
    >>> check_isochrone_minutes("-5")
    Traceback (most recent call last):
    ...
    coverage.errors.ValueInputError: --isochrone-minutes: -5 is not a positive number of minutes; give times such as 5,10,15
    """
    fix = "give times such as 5,10,15"
    items = [x.strip() for x in values.split(",")] if isinstance(values, str) else list(values)
    items = [x for x in items if not (isinstance(x, str) and not x)]
    if not items:
        raise ValueInputError(f"{option}: no walking time given; {fix}")
    out = []
    for x in items:
        try:
            m = float(x)
        except (TypeError, ValueError):
            raise ValueInputError(f"{option}: {x!r} is not a number; {fix}") from None
        if not np.isfinite(m) or m <= 0:
            raise ValueInputError(f"{option}: {x} is not a positive number of minutes; {fix}")
        out.append(m)
    return tuple(out)
#: Facility kinds that count for coverage and rules unless the user says otherwise.
DEFAULT_COUNTED_KINDS: tuple[str, ...] = ("centre", "station")
#: Siting solver time limit (seconds).
DEFAULT_TIME_LIMIT_S = 60.0
#: The app's optimiser time limit (seconds): shorter, because a planner waits at the screen.
APP_TIME_LIMIT_S = 30.0
#: Population model (``auto``: the best source in the data folder).
DEFAULT_POPULATION_MODEL = "auto"
#: Residents per general practitioner, for capacities given as staff counts: the national
#: target of 5 qualified GPs per 10,000 urban and rural residents by 2030 (国务院办公厅
#: 《关于改革完善全科医生培养与使用激励机制的意见》, 国办发〔2018〕3号).
DEFAULT_RESIDENTS_PER_DOCTOR = 2000.0
#: Residents go to the nearest facility unless capacitated assignment is asked for.
DEFAULT_ASSIGN = "nearest"
#: E2SFCA distance decay: Luo & Qi's (2009) step weights over thirds of the walk.
DEFAULT_E2SFCA_DECAY = "step"
LUO_QI_WEIGHTS: tuple[float, ...] = (1.0, 0.68, 0.22)

#: Parameter presets after GB 50180-2018 (居住区规划设计标准): the 15-, 10- and 5-minute
#: life circles (walking 800–1000 m, 500 m and 300 m). The 15-minute preset is the default.
PRESETS: dict[str, dict[str, float]] = {
    "15": {"radius_m": DEFAULT_RADIUS_M, "minutes": 15.0, "speed_kmh": DEFAULT_SPEED_KMH},
    "10": {"radius_m": DEFAULT_RADIUS_M, "minutes": 10.0, "speed_kmh": DEFAULT_SPEED_KMH},
    "5": {"radius_m": 300.0, "minutes": 5.0, "speed_kmh": DEFAULT_SPEED_KMH},
}


def radius_label(radius_m: float) -> tuple[str, str]:
    """``("500米", "500 m")`` for a radius: the words every header and rule name uses."""
    return f"{radius_m:g}米", f"{radius_m:g} m"


def walk_label(minutes: float) -> tuple[str, str]:
    """``("15分钟步行", "15-minute walk")`` for a walking time."""
    return f"{minutes:g}分钟步行", f"{minutes:g}-minute walk"


def _option(name: str) -> str:
    """``"radius_m (--radius-m)"``: a parameter as the library and the command line call it."""
    return f"{name} (--{name.replace('_', '-')})"


@dataclass(frozen=True)
class CoverageParams:
    """The thresholds of the 15-minute health circle.

    Attributes
    ----------
    radius_m : float
        Coverage radius (network, and crow-flies for the official-style figure).
    minutes : float
        Walking time budget.
    speed_kmh : float
        Walking speed; 4 km/h makes 15 minutes 1000 m (GB 50180-2018: 800–1000 m).
    max_snap_m : float
        Points farther than this from any walkable street are off-network: reported,
        counted as not reached on foot.
    target_share : float
        Coverage target for the rules (1.0 = every resident).
    fragment_m : float
        Connected pieces of network with less street than this (metres) and no counted
        facility are fragments (:mod:`coverage.network.islands`).
    island_snap_m : float
        A point whose nearest street is a fragment moves to the nearest main-network street
        within this distance; otherwise it is reported as ``on_network_island``.
    """

    radius_m: float = DEFAULT_RADIUS_M
    minutes: float = DEFAULT_MINUTES
    speed_kmh: float = DEFAULT_SPEED_KMH
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    target_share: float = DEFAULT_TARGET_SHARE
    fragment_m: float = DEFAULT_FRAGMENT_M
    island_snap_m: float = DEFAULT_ISLAND_SNAP_M

    def __post_init__(self) -> None:
        for name in ("radius_m", "minutes", "speed_kmh", "max_snap_m", "island_snap_m"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueInputError(f"{_option(name)} must be a positive number, got {value!r}")
        if not 0 <= self.target_share <= 1:
            raise ValueInputError(f"{_option('target_share')} must be between 0 and 1 (1 = every resident), "
                                  f"got {self.target_share!r}")
        if not (np.isfinite(self.fragment_m) and self.fragment_m >= 0):
            raise ValueInputError(f"{_option('fragment_m')} must be a number of metres >= 0, got {self.fragment_m!r}")

    @property
    def walk_m(self) -> float:
        """Distance walked in ``minutes`` at ``speed_kmh``, in metres."""
        return self.minutes * self.speed_kmh * 1000.0 / 60.0

    def minutes_to_m(self, minutes: float) -> float:
        """Metres walked in ``minutes``."""
        return minutes * self.speed_kmh * 1000.0 / 60.0

    def to_dict(self) -> dict:
        """JSON-friendly form, with the derived walk distance."""
        return {"radius_m": self.radius_m, "minutes": self.minutes, "speed_kmh": self.speed_kmh,
                "walk_m": round(self.walk_m, 3), "max_snap_m": self.max_snap_m, "target_share": self.target_share,
                "fragment_m": self.fragment_m, "island_snap_m": self.island_snap_m}


@dataclass(frozen=True)
class WalkProfile:
    """Who walks: a flat-ground speed and the ways this walker can use (issue 21).

    Attributes
    ----------
    name : str
        ``adult``, ``elderly`` or ``wheelchair``.
    speed_kmh : float
        Speed on flat ground; the slope model scales it (flat = this speed).
    refuse : dict
        Way tags that bar this walker, ``{tag: (value, ...)}``.
    prefer_factor : float
        Cost factor on ways *not* tagged ``wheelchair=yes`` (1.0 = no preference).
    source : str
        Where the speed and rules come from (named in the README and every output).
    """

    name: str
    speed_kmh: float
    refuse: tuple[tuple[str, tuple[str, ...]], ...] = ()
    prefer_factor: float = 1.0
    source: str = ""


#: The walking profiles. Adult: the tool's 4 km/h (GB 50180-2018: 15 min = 800-1000 m).
#: Elderly: 0.83 m/s = 3.0 km/h, the mean normal walking speed of people aged 65+ in the
#: Health Survey for England (0.9 m/s men, 0.8 m/s women; Asher et al. 2012, Age and Ageing 41(5)).
#: Wheelchair: no steps, no ``wheelchair=no`` (OSM wiki Key:wheelchair), 3.0 km/h, and
#: ``wheelchair=yes`` ways preferred (others cost 10 % more: a project choice, stated).
PROFILES: dict[str, WalkProfile] = {
    "adult": WalkProfile("adult", DEFAULT_SPEED_KMH, source="GB 50180-2018 (15 min = 800-1000 m): 4 km/h"),
    "elderly": WalkProfile("elderly", 3.0, source="Asher et al. 2012, Age and Ageing 41(5): 65+ walk 0.8-0.9 m/s"),
    "wheelchair": WalkProfile("wheelchair", 3.0, refuse=(("highway", ("steps",)), ("wheelchair", ("no",))),
                              prefer_factor=1.1,
                              source="OSM Key:wheelchair (no/limited/yes), highway=steps refused; 3.0 km/h"),
}
#: The profile used unless asked otherwise.
DEFAULT_PROFILE = "adult"
#: Spacing of the DEM samples along every edge (metres).
DEM_SPACING_M = 10.0
#: The slope model named in every output.
SLOPE_MODEL = ("Tobler's hiking function 6·exp(-3.5·|S+0.05|) km/h (Tobler 1993, NCGIA TR 93-1), "
               "normalised so that flat ground gives the profile's speed")

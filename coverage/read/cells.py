"""Cell values shared by every layer and office table: column aliases, statistical codes, head counts, facility kinds."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = [
    "COLUMN_ALIASES",
    "KIND_PATTERNS",
    "KNOWN_KINDS",
    "classify_kind",
    "code_text",
    "normalise_columns",
    "population_numbers",
]

#: Accepted column names (lower-cased) for each normalised column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "名字", "机构名称", "单位名称", "社区名称", "街道名称", "name_zh", "mc"),
    "kind": ("kind", "type", "类型", "类别", "机构类型", "机构类别", "category", "lx"),
    "code": ("code", "代码", "编码", "区划代码", "统计用区划代码", "adcode", "dm"),
    "subdistrict": ("subdistrict", "street", "街道", "所属街道", "街道/乡镇", "乡镇", "所属乡镇", "township"),
    "population": ("population", "pop", "人口", "常住人口", "人口数", "户籍人口", "residents"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "address": ("address", "地址", "addr"),
}

#: Facility kinds. Order matters: the first pattern that matches the kind or the name wins.
KIND_PATTERNS: list[tuple[str, str]] = [
    ("centre", r"社区卫生服务中心|community health (service )?cent(re|er)|^cent(re|er)$|^chsc$"),
    ("station", r"社区卫生服务站|community health (service )?station|^station$|^chss$"),
    # township hospitals play the centre role in towns (乡镇卫生院)
    ("centre", r"乡镇卫生院|^卫生院$|township (health centre|hospital)"),
    ("village_clinic", r"卫生室|village clinic"),
    ("hospital", r"医院|hospital"),
    ("clinic", r"诊所|门诊|clinic|doctors"),
]
#: The kinds the patterns give, in order (other kinds are listed, never counted by default).
KNOWN_KINDS: tuple[str, ...] = tuple(dict.fromkeys(k for k, _ in KIND_PATTERNS))


def _match_column(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    for a in aliases:
        if a in low:
            return low[a]
    return None


def code_text(value: object) -> str | None:
    """A statistical code (统计用区划代码) as text, whatever the file stored.

    Codes must stay text: their leading digits matter, and Excel stores them as
    floats (``1.50302001002e11``) or as text with a trailing ``.0``. Full-width
    digits and spaces are repaired (NFKC, spaces dropped).

    Parameters
    ----------
    value : object
        A cell as read (str, int, float, None, NaN or ``pd.NA``).

    Returns
    -------
    str or None
        The code as text; None for a blank cell.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return text or None


def population_numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Head counts from cells as people type them, and which cells are not numbers.

    Numbers pass as they are; text is read after NFKC (full-width digits and
    commas), with a trailing 人 dropped and thousands separators between digit
    groups removed (``"12,345"``, ``"12 345"``, ``"１２，３４５人"``).

    Parameters
    ----------
    raw : pandas.Series
        The population column as read.

    Returns
    -------
    values : ndarray of float
        NaN for blank cells and for cells that are not numbers.
    not_number : ndarray of bool
        Cells with text that is not a number (callers name the first one's row).
        Negative and infinite values are returned as they are, for the caller to refuse.
    """
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, copy=True)
    not_number = np.zeros(len(raw), dtype=bool)
    todo = np.flatnonzero(np.isnan(values) & raw.notna().to_numpy())  # text cells only: numbers pass as they are
    if len(todo):
        text = pd.Series([unicodedata.normalize("NFKC", str(v)).strip() for v in raw.iloc[todo].tolist()],
                         dtype="string")
        cleaned = (text.str.replace(r"\s*人$", "", regex=True)
                   .str.replace(r"(?<=\d)[,\s](?=\d{3}(\D|$))", "", regex=True))
        parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
        values[todo] = parsed
        not_number[todo] = np.isnan(parsed) & (text != "").to_numpy(dtype=bool)
    return values, not_number


def normalise_columns(df: pd.DataFrame, wanted: tuple[str, ...] = ("name", "kind", "code", "subdistrict",
                                                                   "population", "address")) -> pd.DataFrame:
    """Rename Chinese or variant column names to the normalised ones.

    Parameters
    ----------
    df : DataFrame
    wanted : tuple of str
        Normalised names to look for (see :data:`COLUMN_ALIASES`).

    Returns
    -------
    DataFrame
        A copy with recognised columns renamed; other columns untouched.
    """
    rename = {}
    cols = [c for c in df.columns if c != getattr(df, "_geometry_column_name", None)]
    for target in wanted:
        if target in df.columns:
            continue
        src = _match_column(cols, COLUMN_ALIASES[target])
        if src is not None and src not in rename:
            rename[src] = target
    return df.rename(columns=rename)


def classify_kind(kind: object, name: object = None) -> str:
    """Map a facility's kind (and name) to ``centre``, ``station`` or another kind.

    Parameters
    ----------
    kind : object
        The ``kind``/``类型`` value: ``centre``, ``station``, ``社区卫生服务中心``, ``医院``...
    name : object, optional
        The facility's name, used when the kind is empty or generic
        (a name ending in 社区卫生服务中心 is a centre).

    Returns
    -------
    str
        ``centre``, ``station``, ``village_clinic``, ``hospital``, ``clinic``,
        or the kind lower-cased (``other`` if empty).
    """
    texts = []
    for t in (kind, name):
        if t is None or (isinstance(t, float) and math.isnan(t)):
            continue
        texts.append(str(t).strip().lower())
    for text in texts:
        for label, pattern in KIND_PATTERNS:
            if re.search(pattern, text):
                return label
    return texts[0] if texts and texts[0] else "other"

"""Exceptions raised on bad input.

Every problem with a user's data raises a subclass of :class:`CoverageInputError`
whose message names the file, the row or feature, what is wrong and what to do.
The command line prints that message on one line and exits with status 2; the
Streamlit app shows it in an error box; analysts can catch the family.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "CoverageInputError",
    "GeometryError",
    "LayerReadError",
    "MissingColumnError",
    "NetworkError",
    "RuleSetError",
    "UnsafeInputError",
    "ValueInputError",
]


class CoverageInputError(ValueError):
    """Base class of every error caused by the user's input.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    path : str, optional
        The file the problem was found in.
    row : object, optional
        The row index or feature id at fault.
    zh : str, optional
        The same message in Chinese, for the Chinese app (:meth:`text`). Without it the
        Chinese text is the class's :attr:`title_zh` followed by the English message.
    """

    #: What kind of problem this is, in Chinese: the lead of :meth:`text` when no ``zh`` was given.
    title_zh = "输入数据有误"

    def __init__(self, message: str, path: str | None = None, row: object | None = None, zh: str | None = None):
        self.path = str(path) if path is not None else None
        self.row = row
        self.reason = message
        self.zh = zh
        super().__init__(self._where(f"row {row}") + message)

    def _where(self, row_text: str) -> str:
        where = ([self.path] if self.path else []) + ([row_text] if self.row is not None else [])
        return (": ".join([", ".join(where), ""])) if where else ""

    def text(self, lang: str = "en") -> str:
        """The message in one language: ``str(self)`` in English; in Chinese ``zh`` if given, else the
        class's Chinese title followed by the English message (so a Chinese reader knows what failed)."""
        if lang != "zh":
            return str(self)
        if self.zh:
            return self._where(f"第 {self.row} 行") + self.zh
        return f"{self.title_zh}（原文 / English）：{self}"


class LayerReadError(CoverageInputError):
    """A file cannot be read, is empty, or is not what its extension says."""

    title_zh = "无法读取文件"


class MissingColumnError(CoverageInputError):
    """A required attribute column is absent."""

    title_zh = "缺少必需的列"


class CRSError(CoverageInputError):
    """A layer has no coordinate reference system, or an implausible one."""

    title_zh = "坐标系有误"


class GeometryError(CoverageInputError):
    """A layer has the wrong geometry type, or geometries that cannot be repaired."""

    title_zh = "几何形状有误"


class ValueInputError(CoverageInputError):
    """An attribute value is invalid (negative population, unknown code, ...)."""

    title_zh = "数值有误"


class NetworkError(CoverageInputError):
    """The street network is empty or unusable for walking."""

    title_zh = "路网无法用于步行计算"


class UnsafeInputError(CoverageInputError):
    """An upload was refused for safety (too large, path traversal, zip bomb, XML entities)."""

    title_zh = "出于安全原因拒绝该文件"


class RuleSetError(CoverageInputError):
    """A rule-set file (TOML) is invalid: names the file, the rule id and the field at fault."""

    title_zh = "规则集文件有误"

    def __init__(self, message: str, path: str | None = None, rule: str | None = None, field: str | None = None):
        self.rule, self.field = rule, field
        where = ", ".join(w for w in (f"rule {rule!r}" if rule else "", f"field {field!r}" if field else "") if w)
        super().__init__(f"{where}: {message}" if where else message, path=path)

"""Exceptions raised on bad input.

Every problem with a user's data raises a subclass of :class:`CoverageInputError`
whose message names the file, the row or feature, what is wrong and what to do.
The command line prints that message on one line and exits with status 2; the
Streamlit app shows it in an error box; analysts can catch the family.
"""

from __future__ import annotations

__all__ = [
    "CoverageInputError",
    "LayerReadError",
    "MissingColumnError",
    "CRSError",
    "GeometryError",
    "ValueInputError",
    "NetworkError",
    "UnsafeInputError",
    "RuleSetError",
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
    """

    def __init__(self, message: str, path: str | None = None, row: object | None = None):
        self.path = str(path) if path is not None else None
        self.row = row
        self.reason = message
        where = []
        if self.path:
            where.append(self.path)
        if row is not None:
            where.append(f"row {row}")
        prefix = (": ".join([", ".join(where), ""])) if where else ""
        super().__init__(prefix + message)


class LayerReadError(CoverageInputError):
    """A file cannot be read, is empty, or is not what its extension says."""


class MissingColumnError(CoverageInputError):
    """A required attribute column is absent."""


class CRSError(CoverageInputError):
    """A layer has no coordinate reference system, or an implausible one."""


class GeometryError(CoverageInputError):
    """A layer has the wrong geometry type, or geometries that cannot be repaired."""


class ValueInputError(CoverageInputError):
    """An attribute value is invalid (negative population, unknown code, ...)."""


class NetworkError(CoverageInputError):
    """The street network is empty or unusable for walking."""


class UnsafeInputError(CoverageInputError):
    """An upload was refused for safety (too large, path traversal, zip bomb, XML entities)."""


class RuleSetError(CoverageInputError):
    """A rule-set file (TOML) is invalid: names the file, the rule id and the field at fault."""

    def __init__(self, message: str, path: str | None = None, rule: str | None = None, field: str | None = None):
        self.rule, self.field = rule, field
        where = ", ".join(w for w in (f"rule {rule!r}" if rule else "", f"field {field!r}" if field else "") if w)
        super().__init__(f"{where}: {message}" if where else message, path=path)

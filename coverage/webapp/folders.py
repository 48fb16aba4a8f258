"""Which server folders a web user of the app may load (no Streamlit import).

On an intranet the app is one server process shared by many planners, so the
"服务器上的文件夹 / folder on the server" option must not read whatever the
process can read. Three modes, chosen by whoever starts the server:

- **root** (``COVERAGE_APP_DATA_ROOT=/srv/coverage-data``): the planner picks one
  of the data folders found under the root (:func:`list_data_folders`); a name
  with ``..``, an absolute path, or a symlink leading outside the root is
  refused (:func:`resolve_in_root`) with one message that does not say whether
  the path exists;
- **single-user** (``COVERAGE_APP_SINGLE_USER=1``, a planner running the app on
  their own machine): any path may be typed, as before;
- **demo only** (neither set): the option offers the built-in demo data only.

The upload folder (:func:`coverage.webapp.state.upload_root_dir`) is never
offered, even when it lies under the root: uploads belong to one session.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from coverage.errors import UnsafeInputError
from coverage.read.layers import find_layer_files

__all__ = [
    "DATA_ROOT_ENV",
    "FOLDER_REFUSED",
    "SINGLE_USER_ENV",
    "FolderPolicy",
    "folder_policy",
    "list_data_folders",
    "resolve_in_root",
    "shown_folder",
]

DATA_ROOT_ENV = "COVERAGE_APP_DATA_ROOT"
SINGLE_USER_ENV = "COVERAGE_APP_SINGLE_USER"
#: The one refusal message: the same whether the folder is outside the root, missing or unreadable.
FOLDER_REFUSED = ("该文件夹不可用：请从数据根目录下列出的文件夹中选择 / folder not available: choose one of the "
                  "folders listed under the data root")
_REQUIRED = ("streets", "subdistricts", "communities", "facilities")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class FolderPolicy:
    """How server folders may be chosen.

    Attributes
    ----------
    mode : {"root", "free", "demo"}
        A list under ``root``, any typed path (single-user), or the demo only.
    root : Path or None
        The resolved data root (mode ``root``).
    """

    mode: str
    root: Path | None = None


def folder_policy(environ: Mapping[str, str] | None = None) -> FolderPolicy:
    """The policy the server was started with (``COVERAGE_APP_SINGLE_USER``, ``COVERAGE_APP_DATA_ROOT``).

    Single-user mode wins: it is the explicit "only I use this server" switch.
    A root that is not a directory gives the demo-only mode (nothing to list).
    """
    env = os.environ if environ is None else environ
    if str(env.get(SINGLE_USER_ENV, "")).strip().lower() in _TRUE:
        return FolderPolicy("free")
    root = str(env.get(DATA_ROOT_ENV, "")).strip()
    if root and Path(root).expanduser().is_dir():
        return FolderPolicy("root", Path(root).expanduser().resolve())
    return FolderPolicy("demo")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _is_dataset(folder: Path) -> bool:
    try:
        found = find_layer_files(folder)
    except Exception:  # noqa: BLE001 (an unreadable folder is simply not offered)
        return False
    return all(k in found for k in _REQUIRED)


def list_data_folders(root: Path, depth: int = 2, exclude: tuple[Path, ...] = ()) -> list[str]:
    """Folders under ``root`` (down to ``depth`` levels) that hold the four required layers.

    Parameters
    ----------
    root : Path
        The data root (resolved).
    depth : int
        How many levels below the root are searched.
    exclude : tuple of Path
        Folders never offered, nor searched below (the upload folder).

    Returns
    -------
    list of str
        POSIX paths relative to the root, sorted (``"."`` if the root itself is a data set).
        Hidden folders and symlinks leading outside the root are left out.
    """
    root = Path(root).resolve()
    skip = {Path(p).resolve() for p in exclude}
    found: list[str] = []

    def walk(folder: Path, level: int) -> None:
        real = folder.resolve()
        if not _inside(real, root) or real in skip:
            return
        if _is_dataset(real):
            found.append(folder.relative_to(root).as_posix() if folder != root else ".")
        if level >= depth:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for child in children:
            walk(child, level + 1)

    walk(root, 0)
    return found


def resolve_in_root(root: Path, name: str, exclude: tuple[Path, ...] = ()) -> Path:
    """The folder ``name`` (relative to ``root``), refused unless it is a data set inside the root.

    Checked again at load time, not only when listing: the folder may have been
    replaced by a symlink since.

    Raises
    ------
    UnsafeInputError
        With :data:`FOLDER_REFUSED` for ``..``, an absolute path, a symlink
        leading outside the root, the upload folder, or a folder that does not
        exist or holds no data set (one message for all: nothing is revealed).
    """
    root = Path(root).resolve()
    text = str(name).strip().replace("\\", "/")
    rel = PurePosixPath(text or ".")
    if rel.is_absolute() or ".." in rel.parts or ":" in text or "~" in rel.parts[:1]:
        raise UnsafeInputError(FOLDER_REFUSED)
    real = (root / Path(*rel.parts)).resolve() if rel.parts else root
    skip = {Path(p).resolve() for p in exclude}
    if not _inside(real, root) or any(_inside(real, s) for s in skip) or not real.is_dir() or not _is_dataset(real):
        raise UnsafeInputError(FOLDER_REFUSED)
    return real


def shown_folder(path: str | Path, environ: Mapping[str, str] | None = None) -> str:
    """How a loaded folder is named to a web user: relative to the data root in root mode (no server path)."""
    policy = folder_policy(environ)
    real = Path(path).resolve()
    if policy.mode == "root" and policy.root is not None and _inside(real, policy.root):
        return real.relative_to(policy.root).as_posix() if real != policy.root else "."
    return str(path)

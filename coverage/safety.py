"""Guards for untrusted files: XML entity expansion, oversized uploads, unsafe zip archives.

Uploads in the Streamlit app come from browsers; files on a shared drive may be
anything. These checks run before a parser sees the bytes.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from .errors import UnsafeInputError

__all__ = ["check_xml_safe", "safe_extract_zip", "check_size", "MAX_UPLOAD_BYTES"]

#: Largest upload the app accepts (bytes).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: Largest total size a zip may expand to, and the largest expansion ratio.
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_ZIP_MEMBERS = 10_000

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def check_xml_safe(path: str | Path, head_bytes: int = 1 << 20) -> None:
    """Refuse XML that declares a DTD or entities (billion-laughs, external entities).

    OSM XML never needs a DTD; the check reads the first megabyte, where a
    document type declaration must appear (it precedes the root element).

    Raises
    ------
    UnsafeInputError
        If a ``<!DOCTYPE`` or ``<!ENTITY`` declaration is present.
    """
    with open(path, "rb") as fh:
        head = fh.read(head_bytes)
    if _DTD.search(head):
        raise UnsafeInputError("XML declares a DOCTYPE/ENTITY, which OSM XML never needs; refused to "
                               "prevent entity expansion. Re-export the file from OSM/JOSM/osmium.", path=path)


def check_size(n_bytes: int, name: str, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse an upload larger than ``limit`` bytes."""
    if n_bytes > limit:
        raise UnsafeInputError(f"is {n_bytes / 1e6:.1f} MB, more than the {limit / 1e6:.0f} MB limit; "
                               "clip it to the study area or point the app at a folder on the server", path=name)


def safe_extract_zip(archive: str | Path, dest: str | Path) -> list[Path]:
    """Extract a zip (e.g. a zipped Shapefile) refusing path traversal and zip bombs.

    Parameters
    ----------
    archive : path
        The zip file.
    dest : path
        Folder to extract into (created if needed).

    Returns
    -------
    list of Path
        The extracted files.

    Raises
    ------
    UnsafeInputError
        On absolute paths or ``..`` in member names, symlinks, too many members,
        or an uncompressed size or ratio beyond the limits.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise UnsafeInputError("is not a valid zip archive", path=str(archive)) from exc
    out: list[Path] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise UnsafeInputError(f"holds {len(infos)} files, more than {MAX_ZIP_MEMBERS}", path=str(archive))
        total = sum(i.file_size for i in infos)
        packed = max(sum(i.compress_size for i in infos), 1)
        if total > MAX_UNZIPPED_BYTES or total / packed > MAX_ZIP_RATIO:
            raise UnsafeInputError(f"expands to {total / 1e6:.0f} MB (ratio {total / packed:.0f}:1); refused as a "
                                   "possible zip bomb", path=str(archive))
        for info in infos:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or ":" in info.filename:
                raise UnsafeInputError(f"member {info.filename!r} would be written outside the target folder",
                                       path=str(archive))
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise UnsafeInputError(f"member {info.filename!r} is a symbolic link", path=str(archive))
            if info.is_dir():
                continue
            target = dest.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                # copy in chunks and count, since file_size in the header can lie
                written = 0
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size or written > MAX_UNZIPPED_BYTES:
                        raise UnsafeInputError(f"member {info.filename!r} is larger than its header says",
                                               path=str(archive))
                    dst.write(chunk)
            out.append(target)
    return out

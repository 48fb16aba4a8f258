"""Guards for untrusted files: XML entity expansion, oversized uploads, unsafe zip archives.

Uploads in the Streamlit app come from browsers; files on a shared drive may be
anything. These checks run before a parser sees the bytes.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from coverage.errors import LayerReadError, UnsafeInputError
from coverage.read.sniff import sniff_content

__all__ = ["MAX_UPLOAD_BYTES", "check_size", "check_xml_safe", "safe_extract_zip"]

#: Largest upload the app accepts (bytes).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: Largest total size a zip may expand to, and the largest expansion ratio.
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
MAX_ZIP_RATIO = 200
#: The ratio test applies above this expanded size (small files may compress well and harm nobody).
MIN_BOMB_BYTES = 16 * 1024 * 1024
MAX_ZIP_MEMBERS = 10_000

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
#: Encodings whose bytes for ``<!DOCTYPE`` are plain ASCII (so the scan below sees them).
_ASCII_COMPATIBLE = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso8859-1"}
_NAME_START = re.compile(rb"[A-Za-z_:\x80-\xff]")


def check_xml_safe(path: str | Path, head_bytes: int = 1 << 20) -> None:
    """Refuse XML that declares a DTD or entities (billion-laughs, external entities).

    OSM XML never needs a DTD. A document type declaration can only come
    before the root element, after any number of comments and processing
    instructions, so the whole prolog is scanned (however long), and the
    first ``head_bytes`` are also searched for any ``<!DOCTYPE``/``<!ENTITY``.
    Files that are not UTF-8/ASCII XML at all (UTF-16, JSON, CSV, zip...) are
    refused before a parser sees them.

    Raises
    ------
    UnsafeInputError
        If a ``<!DOCTYPE`` or ``<!ENTITY`` declaration is present, or the
        encoding would hide one from this check.
    LayerReadError
        If the file is not XML.
    """

    refuse = ("XML declares a DOCTYPE/ENTITY, which OSM XML never needs; refused to prevent entity expansion. "
              "Re-export the file from OSM/JOSM/osmium.")
    with open(path, "rb") as fh:
        head = fh.read(head_bytes)
        if _DTD.search(head):
            raise UnsafeInputError(refuse, path=path)
        if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")) or \
                b"\x00" in head[:4]:
            raise UnsafeInputError("XML is UTF-16/UTF-32 encoded; OSM XML is UTF-8: re-export or convert it to "
                                   "UTF-8", path=path)
        buf = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        m = _XML_DECL_ENCODING.match(buf.lstrip())
        if m and m.group(1).decode("ascii").lower() not in _ASCII_COMPATIBLE:
            raise UnsafeInputError(f"XML declares the encoding {m.group(1).decode('ascii')!r}; OSM XML is UTF-8: "
                                   "convert it to UTF-8", path=path)
        pos = 0
        while True:
            # skip whitespace
            while pos < len(buf) and buf[pos:pos + 1] in b" \t\r\n":
                pos += 1
            if len(buf) - pos < 16:
                more = fh.read(1 << 20)
                if more:
                    buf = buf[pos:] + more
                    pos = 0
                    continue
            rest = buf[pos:]
            if not rest:
                raise LayerReadError("is empty or holds no XML element; export the streets from OSM/JOSM as "
                                     ".osm XML", path=path)
            if rest.startswith((b"<?", b"<!--")):
                end_mark = b"?>" if rest.startswith(b"<?") else b"-->"
                end = buf.find(end_mark, pos + 2)
                while end < 0:
                    more = fh.read(1 << 20)
                    if not more:
                        raise LayerReadError("is truncated: a comment or declaration before the root element "
                                             "never ends; export the streets again", path=path)
                    buf = buf[pos:] + more
                    pos = 0
                    end = buf.find(end_mark, 2)
                pos = end + len(end_mark)
                continue
            if rest.startswith(b"<!"):
                # <!DOCTYPE (any case) or any other markup declaration before the root element
                raise UnsafeInputError(refuse, path=path)
            if rest.startswith(b"<") and _NAME_START.match(rest[1:2]):
                return  # the root element: no DTD can follow

            _, description = sniff_content(path)
            raise LayerReadError(f"is not XML: its content looks like {description}; export the streets from "
                                 "OSM/JOSM as .osm XML, or give a street line layer with its own extension "
                                 "(.geojson/.gpkg/.shp)", path=path)


def check_size(n_bytes: int, name: str, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse an upload larger than ``limit`` bytes."""
    if n_bytes > limit:
        raise UnsafeInputError(f"is {n_bytes / 1e6:.1f} MB, more than the {limit / 1e6:.0f} MB limit; "
                               "clip it to the study area or point the app at a folder on the server", path=name,
                               zh=f"文件大小 {n_bytes / 1e6:.1f} MB，超过 {limit / 1e6:.0f} MB 的上限：请裁剪到研究范围，"
                                  "或让应用读取服务器上的文件夹")


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
    root = dest.resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise UnsafeInputError(f"is not a valid zip archive ({type(exc).__name__}: {exc}); zip the layer's files "
                               "again (.shp .shx .dbf .prj together)", path=str(archive),
                               zh="不是有效的zip压缩包：请重新打包该图层的文件（.shp .shx .dbf .prj 一起）") from exc
    out: list[Path] = []
    seen: set[str] = set()
    with zf:
        infos = zf.infolist()
        _check_zip_size(infos, archive)
        for info in infos:
            target = _member_target(info, dest, root, seen, archive)
            if target is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_member(zf, info, target, archive)
            out.append(target)
    return out


def _check_zip_size(infos: list[zipfile.ZipInfo], archive: str | Path) -> None:
    """Refuse too many members, or a total (or ratio) that looks like a zip bomb, before anything is written."""
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UnsafeInputError(f"holds {len(infos)} files, more than {MAX_ZIP_MEMBERS}", path=str(archive))
    total = sum(i.file_size for i in infos)
    packed = max(sum(i.compress_size for i in infos), 1)
    if total > MAX_UNZIPPED_BYTES or (total > MIN_BOMB_BYTES and total / packed > MAX_ZIP_RATIO):
        raise UnsafeInputError(f"expands to {total / 1e6:.0f} MB (ratio {total / packed:.0f}:1); refused as a "
                               "possible zip bomb", path=str(archive),
                               zh=f"解压后达 {total / 1e6:.0f} MB（压缩比 {total / packed:.0f}:1），疑似压缩炸弹：已拒绝")


def _member_target(info: zipfile.ZipInfo, dest: Path, root: Path, seen: set[str], archive: str | Path
                   ) -> Path | None:
    """Where a member may be written (None for a folder entry); refuses traversal, links, repeats, passwords.

    ``seen`` collects the lower-cased member names: two members differing
    only in case would overwrite each other on Windows and macOS.
    """
    raw_name = info.filename
    name = PurePosixPath(raw_name.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or ":" in raw_name or "\x00" in raw_name \
            or raw_name.startswith(("/", "\\")):
        raise UnsafeInputError(f"member {raw_name!r} would be written outside the target folder; "
                               "refused", path=str(archive), zh=f"压缩包成员 {raw_name!r} 会写到目标文件夹之外：已拒绝")
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        raise UnsafeInputError(f"member {raw_name!r} is a symbolic link; refused", path=str(archive))
    if info.is_dir():
        return None
    key = name.as_posix().lower()
    if key in seen:
        raise UnsafeInputError(f"member {raw_name!r} appears twice; refused", path=str(archive))
    seen.add(key)
    if info.flag_bits & 0x1:
        raise LayerReadError(f"member {raw_name!r} is password-protected; unzip it yourself and give the "
                             "layer's files", path=str(archive))
    target = dest.joinpath(*[p for p in name.parts if p not in ("", ".")])
    if not target.resolve().is_relative_to(root):
        raise UnsafeInputError(f"member {raw_name!r} would be written outside the target folder; "
                               "refused", path=str(archive), zh=f"压缩包成员 {raw_name!r} 会写到目标文件夹之外：已拒绝")
    return target


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, archive: str | Path) -> None:
    """Write one member, counting the bytes as they come (the header's ``file_size`` can lie)."""
    raw_name = info.filename
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            written = 0
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size or written > MAX_UNZIPPED_BYTES:
                    raise UnsafeInputError(f"member {raw_name!r} is larger than its header says; refused "
                                           "as a possible zip bomb", path=str(archive))
                dst.write(chunk)
    except UnsafeInputError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise LayerReadError(f"member {raw_name!r} cannot be unpacked ({type(exc).__name__}: {exc}); the "
                             "zip is damaged or uses an unsupported compression: zip the files again",
                             path=str(archive)) from exc

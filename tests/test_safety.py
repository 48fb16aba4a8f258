"""Hostile input: oversized uploads, unsafe zips, XML entity tricks, code injection, HTML in names."""

from __future__ import annotations

import ast
import json
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from test_bad_input import plan
from toycity import make_toy

from coverage.errors import CoverageInputError, LayerReadError, UnsafeInputError
from coverage.network import walk_graph
from coverage.read import safety
from coverage.read.layers import read_layer
from coverage.read.safety import check_size, check_xml_safe, safe_extract_zip

PACKAGE = Path(__file__).resolve().parents[1] / "coverage"


# ------------------------------------------------------------------ sizes

def test_check_size_refuses_large_uploads():
    check_size(10, "facilities.csv", limit=10)
    with pytest.raises(UnsafeInputError) as info:
        check_size(safety.MAX_UPLOAD_BYTES + 1, "streets.osm")
    assert "streets.osm" in str(info.value) and "MB limit" in str(info.value) and "clip it" in str(info.value)


# ------------------------------------------------------------------ zips

def _zip(path: Path, members: list[tuple], compression=zipfile.ZIP_DEFLATED) -> Path:
    """members: (name, bytes) or (ZipInfo, bytes)."""
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members:
            z.writestr(name, data)
    return path


def _symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    info.create_system = 3
    return info


@pytest.mark.parametrize("member, why", [
    ("../evil.txt", "outside the target folder"),
    ("ok/../../evil.txt", "outside the target folder"),
    ("..\\evil.txt", "outside the target folder"),
    ("/tmp/evil_absolute.txt", "outside the target folder"),
    ("C:\\Windows\\evil.txt", "outside the target folder"),
    (_symlink_info("link.shp"), "symbolic link"),
])
def test_unsafe_zip_members_are_refused_before_writing(tmp_path, member, why):
    archive = _zip(tmp_path / "layer.zip", [("layer.dbf", b"x"), (member, b"/etc/passwd")])
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(UnsafeInputError) as info:
        safe_extract_zip(archive, dest)
    assert why in str(info.value) and "layer.zip" in str(info.value)
    assert not (tmp_path / "deep" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/evil_absolute.txt").exists()
    assert not (dest / "link.shp").exists()


def test_zip_bomb_is_refused_by_ratio(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", [("layer.dbf", b"\0" * (40 << 20))])
    assert archive.stat().st_size < 200_000
    with pytest.raises(UnsafeInputError, match="possible zip bomb"):
        safe_extract_zip(archive, tmp_path / "out")
    assert not any((tmp_path / "out").rglob("*.dbf"))


def test_zip_bomb_is_refused_by_total_size(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_UNZIPPED_BYTES", 1 << 20)
    archive = _zip(tmp_path / "big.zip", [("a.bin", os.urandom(600_000)), ("b.bin", os.urandom(600_000))],
                   compression=zipfile.ZIP_STORED)
    with pytest.raises(UnsafeInputError, match="expands to"):
        safe_extract_zip(archive, tmp_path / "out")


def test_too_many_members(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_ZIP_MEMBERS", 5)
    archive = _zip(tmp_path / "many.zip", [(f"f{i}.txt", b"x") for i in range(6)])
    with pytest.raises(UnsafeInputError, match="more than 5"):
        safe_extract_zip(archive, tmp_path / "out")


def test_header_that_lies_about_size(tmp_path):
    """A member whose declared size is smaller than its data must not be written in full."""
    data = b"A" * 100_000
    archive = _zip(tmp_path / "liar.zip", [("layer.dbf", data)])
    raw = bytearray(archive.read_bytes())
    # patch the uncompressed size in the local header (offset 22) and the central directory (offset 24)
    struct.pack_into("<I", raw, 22, 10)
    cd = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<I", raw, cd + 24, 10)
    archive.write_bytes(bytes(raw))
    with pytest.raises(CoverageInputError):
        safe_extract_zip(archive, tmp_path / "out")
    out = tmp_path / "out" / "layer.dbf"
    assert not out.exists() or out.stat().st_size <= 10


def test_duplicate_members_are_refused(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        archive = _zip(tmp_path / "dup.zip", [("layer.shp", b"1"), ("LAYER.shp", b"2")])
    with pytest.raises(UnsafeInputError, match="appears twice"):
        safe_extract_zip(archive, tmp_path / "out")


def test_encrypted_and_damaged_zips_give_input_errors(tmp_path):
    archive = _zip(tmp_path / "enc.zip", [("layer.shp", b"x" * 100)])
    raw = bytearray(archive.read_bytes())
    struct.pack_into("<H", raw, 6, 1)                      # local header: encrypted flag
    cd = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<H", raw, cd + 8, 1)                 # central directory: encrypted flag
    archive.write_bytes(bytes(raw))
    with pytest.raises(LayerReadError, match="password-protected"):
        safe_extract_zip(archive, tmp_path / "out")
    damaged = _zip(tmp_path / "damaged.zip", [("layer.shp", os.urandom(5000))])
    raw = bytearray(damaged.read_bytes())
    raw[100:200] = bytes(100)
    damaged.write_bytes(bytes(raw))
    with pytest.raises(CoverageInputError):
        safe_extract_zip(damaged, tmp_path / "out2")
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UnsafeInputError, match="not a valid zip"):
        safe_extract_zip(tmp_path / "not.zip", tmp_path / "out3")


def test_read_layer_uses_the_safe_extraction(tmp_path):
    archive = _zip(tmp_path / "communities.zip", [("../../communities.shp", b"x")])
    with pytest.raises(UnsafeInputError, match="outside the target folder"):
        read_layer(archive, kind="communities")


def test_safe_zip_extracts_nested_folders(tmp_path):
    archive = _zip(tmp_path / "ok.zip", [("社区/layer.shp", b"1"), ("社区/layer.dbf", b"2")])
    files = safe_extract_zip(archive, tmp_path / "out")
    assert sorted(f.relative_to(tmp_path / "out").as_posix() for f in files) == ["社区/layer.dbf", "社区/layer.shp"]


# ------------------------------------------------------------------ XML

OSM_BODY = '<osm version="0.6"><node id="1" lat="39.6" lon="106.8"/>&lol9;</osm>'
BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                            for i in range(1, 10))
                  + "]>\n" + OSM_BODY)
EXTERNAL_ENTITY = ('<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                   '<osm version="0.6"><way id="1"><tag k="name" v="&xxe;"/></way></osm>')
PADDED = ('<?xml version="1.0"?>\n<!--' + "x" * (3 << 20) + '-->\n<?pi more?>\n<!doctype osm [<!ENTITY a "b">]>'
          + '<osm version="0.6"/>')
PARAMETER_ENTITY = ('<?xml version="1.0"?><!DOCTYPE osm SYSTEM "http://example.invalid/osm.dtd">'
                    '<osm version="0.6"/>')


@pytest.mark.parametrize("text, encoding", [
    pytest.param(BILLION_LAUGHS, "utf-8", id="billion_laughs"),
    pytest.param(EXTERNAL_ENTITY, "utf-8", id="external_entity"),
    pytest.param(PADDED, "utf-8", id="doctype_after_3MB_of_comment"),
    pytest.param(PARAMETER_ENTITY, "utf-8", id="external_dtd"),
    pytest.param(EXTERNAL_ENTITY.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'),
                 "utf-16", id="utf16_hides_doctype"),
    pytest.param(EXTERNAL_ENTITY.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-7"?>')
                 .replace("<!DOCTYPE", "+ADw-!DOCTYPE"), "utf-8", id="utf7_declared"),
])
def test_xml_entities_refused_before_osmnx(tmp_path, monkeypatch, text, encoding):
    import osmnx

    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("osmnx saw an unsafe file")

    monkeypatch.setattr(osmnx, "graph_from_xml", boom)
    path = tmp_path / "streets.osm"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(UnsafeInputError) as info:
        walk_graph(path)
    assert "streets.osm" in str(info.value)
    with pytest.raises(UnsafeInputError):
        check_xml_safe(path)


def test_safe_osm_xml_passes_the_check(tmp_path):
    path = tmp_path / "streets.osm"
    path.write_text('\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- exported -->\n<?xml-stylesheet x?>\n'
                    '<osm version="0.6"><node id="1" lat="39.6" lon="106.8"/></osm>', encoding="utf-8")
    check_xml_safe(path)


def test_non_xml_osm_is_a_read_error(tmp_path):
    path = tmp_path / "streets.osm"
    path.write_text("name,lon,lat\na,106.8,39.6\n")
    with pytest.raises(LayerReadError, match="is not XML: its content looks like CSV"):
        check_xml_safe(path)


def test_kml_with_entities_is_refused(tmp_path):
    path = tmp_path / "facilities.kml"
    path.write_text(EXTERNAL_ENTITY.replace("<osm", "<kml").replace("</osm>", "</kml>"))
    with pytest.raises(UnsafeInputError):
        read_layer(path, kind="facilities")


def test_cli_refuses_billion_laughs(tmp_path, capsys):
    folder = make_toy(tmp_path / "toy")
    (folder / "streets.osm").write_text(BILLION_LAUGHS)
    code, err, _ = plan(folder, tmp_path / "out", capsys)
    assert code == 2 and "streets.osm" in err and "DOCTYPE" in err and len(err.splitlines()) == 1


# ------------------------------------------------- no shell, no eval

_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
_FORBIDDEN_ATTRS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"), ("os", "spawnl"),
                    ("pickle", "loads"), ("pickle", "load"), ("yaml", "load"), ("marshal", "loads")}


def _package_sources():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    return files


def test_no_user_string_reaches_a_shell_or_eval():
    problems = []
    for path in _package_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("subprocess", "pty", "commands") for n in names):
                    problems.append(f"{where}: imports a process-spawning module")
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in _FORBIDDEN_CALLS:
                    problems.append(f"{where}: calls {f.id}()")
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                        (f.value.id, f.attr) in _FORBIDDEN_ATTRS:
                    problems.append(f"{where}: calls {f.value.id}.{f.attr}()")
                for kw in node.keywords:
                    if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        problems.append(f"{where}: shell=...")
    assert not problems, "\n".join(problems)


def test_grep_agrees():
    """A plain-text check too, in case of code the AST walk misses (strings passed to exec via getattr...)."""
    for path in _package_sources():
        text = path.read_text(encoding="utf-8")
        for needle in ("os.system(", "shell=True", "eval(", "exec(", "subprocess."):
            lines = [i + 1 for i, line in enumerate(text.splitlines())
                     if needle in line and not line.lstrip().startswith("#")
                     and not (needle == "eval(" and ".eval(" in line)]   # DataFrame.eval is not builtins.eval
            assert not lines, f"{path.name}:{lines} contains {needle!r}"


# ------------------------------------------------------- HTML in names

PAYLOAD = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


def test_html_in_names_is_escaped_in_report(tmp_path):
    from toycity import COMMUNITIES, FACILITIES, SUBDISTRICTS

    from coverage.outputs.report import render_report
    from coverage.pipeline import run_plan
    from coverage.study import load_study_area

    comms = [dict(c) for c in COMMUNITIES]
    comms[1]["name"] = PAYLOAD
    facs = [dict(f) for f in FACILITIES]
    facs[1]["name"] = PAYLOAD
    facs.append({"x": 600, "y": 400, "name": SCRIPT, "kind": f"<b>{SCRIPT}</b>"})   # unknown kind, listed
    subs = [dict(s) for s in SUBDISTRICTS]
    subs[1]["name"] = SCRIPT
    folder = make_toy(tmp_path / "toy", communities=comms, facilities=facs, subdistricts=subs)
    (folder / "meta.json").write_text(json.dumps({"title": PAYLOAD, "title_en": SCRIPT, "sources": [PAYLOAD]}),
                                      encoding="utf-8")
    result = run_plan(load_study_area(folder), isochrone_minutes=(15,))
    page = render_report(result)
    assert PAYLOAD not in page
    assert SCRIPT not in page and "<script>alert(2)" not in page
    assert "onerror=alert(1)" in page            # the names are there, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # the map tooltips carry the escaped form too (not only the tables)
    script_part = page[page.index("<script"):]
    assert "&lt;img src=x onerror=alert(1)&gt;" in script_part or "\\u0026lt;img" in script_part

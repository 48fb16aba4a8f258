"""Fuzzing the readers: damaged files raise CoverageInputError, never a raw KeyError, ValueError or crash.

Valid GeoJSON, CSV, zipped Shapefile, OSM XML and street GeoJSON files of the
toy city are mutated (random bytes, truncation, flipped bytes, inserted
syntax, deleted lines, numbers replaced by NaN/huge/negative/text) by a
seeded generator, and fed to :func:`coverage.read.layers.read_layer` and
:func:`coverage.network.walk_graph`. Each must return a result or raise a
:class:`~coverage.errors.CoverageInputError` subclass.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import warnings
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from toycity import make_toy

from coverage.errors import CoverageInputError
from coverage.network import walk_graph
from coverage.read.layers import read_layer
from coverage.study import load_study_area

REPLACEMENTS = [b"nan", b"1e999", b"-999", b"0", b"abc", b"", b"95", b"-181", b"1e308", b'"x"', b"null", b"[]"]
INSERTS = [b'"', b"{", b"}", b"[", b"<", b">", b"/>", b",", b"\n", b"\x00", b"\xff\xfe", b"&amp;", b"&x;", b"-"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = make_toy(tmp_path_factory.mktemp("fuzzbase"))
    g = gpd.read_file(folder / "facilities.geojson")
    pd.DataFrame({"name": g["name"], "kind": g["kind"], "lon": g.geometry.x, "lat": g.geometry.y}).to_csv(
        folder / "facilities.csv", index=False)
    c = gpd.read_file(folder / "communities.geojson")
    shp = folder / "shp"
    shp.mkdir()
    c.to_file(shp / "communities.shp", encoding="utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(shp.iterdir()):
            z.write(p, p.name)
    (folder / "communities.zip").write_bytes(buf.getvalue())
    net = walk_graph(folder / "streets.osm")
    net.edges[["name", "highway", "geometry"]].to_crs(4326).to_file(folder / "lines.geojson")
    return folder


READERS = {
    "communities.geojson": lambda p: read_layer(p, kind="communities"),
    "facilities.csv": lambda p: read_layer(p, kind="facilities"),
    "communities.zip": lambda p: read_layer(p, kind="communities"),
    "streets.osm": walk_graph,
    "lines.geojson": walk_graph,
}


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    op = rng.choice(["random", "truncate", "flip", "insert", "delete", "dup", "number", "number", "lines"])
    b = bytearray(data)
    if op == "random":
        b = bytearray(rng.randbytes(rng.randint(1, 3000)))
    elif op == "truncate":
        b = b[: rng.randint(1, max(1, len(b) - 1))]
    elif op == "flip":
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == "insert":
        i = rng.randrange(len(b))
        b[i:i] = rng.choice(INSERTS)
    elif op == "delete":
        i = rng.randrange(len(b))
        del b[i:i + rng.randint(1, 60)]
    elif op == "dup":
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 200))
        b[j:j] = b[i:j]
    elif op == "number":
        text = bytes(b)
        for _ in range(rng.randint(1, 4)):
            nums = list(re.finditer(rb"-?\d+(\.\d+)?", text))
            if not nums:
                break
            m = rng.choice(nums)
            text = text[:m.start()] + rng.choice(REPLACEMENTS) + text[m.end():]
        b = bytearray(text)
    elif op == "lines":
        lines = bytes(b).split(b"\n")
        for _ in range(rng.randint(1, 5)):
            if len(lines) > 1:
                del lines[rng.randrange(len(lines))]
        b = bytearray(b"\n".join(lines))
    return op, bytes(b)


def _cases(n: int, seed: int):
    rng = random.Random(seed)
    names = list(READERS)
    return [(k, names[k % len(names)], rng.randrange(2**32)) for k in range(n)]


@pytest.mark.parametrize("chunk", range(4))
def test_readers_raise_only_input_errors(base, tmp_path, chunk):
    """~200 mutated files in four chunks; each ends in a result or a CoverageInputError."""
    outcomes = {}
    failures = []
    for k, name, seed in _cases(200, 20240601)[chunk::4]:
        rng = random.Random(seed)
        op, data = mutate((base / name).read_bytes(), rng)
        path = tmp_path / str(k) / name
        path.parent.mkdir()
        path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                READERS[name](path)
            outcomes["ok"] = outcomes.get("ok", 0) + 1
        except CoverageInputError as exc:
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
            msg = str(exc)
            assert name in msg or "streets" in msg, f"case {k} ({op}): message does not name the file: {msg}"
        except Exception as exc:  # noqa: BLE001 - this is what the test is about
            failures.append(f"case {k} {name} {op}: {type(exc).__name__}: {exc}"[:300])
        shutil.rmtree(path.parent)
    assert not failures, "\n".join(failures)
    assert sum(outcomes.values()) == 50


def test_mutated_layers_through_the_whole_load(base, tmp_path):
    """Numbers in the polygon/point layers replaced by junk: load + plan give a result or an input error."""
    from coverage.pipeline import run_plan

    rng = random.Random(7)
    failures = []
    for k in range(24):
        folder = tmp_path / str(k)
        folder.mkdir()
        for name in ("streets.osm", "subdistricts.geojson", "communities.geojson", "facilities.geojson"):
            shutil.copy(base / name, folder / name)
        name = rng.choice(["communities.geojson", "subdistricts.geojson", "facilities.geojson"])
        text = (folder / name).read_bytes()
        for _ in range(rng.randint(1, 3)):
            nums = list(re.finditer(rb"-?\d+(\.\d+)?", text))
            m = rng.choice(nums)
            rep = rng.choice(REPLACEMENTS + [str(rng.uniform(-1, 1)).encode(), b"106.8", b"39.6"])
            text = text[:m.start()] + rep + text[m.end():]
        (folder / name).write_bytes(text)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = run_plan(load_study_area(folder), isochrone_minutes=(15,))
                s = result.summary()
            assert s["population"] is not None and s["population"] >= 0
        except CoverageInputError:
            pass
        except Exception as exc:  # noqa: BLE001
            failures.append(f"case {k} {name}: {type(exc).__name__}: {exc}"[:300])
    assert not failures, "\n".join(failures)

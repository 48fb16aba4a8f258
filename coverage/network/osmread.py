"""Fast OpenStreetMap reader: ``.osm``, ``.osm.pbf``, ``.osm.bz2``, ``.osm.gz`` straight into edge arrays.

The file is decoded once by `pyosmium <https://osmcode.org/pyosmium/>`_
(libosmium: PBF blocks and XML in C++, node locations kept in its own index);
libosmium writes the highway ways as OPL text, which numpy parses in a few
whole-buffer passes, with no Python object per tag or node (see
``benchmarks/bench_load.py``); the project's walk filter
(:func:`coverage.network.filter.walk_mask`) is applied to the ways, and the
degree-2 chains are contracted with numpy. The result is the network the osmnx
path gives (``graph_from_xml(simplify=False,
bidirectional=False)``, the walk filter, ``simplify_graph``,
:func:`~coverage.network.network_from_osmnx`): the same nodes, edges and
geometries, so the same lengths — whatever the file format.

The contraction follows osmnx's ``simplification._is_endpoint`` rules on the
directed graph of way segments (one-way streets one way, others both ways):
a node is kept when it loops onto itself, when all its edges point in or all
point out, or when it does not have exactly two neighbours with degree 2 or 4.
Chains between kept nodes become one edge; closed chains with no kept node
(an isolated ``highway=elevator`` ring) are dropped, as ``remove_rings`` does.

Ways whose nodes are missing from the file (an extract cut with ``osmium
extract --strategy simple``) are split where the nodes are missing: the pieces
inside the extract are kept, no segment is invented across the gap.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyproj
import shapely

from coverage.errors import LayerReadError, NetworkError
from coverage.geo.crs import choose_metric_crs
from coverage.network.filter import NO_HIGHWAY, WALK_EXCLUDE, walk_mask
from coverage.network.graph import WalkNetwork, network_from_edges
from coverage.read.layers import OSM_FORMATS
from coverage.read.safety import check_xml_safe

__all__ = ["OSM_FORMATS", "contract_degree2", "osm_format", "read_osm"]

#: Way tags kept as edge columns (besides ``osmid``).
EDGE_TAGS = ("name", "highway", "foot", "access", "service", "sidewalk", "bridge", "tunnel")
#: Tags read from each way: the walk filter's, the one-way rule's and the edge columns.
_READ_TAGS = frozenset(WALK_EXCLUDE) | {"oneway", "junction"} | set(EDGE_TAGS)
#: osmnx's one-way values (``graph._add_paths``) and those that reverse the node order.
_ONEWAY = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
_REVERSED = frozenset({"-1", "reverse", "T"})
#: libosmium output format: OPL without metadata, node locations written on the ways.
_OPL = "opl,add_metadata=false,locations_on_ways=true"
_OPL_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")
#: Node list letters and separators turned into spaces for :func:`numpy.fromstring`.
_OPL_NUMBERS = bytes.maketrans(b"Nnxy,\n", b"      ")


def osm_format(path: str | Path) -> str | None:
    """libosmium format of ``path`` from its ending (longest match), or None if not an OSM file."""
    name = Path(path).name.lower()
    for end in sorted(OSM_FORMATS, key=len, reverse=True):
        if name.endswith(end):
            return OSM_FORMATS[end]
    return None


class _WayCounter:
    """Counts every way, before the highway filter (for the ``no highway tag`` count)."""

    def __init__(self) -> None:
        self.n = 0

    def way(self, way: osmium.osm.Way) -> None:
        self.n += 1


def _write_opl(path: Path, fmt: str, opl: Path) -> int:
    """Decode ``path`` and write its highway ways, with their node locations, to ``opl``.

    Everything runs in libosmium (parsing, node location index, tag filter, OPL
    writer) except a one-line counter per way: no Python object per node or tag.
    Returns the number of ways in the file.
    """
    counter = _WayCounter()
    locations = osmium.NodeLocationsForWays(osmium.index.create_map("flex_mem"))
    locations.ignore_errors()  # nodes missing from an extract: the way is split there, below
    writer = osmium.SimpleWriter(osmium.io.File(str(opl), _OPL))
    try:
        with osmium.io.Reader(osmium.io.File(str(path), fmt), osmium.osm.NODE | osmium.osm.WAY) as reader:
            osmium.apply(reader, locations, osmium.filter.EntityFilter(osmium.osm.WAY), counter,
                         osmium.filter.KeyFilter("highway"), writer)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:  # libosmium's parse/decode errors
        kind = "an OSM PBF extract" if fmt == "pbf" else "OSM XML"
        raise LayerReadError(f"cannot read as {kind} ({exc}); download it again, or export the streets from "
                             "OSM/JOSM as .osm XML or with osmium", path=path) from exc
    finally:
        writer.close()
    return counter.n


def _unescape(text: str) -> str:
    """Undo OPL's ``%<hex code point>%`` escapes."""
    return _OPL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "%" in text else text


def _per_line(joined: bytes, marker: bytes) -> np.ndarray:
    """How often the one-byte ``marker`` occurs on each line of ``joined`` (one line per OPL field)."""
    if not joined:
        return np.zeros(0, dtype=np.int64)
    buf = np.frombuffer(joined, dtype=np.uint8)
    ends = np.r_[np.flatnonzero(buf == ord("\n")), len(buf)]
    # markers before each line end, by position (a running count over the text would be 8 bytes per
    # byte of text: gigabytes for a city of a million nodes)
    before = np.searchsorted(np.flatnonzero(buf == ord(marker)), ends)
    return np.diff(np.r_[0, before])


def _tag_table(fields: list[bytes], osmid: np.ndarray) -> pd.DataFrame:
    """One row per way: the tags the reader uses (``_READ_TAGS``) and ``osmid``; NaN where absent."""
    joined = b"\n".join(fields)
    counts = _per_line(joined, b"=")
    # OPL escapes "=" and "," inside keys and values, so the text splits into key, value, key, value, ...
    items = joined[1:].replace(b"\nT", b"\n").replace(b"=", b",").replace(b"\n", b",").split(b",") \
        if joined else []
    if len(items) != 2 * counts.sum():
        raise ValueError("malformed OPL tag list")
    way = np.repeat(np.arange(len(fields)), counts)
    kcode, kuniq = pd.factorize(pd.Series(items[0::2], dtype=object))
    keys = [_unescape(k.decode()) for k in kuniq]
    columns: dict[str, np.ndarray] = {}
    values = pd.Series(items[1::2], dtype=object)
    for code in np.argsort(keys):  # column order does not matter downstream; sorted is stable
        if keys[code] not in _READ_TAGS:
            continue
        sel = np.flatnonzero(kcode == code)
        w = way[sel]
        last = np.r_[w[1:] != w[:-1], True]  # a key repeated in one way: the last value wins (as a dict)
        vcode, vuniq = pd.factorize(values.iloc[sel[last]])
        col = np.full(len(fields), np.nan, dtype=object)
        col[w[last]] = np.array([_unescape(v.decode()) for v in vuniq], dtype=object)[vcode]
        columns[keys[code]] = col
    columns["osmid"] = osmid
    return pd.DataFrame(columns)


def _read_ways(path: Path, fmt: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Decode the highway ways: a tag table (one row per way) and their node runs.

    Returns ``ways, run_way, ref, lonlat, run_id, counts``: ``ref`` and
    ``lonlat`` are the located nodes of every way in file order, ``run_way``
    the way row of each, ``run_id`` the run each belongs to (a way is split
    into runs where its nodes are missing), ``counts`` the ways without a
    highway tag and the ways cut at missing nodes.

    Notes
    -----
    libosmium writes the ways as OPL text to a temporary file (one line per way,
    ``w<id> T<k>=<v>,... N<ref>x<lon>y<lat>,...``), which numpy parses in a
    few whole-buffer passes. Coordinates are libosmium's 7-decimal fixed point
    printed exactly, so they parse to the same doubles as ``Location.lon``/``lat``.
    """
    with tempfile.TemporaryDirectory(prefix="coverage-osm-") as tmp:
        opl = Path(tmp) / "ways.opl"
        n_ways = _write_opl(path, fmt, opl)
        text = opl.read_bytes()
    try:
        # no metadata: exactly three space-separated fields per line (OPL escapes spaces in values)
        fields = text.replace(b"\n", b" ").split(b" ")[:-1] if text else []
        if len(fields) % 3:
            raise ValueError("malformed OPL line")
        osmid = np.fromstring(b" ".join(fields[0::3]).replace(b"w", b""), dtype=np.int64, sep=" ")
        ways = _tag_table(fields[1::3], osmid)
        joined = b"\n".join(fields[2::3])
        counts = _per_line(joined, b"n")
        # "N" then "n<id>x<lon>y<lat>,..."; a node missing from the file is "n<id>xy": give it an impossible lon/lat
        flat = np.fromstring(joined.replace(b"xy", b"x999y999").translate(_OPL_NUMBERS), sep=" ")
        if len(flat) != 3 * counts.sum() or len(osmid) != len(counts):
            raise ValueError("malformed OPL node list")
    except ValueError as exc:
        raise LayerReadError(f"cannot parse libosmium's way list ({exc}); please report this file",
                             path=path) from exc
    flat = flat.reshape(-1, 3)
    if len(flat) and np.abs(flat[:, 0]).max() >= 2.0 ** 53:  # ids travel as doubles: exact below 2^53
        raise LayerReadError("node ids beyond 2^53 are not supported", path=path)
    ref_all, lon, lat = flat[:, 0].astype(np.int64), flat[:, 1], flat[:, 2]
    way_all = np.repeat(np.arange(len(counts)), counts)
    valid = lon != 999.0
    # a run starts at each way's first node and after each missing node
    starts = np.r_[True, (way_all[1:] != way_all[:-1]) | ~valid[:-1]] if len(valid) else valid
    run_all = np.cumsum(starts) - 1
    cut = len(np.unique(way_all[~valid]))
    counts_out = {NO_HIGHWAY: n_ways - len(ways), "ways cut where the file lacks their nodes": cut}
    return ways, way_all[valid], ref_all[valid], np.column_stack([lon[valid], lat[valid]]), \
        run_all[valid], counts_out


def _walk_filter(ways: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """:func:`~coverage.network.filter.walk_mask` per way, deciding each distinct combination of its tags once.

    A city has a few hundred combinations of the filter's tags among hundreds of
    thousands of ways. The counts come from a second pass over the excluded ways
    only: each way's reason depends on its own tags, so they are the counts of
    the whole table, in the same order.
    """
    cols = [t for t in WALK_EXCLUDE if t in ways.columns]
    combo = ways.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
    _, first = np.unique(combo, return_index=True)
    keep = walk_mask(ways.iloc[first][cols].reset_index(drop=True))[0][combo]
    _, excluded = walk_mask(ways.loc[~keep, cols])
    return keep, excluded


def contract_degree2(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contract the chains of degree-2 nodes of a directed multigraph, as ``osmnx.simplify_graph`` does.

    Parameters
    ----------
    n : int
        Number of nodes (positions ``0..n-1``).
    src, dst : ndarray of int
        Directed edges: a two-way street segment appears in both directions.

    Returns
    -------
    is_end : ndarray of bool
        Nodes kept (osmnx's endpoint rules 1-3).
    path_nodes : ndarray of int
        Node sequence of every simplified edge, concatenated, each from one kept
        node to another through dropped nodes.
    path_edge : ndarray of int
        Edge number (0, 1, ...) of each entry of ``path_nodes``.

    Notes
    -----
    Each edge is listed once (walking ignores direction). Chains are walked
    from all their ends at once, one numpy step per node along the longest
    chain; the walk from the larger ``(end, neighbour)`` is dropped. Closed
    chains with no kept node are never reached, so they are dropped.

    Examples
    --------
    A two-way street 0-1-2 with a side street 1-3: node 1 is a junction, so
    nothing is contracted; add node 4 between 2 and 5 and the chain 2-4-5 is:

    >>> src = np.array([0, 1, 1, 2, 1, 3, 2, 4, 4, 5]); dst = np.array([1, 0, 2, 1, 3, 1, 4, 2, 5, 4])
    >>> is_end, nodes, edge = contract_degree2(6, src, dst)
    >>> np.flatnonzero(~is_end).tolist(), np.split(nodes, np.flatnonzero(np.diff(edge)) + 1)[-1].tolist()
    ([2, 4], [1, 2, 4, 5])
    """
    out_deg = np.bincount(src, minlength=n)
    in_deg = np.bincount(dst, minlength=n)
    loop = np.zeros(n, dtype=bool)
    loop[src[src == dst]] = True
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    key = np.unique(lo[lo != hi] * n + hi[lo != hi])  # distinct neighbour pairs
    plo, phi = key // n, key % n
    neighbours = np.bincount(plo, minlength=n) + np.bincount(phi, minlength=n)
    deg = in_deg + out_deg
    is_end = loop | (out_deg == 0) | (in_deg == 0) | ~((neighbours == 2) & ((deg == 2) | (deg == 4)))
    rows, cols = np.concatenate([plo, phi]), np.concatenate([phi, plo])
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]
    first = np.searchsorted(rows, np.arange(n))
    mid = np.flatnonzero(~is_end)  # exactly two neighbours each
    nb0 = np.full(n, -1, dtype=np.int64)
    nb1 = np.full(n, -1, dtype=np.int64)
    nb0[mid], nb1[mid] = cols[first[mid]], cols[first[mid] + 1]
    # edges between two kept nodes stay as they are
    direct = is_end[plo] & is_end[phi]
    # walkers: one per (kept node, dropped neighbour), stepping until a kept node
    start = np.flatnonzero(is_end[rows] & ~is_end[cols])
    w_start, prev, cur = rows[start], rows[start].copy(), cols[start].copy()
    n_walk = len(start)
    steps_w, steps_node = [np.arange(n_walk), np.arange(n_walk)], [w_start, cur.copy()]
    active = np.arange(n_walk)
    for _ in range(n + 1):
        if not len(active):
            break
        c, p = cur[active], prev[active]
        nxt = np.where(nb0[c] == p, nb1[c], nb0[c])
        prev[active], cur[active] = c, nxt
        steps_w.append(active)
        steps_node.append(nxt)
        active = active[~is_end[nxt]]
    w_first, w_end, w_last = cols[start], cur, prev
    keep = (w_start < w_end) | ((w_start == w_end) & (w_first < w_last))
    walk_w = np.concatenate(steps_w)
    walk_node = np.concatenate(steps_node)
    sel = keep[walk_w]
    walk_w, walk_node = walk_w[sel], walk_node[sel]
    order = np.argsort(walk_w, kind="stable")  # steps were appended in order
    renum = np.cumsum(keep) - 1
    n_direct = int(direct.sum())
    path_edge = np.concatenate([np.repeat(np.arange(n_direct), 2), n_direct + renum[walk_w[order]]])
    path_nodes = np.concatenate([np.column_stack([plo[direct], phi[direct]]).ravel(), walk_node[order]])
    return is_end, path_nodes, path_edge


def _segments(ways: pd.DataFrame, run_way: np.ndarray, ref: np.ndarray, lonlat: np.ndarray, run_id: np.ndarray,
              keep_way: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node positions and consecutive-node segments of the walkable ways.

    Returns ``node_ref, node_lonlat, seg_a, seg_b, seg_way`` (segments as node positions, in way order).
    """
    sel = keep_way[run_way]
    ref, lonlat, run_id, run_way = ref[sel], lonlat[sel], run_id[sel], run_way[sel]
    # osmnx drops consecutive repeats of a node in a way (itertools.groupby)
    dup = np.zeros(len(ref), dtype=bool)
    dup[1:] = (ref[1:] == ref[:-1]) & (run_id[1:] == run_id[:-1])
    ref, lonlat, run_id, run_way = ref[~dup], lonlat[~dup], run_id[~dup], run_way[~dup]
    node_ref, first, inv = np.unique(ref, return_index=True, return_inverse=True)
    pair = np.flatnonzero(run_id[1:] == run_id[:-1])
    return node_ref, lonlat[first], inv[pair], inv[pair + 1], run_way[pair]


def _directed(ways: pd.DataFrame, seg_a: np.ndarray, seg_b: np.ndarray, seg_way: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Directed edges as osmnx builds them with ``bidirectional=False`` (``graph._add_paths``)."""
    def col(name: str) -> pd.Series:
        return ways[name] if name in ways.columns else pd.Series([None] * len(ways), index=ways.index)

    oneway_tag = col("oneway")
    one = (oneway_tag.isin(_ONEWAY) | (col("junction") == "roundabout")).to_numpy()
    rev = (one & oneway_tag.isin(_REVERSED).to_numpy())[seg_way]
    one = one[seg_way]
    fwd_a, fwd_b = np.where(rev, seg_b, seg_a), np.where(rev, seg_a, seg_b)
    two = ~one
    return np.concatenate([fwd_a, seg_b[two]]), np.concatenate([fwd_b, seg_a[two]])


def _edge_tags(ways: pd.DataFrame, path_nodes: np.ndarray, path_edge: np.ndarray, seg_a: np.ndarray,
               seg_b: np.ndarray, seg_way: np.ndarray, n: int, n_edges: int) -> pd.DataFrame:
    """Tags of the simplified edges: one value where the merged ways agree, else all of them."""
    key = np.minimum(seg_a, seg_b) * n + np.maximum(seg_a, seg_b)
    order = np.argsort(key, kind="stable")  # first way in file order wins a shared segment
    skey = key[order]
    step = np.flatnonzero(path_edge[1:] == path_edge[:-1])
    a, b = path_nodes[step], path_nodes[step + 1]
    pos = np.searchsorted(skey, np.minimum(a, b) * n + np.maximum(a, b))
    way = seg_way[order[pos]]
    pairs = pd.DataFrame({"edge": path_edge[step], "way": way}).drop_duplicates()
    out = pd.DataFrame(index=pd.RangeIndex(n_edges))
    for tag in ("osmid", *EDGE_TAGS):
        if tag not in ways.columns:
            continue
        vals = pd.DataFrame({"edge": pairs["edge"].to_numpy(), "v": ways[tag].to_numpy()[pairs["way"].to_numpy()]})
        vals = vals.dropna().drop_duplicates()
        many = vals["edge"].duplicated(keep=False).to_numpy()
        col = pd.Series([None] * n_edges, dtype=object)
        one = vals.loc[~many]
        col.iloc[one["edge"].to_numpy()] = one["v"].to_numpy()
        multi = vals.loc[many].sort_values(["edge", "v"], key=lambda c: c if c.name == "edge" else c.map(str))
        cuts = np.flatnonzero(np.diff(multi["edge"].to_numpy())) + 1
        values = multi["v"].to_numpy()
        heads = multi["edge"].to_numpy()[np.r_[0, cuts]] if len(multi) else np.zeros(0, dtype=np.int64)
        # osmid: the list of merged ways (as osmnx); tags: OSM's own "a;b" for several values, so that
        # columns stay plain text (plots, groupby, GeoPackage)
        parts = [p.tolist() if tag == "osmid" else ";".join(map(str, p)) for p in np.split(values, cuts)]
        col.iloc[heads] = pd.Series(parts if len(multi) else [], dtype=object).to_numpy()
        out[tag] = col.to_numpy()
    return out


def read_osm(path: str | Path, crs: pyproj.CRS | None = None, clip: shapely.Geometry | None = None) -> WalkNetwork:
    """Read the walkable, simplified street network of an OSM file.

    Parameters
    ----------
    path : str or Path
        ``.osm`` / ``.osm.xml`` XML, ``.osm.bz2`` / ``.osm.gz`` compressed XML or ``.osm.pbf``.
    crs : pyproj.CRS, optional
        Metric CRS; by default the UTM zone of the network's nodes (as the osmnx path chooses it).
    clip : shapely geometry, optional
        Study area in EPSG:4326: only way segments that touch it are kept (before simplification).

    Returns
    -------
    WalkNetwork
        ``excluded`` counts each OSM way once, under its first reason (no highway tag, then the
        walk filter's tags in :data:`coverage.network.filter.WALK_EXCLUDE` order).

    Raises
    ------
    LayerReadError
        Missing, empty, unknown or unreadable file.
    NetworkError
        No street, or none walkable.
    """
    path = Path(path)
    fmt = osm_format(path)
    if fmt is None:
        raise LayerReadError(f"not an OSM file; the OSM reader takes {', '.join(OSM_FORMATS)}", path=path)
    if not path.exists():
        raise LayerReadError("file not found", path=path)
    if path.stat().st_size == 0:
        raise LayerReadError("the file is empty (0 bytes)", path=path)
    if fmt == "osm":
        check_xml_safe(path)
    ways, run_way, ref, lonlat, run_id, counts = _read_ways(path, fmt)
    if len(ways) == 0:
        raise NetworkError("contains no way with a highway tag; is this a street extract?", path=path)
    keep_way, excluded = _walk_filter(ways)
    excluded = {k: v for k, v in {NO_HIGHWAY: counts[NO_HIGHWAY], **excluded}.items() if v}
    node_ref, node_ll, seg_a, seg_b, seg_way = _segments(ways, run_way, ref, lonlat, run_id, keep_way)
    if clip is not None:
        lines = shapely.linestrings(np.stack([node_ll[seg_a], node_ll[seg_b]], axis=1))
        shapely.prepare(clip)
        inside = shapely.intersects(lines, clip)
        seg_a, seg_b, seg_way = seg_a[inside], seg_b[inside], seg_way[inside]
    if len(seg_a) == 0:
        where = " inside the study area" if clip is not None else ""
        raise NetworkError(f"no walkable street{where} after the walk filter (excluded: {excluded})", path=path)
    n = len(node_ref)
    src, dst = _directed(ways, seg_a, seg_b, seg_way)
    _, path_nodes, path_edge = contract_degree2(n, src, dst)
    n_edges = int(path_edge[-1]) + 1 if len(path_edge) else 0
    tags = _edge_tags(ways, path_nodes, path_edge, seg_a, seg_b, seg_way, n, n_edges)
    used = np.unique(path_nodes[np.r_[True, path_edge[1:] != path_edge[:-1]] |
                                np.r_[path_edge[1:] != path_edge[:-1], True]])
    if crs is None:
        crs = choose_metric_crs(gpd.GeoSeries(shapely.points(node_ll[used]), crs=4326))
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(node_ll[:, 0], node_ll[:, 1])
    xy = np.column_stack([x, y])
    geoms = shapely.linestrings(xy[path_nodes], indices=path_edge)
    ends = np.flatnonzero(np.r_[path_edge[1:] != path_edge[:-1], True])
    starts = np.r_[0, ends[:-1] + 1]
    pos = np.full(n, -1, dtype=np.int64)
    pos[used] = np.arange(len(used))
    tags["u"], tags["v"] = pos[path_nodes[starts]], pos[path_nodes[ends]]
    edges = gpd.GeoDataFrame(tags, geometry=geoms, crs=crs)
    cut = counts["ways cut where the file lacks their nodes"]
    source = path.name + (" (clipped to the study area)" if clip is not None else "")
    net = network_from_edges(edges, xy[used], node_id=node_ref[used], source=source, excluded=excluded)
    if cut:
        net.excluded["ways cut where the file lacks their nodes (kept inside)"] = int(cut)
    return net

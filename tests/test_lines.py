"""Tests for coverage.network.lines: un-noded centre-line layers -> street graph.

Every layer is hand-made in UTM 48N (EPSG:32648, Wuhai's zone) so that the
right nodes, edges and lengths are known by construction.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiLineString, Point

from coverage.errors import CoverageInputError, CRSError, GeometryError, ValueInputError
from coverage.network.lines import LinesGraph, graph_from_lines

CRS = "EPSG:32648"
X0, Y0 = 500_000.0, 4_370_000.0  # near Wuhai in UTM 48N


def line(*pts: tuple[float, float]) -> LineString:
    """A LineString in local metres around (X0, Y0)."""
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


def layer(geoms: list, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=CRS)


def graph(result: LinesGraph) -> nx.MultiGraph:
    """networkx graph built straight from the edge table (not via to_networkx)."""
    g = nx.MultiGraph()
    g.add_nodes_from(result.nodes.index)
    for u, v, length in result.edges[["u", "v", "length"]].itertuples(index=False):
        g.add_edge(u, v, length=length)
    return g


def node_at(result: LinesGraph, x: float, y: float) -> int:
    d = np.hypot(result.nodes["x"] - (X0 + x), result.nodes["y"] - (Y0 + y))
    assert d.min() < 1e-6, f"no node at ({x}, {y})"
    return int(d.idxmin())


def assert_well_formed(result: LinesGraph) -> None:
    """Node ids 0..n-1, every edge runs from node u to node v, length = geometry length."""
    nodes, edges = result.nodes, result.edges
    assert list(nodes.index) == list(range(len(nodes)))
    assert set(edges["u"]) | set(edges["v"]) == set(nodes.index)  # no orphan nodes
    start = shapely.get_point(edges.geometry.values, 0)
    end = shapely.get_point(edges.geometry.values, -1)
    assert shapely.equals(start, nodes.geometry.values[edges["u"].to_numpy()]).all()
    assert shapely.equals(end, nodes.geometry.values[edges["v"].to_numpy()]).all()
    np.testing.assert_allclose(edges["length"], edges.length)
    assert (edges["length"] > 0).all()
    assert nodes.crs == edges.crs == CRS
    key = np.sort(edges[["u", "v"]].to_numpy(), axis=1)
    for (_a, _b), grp in edges.groupby([key[:, 0], key[:, 1]]):
        geoms = grp.geometry.normalize().values
        assert len(set(shapely.to_wkb(geoms))) == len(geoms), "duplicated edge"


def test_plus_without_shared_vertex_is_split_into_four_edges():
    lines = layer([line((-100, 0), (100, 0)), line((0, -50), (0, 50))], name=["横街", "竖街"])
    result = graph_from_lines(lines)
    assert_well_formed(result)
    assert len(result.nodes) == 5
    assert len(result.edges) == 4
    centre = node_at(result, 0, 0)
    assert (result.edges[["u", "v"]] == centre).any(axis=1).all()  # all four meet at the centre
    assert sorted(result.edges["length"]) == pytest.approx([50, 50, 100, 100])
    by_name = result.edges.groupby("name")["length"].sum()
    assert by_name["横街"] == pytest.approx(200) and by_name["竖街"] == pytest.approx(100)
    assert result.repairs["crossings_split"] == 1
    assert sum(result.skipped.values()) == 0


def test_plus_without_splitting_stays_two_edges():
    # A bridge over a road: crossing is not a junction.
    lines = layer([line((-100, 0), (100, 0)), line((0, -50), (0, 50))])
    result = graph_from_lines(lines, split_at_crossings=False)
    assert_well_formed(result)
    assert len(result.edges) == 2
    assert len(result.nodes) == 4
    assert sorted(result.edges["length"]) == pytest.approx([100, 200])
    assert result.repairs["crossings_split"] == 0


def test_shared_vertex_connects_even_without_splitting():
    lines = layer([line((-100, 0), (0, 0), (100, 0)), line((0, -50), (0, 0), (0, 50))])
    result = graph_from_lines(lines, split_at_crossings=False)
    assert_well_formed(result)
    assert len(result.nodes) == 5 and len(result.edges) == 4


@pytest.mark.parametrize("split", [True, False])
def test_t_stopping_one_metre_short_is_snapped_within_tolerance(split):
    lines = layer([line((-100, 0), (100, 0)), line((0, -100), (0, -1))], name=["bar", "stem"])

    snapped = graph_from_lines(lines, snap_tolerance=2.0, split_at_crossings=split)
    assert_well_formed(snapped)
    g = graph(snapped)
    west, stem_foot = node_at(snapped, -100, 0), node_at(snapped, 0, -100)
    assert nx.has_path(g, west, stem_foot)
    assert nx.shortest_path_length(g, west, stem_foot, weight="length") == pytest.approx(200)
    assert len(snapped.nodes) == 4 and len(snapped.edges) == 3
    assert snapped.repairs["ends_snapped"] == 1
    node_at(snapped, 0, 0)  # the stem end was moved onto the bar

    apart = graph_from_lines(lines, snap_tolerance=0.5, split_at_crossings=split)
    assert_well_formed(apart)
    g = graph(apart)
    west, stem_foot = node_at(apart, -100, 0), node_at(apart, 0, -100)
    assert not nx.has_path(g, west, stem_foot)
    assert len(apart.edges) == 2
    assert apart.repairs["ends_snapped"] == 0


def test_t_touching_exactly_is_split_without_snapping():
    lines = layer([line((-100, 0), (100, 0)), line((0, -100), (0, 0))])
    result = graph_from_lines(lines, snap_tolerance=0.0, split_at_crossings=False)
    assert_well_formed(result)
    assert len(result.edges) == 3 and len(result.nodes) == 4
    assert result.repairs["ends_snapped"] == 0


def test_ends_stopping_short_of_each_other_become_one_node():
    # An L corner drawn as two lines whose ends miss each other by ~1.4 m.
    lines = layer([line((0, 0), (100, 0)), line((101, 1), (101, 100))])
    result = graph_from_lines(lines, snap_tolerance=2.0)
    assert_well_formed(result)
    assert len(result.nodes) == 3
    assert nx.is_connected(graph(result))
    assert result.repairs["ends_merged"] == 2
    corner = node_at(result, 100.5, 0.5)  # ends meet at their midpoint
    assert sorted(graph(result).degree(n) for n in result.nodes.index) == [1, 1, 2]
    assert graph(result).degree(corner) == 2


def test_existing_junction_is_kept_when_a_third_end_is_merged_into_it():
    # Two ends already meet exactly at the origin; a third stops 1 m short.
    lines = layer([line((-50, 0), (0, 0)), line((0, 0), (50, 0)), line((0, 51), (0, 1))])
    result = graph_from_lines(lines, snap_tolerance=2.0)
    assert_well_formed(result)
    origin = node_at(result, 0, 0)
    assert graph(result).degree(origin) == 3
    assert result.repairs["ends_merged"] == 1


def test_attributes_are_carried_to_every_piece():
    lines = layer(
        [line((-100, 0), (100, 0)), line((0, -100), (0, 100)), line((50, -100), (50, 100))],
        name=["人民路", "海北街", "滨河路"],
        highway=["primary", "residential", "footway"],
        foot=[None, "yes", "designated"],
        access=["yes", None, "no"],
    )
    lines.index = ["a", "b", "c"]
    result = graph_from_lines(lines)
    assert_well_formed(result)
    assert len(result.edges) == 7  # bar cut twice (3), each cross street once (2 + 2)
    for col in ["name", "highway", "foot", "access", "source_row"]:
        assert col in result.edges.columns
    for _, edge in result.edges.iterrows():
        src = lines.loc[edge["source_row"]]
        for col in ["name", "highway", "foot", "access"]:
            assert (edge[col] == src[col]) or (edge[col] is None and src[col] is None) or (
                edge[col] != edge[col] and src[col] != src[col]
            )
    assert result.edges.groupby("source_row").size().to_dict() == {"a": 3, "b": 2, "c": 2}


def test_input_column_clashing_with_computed_one_is_renamed():
    lines = layer([line((0, 0), (10, 0))], length=[999.0], u=["x"])
    result = graph_from_lines(lines)
    assert result.renamed_columns == {"length": "length_input", "u": "u_input"}
    assert result.edges["length"].iloc[0] == pytest.approx(10)
    assert result.edges["length_input"].iloc[0] == 999.0
    assert result.edges["u_input"].iloc[0] == "x"


def test_multilinestring_is_exploded_into_parts():
    multi = MultiLineString([line((0, 0), (100, 0)), line((0, 50), (100, 50))])
    lines = layer([multi, line((200, 0), (300, 0))], name=["两段", "一段"])
    result = graph_from_lines(lines)
    assert_well_formed(result)
    assert len(result.edges) == 3
    assert (result.edges["name"] == "两段").sum() == 2
    assert (result.edges.loc[result.edges["name"] == "两段", "source_row"] == 0).all()
    assert result.repairs["multipart_exploded"] == 1


def test_non_lines_and_broken_geometries_are_skipped_and_counted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # building the NaN line warns
        nan_line = shapely.linestrings([[X0, Y0 + 300], [np.nan, Y0]], handle_nan="allow")
    lines = layer(
        [
            line((0, 0), (100, 0)),
            Point(X0, Y0 + 10),  # a bus stop in the street layer
            None,
            LineString(),
            line((0, 200), (0, 200)),  # zero length
            nan_line,
            GeometryCollection([Point(X0, Y0 + 20), line((0, 100), (100, 100))]),
        ]
    )
    result = graph_from_lines(lines)
    assert_well_formed(result)
    assert len(result.edges) == 2
    assert result.skipped == {
        "empty_geometry": 2,
        "not_a_line": 2,
        "invalid_coordinates": 1,
        "zero_length": 1,
        "collapsed_pieces": 0,
    }
    assert result.skipped_rows["not_a_line"] == [1, 6]
    assert result.skipped_rows["empty_geometry"] == [2, 3]
    assert result.skipped_rows["zero_length"] == [4]
    assert result.skipped_rows["invalid_coordinates"] == [5]


def test_z_is_dropped():
    lines = layer([LineString([(X0, Y0, 1000.0), (X0 + 30, Y0 + 40, 1010.0)])])
    result = graph_from_lines(lines)
    assert not result.edges.geometry.has_z.any()
    assert result.edges["length"].iloc[0] == pytest.approx(50)  # planar, not 3-D
    assert result.repairs["z_dropped"] == 1


def test_nothing_usable_raises_naming_the_file():
    points = layer([Point(X0, Y0), Point(X0 + 1, Y0)])
    with pytest.raises(GeometryError, match="streets.shp") as err:
        graph_from_lines(points, source="streets.shp")
    assert "2 Point" in str(err.value)
    assert isinstance(err.value, CoverageInputError)
    with pytest.raises(GeometryError, match="empty"):
        graph_from_lines(points.iloc[:0], source="streets.shp")


def test_geographic_or_missing_crs_raises_crs_error():
    lines = layer([line((0, 0), (100, 0))])
    with pytest.raises(CRSError, match="geographic") as err:
        graph_from_lines(lines.to_crs(4326), source="streets.geojson")
    assert err.value.path == "streets.geojson"
    with pytest.raises(CRSError, match="no coordinate reference system"):
        graph_from_lines(lines.set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match="metres"):
        graph_from_lines(lines.set_crs("EPSG:2249", allow_override=True))  # US feet


def test_bad_tolerance_raises():
    lines = layer([line((0, 0), (100, 0))])
    with pytest.raises(ValueInputError):
        graph_from_lines(lines, snap_tolerance=-1)
    with pytest.raises(ValueInputError):
        graph_from_lines(lines, snap_tolerance=float("nan"))


@pytest.mark.parametrize("split", [True, False])
def test_duplicate_line_is_deduplicated(split):
    street = line((0, 0), (40, 0), (60, 10), (100, 0))
    reversed_copy = LineString(list(street.coords)[::-1])
    lines = layer([street, street, reversed_copy], name=["原", "复制", "反向"])
    result = graph_from_lines(lines, split_at_crossings=split)
    assert_well_formed(result)
    assert len(result.edges) == 1
    assert result.edges["name"].iloc[0] == "原"  # the first drawing is kept
    assert result.repairs["duplicates_removed"] == 2
    assert result.edges["length"].iloc[0] == pytest.approx(street.length)


def test_partial_overlap_keeps_the_shared_stretch_once():
    lines = layer([line((0, 0), (100, 0)), line((50, 0), (150, 0))])
    result = graph_from_lines(lines)
    assert_well_formed(result)
    assert result.edges["length"].sum() == pytest.approx(150)
    assert len(result.edges) == 3
    assert result.repairs["duplicates_removed"] == 1


def test_self_crossing_line_is_split_at_its_own_crossing():
    lines = layer([line((0, 0), (100, 0), (50, 50), (50, -50))])
    result = graph_from_lines(lines)
    assert_well_formed(result)
    assert result.repairs["self_crossings_split"] == 1
    assert graph(result).degree(node_at(result, 50, 0)) == 4  # loop counts twice
    assert result.edges["length"].sum() == pytest.approx(lines.length.sum())


def test_grid_of_long_lines_is_fully_noded():
    n, block = 30, 100.0
    side = (n - 1) * block
    geoms = [line((0, k * block), (side, k * block)) for k in range(n)]
    geoms += [line((k * block, 0), (k * block, side)) for k in range(n)]
    lines = layer(geoms, name=[f"街{k}" for k in range(2 * n)])
    result = graph_from_lines(lines)
    assert_well_formed(result)
    assert len(result.nodes) == n * n
    assert len(result.edges) == 2 * n * (n - 1)
    assert result.edges["length"].sum() == pytest.approx(lines.length.sum())
    np.testing.assert_allclose(result.edges["length"], block)
    g = graph(result)
    assert nx.is_connected(g)
    # Manhattan distance corner to corner.
    assert nx.shortest_path_length(
        g, node_at(result, 0, 0), node_at(result, side, side), weight="length"
    ) == pytest.approx(2 * side)


def test_to_networkx_matches_edges():
    lines = layer([line((-100, 0), (100, 0)), line((0, -50), (0, 50))])
    result = graph_from_lines(lines)
    g = result.to_networkx()
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 4
    assert sum(d["length"] for *_, d in g.edges(data=True)) == pytest.approx(300)
    assert g.nodes[0]["x"] == result.nodes.loc[0, "x"]


def test_street_drawn_twice_a_hair_apart_keeps_one_copy_and_its_junction():
    # Two tracings of the same bar 0.1 mm apart, a stem stopping 1 m short of them.
    bar = line((-100, 0), (-30, 0.4), (40, -0.3), (100, 0))
    twin = shapely.affinity.translate(bar, 1e-4, 0)
    lines = layer([bar, twin, line((0, -100), (0, -1))], name=["bar", "bar again", "stem"])
    result = graph_from_lines(lines, snap_tolerance=2.0)
    assert_well_formed(result)
    stem_length = bar.distance(Point(X0, Y0 - 100))  # stem end moved onto the bar
    assert result.edges["length"].sum() == pytest.approx(bar.length + stem_length, abs=0.05)
    g = graph(result)
    assert nx.is_connected(g)
    stem_top = result.edges.loc[result.edges["name"] == "stem", "v"].iloc[0]
    assert g.degree(stem_top) == 3  # a real T: bar, bar, stem

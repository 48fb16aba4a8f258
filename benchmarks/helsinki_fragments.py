"""Residents on street fragments in real OSM data: pyrosm's central Helsinki, before and after the fragment rule.

Demand: every building of the extract (pyrosm), population proportional to footprint area
(10,000 people in all). Facilities: the extract's ``amenity=clinic|doctors|hospital|pharmacy``.
The network is read from the PBF and from the same data as OSM XML. "Before" is the plain
nearest-street snap (the fragment rule switched off with a zero tolerance); "after" is the
default rule. Prints one table.

    python benchmarks/helsinki_fragments.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pyrosm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the PBF → XML helper of the tests
from toycity import pbf_to_xml

from coverage.access import measure_coverage
from coverage.network import read_osm
from coverage.params import CoverageParams


def layers(pbf: str, crs):
    osm = pyrosm.OSM(pbf)
    b = osm.get_buildings()
    b = b[b.geometry.type.isin(["Polygon", "MultiPolygon"])].to_crs(crs)
    demand = b[["geometry"]].copy()
    area = b.geometry.area.to_numpy()
    demand["population"] = 10_000 * area / area.sum()
    demand["community"] = "all"
    demand["subdistrict"] = "all"
    demand["geometry"] = b.geometry.representative_point()
    pois = osm.get_pois(custom_filter={"amenity": ["clinic", "doctors", "hospital", "pharmacy"]}).to_crs(crs)
    fac = pois[["geometry"]].copy()
    fac["geometry"] = pois.geometry.representative_point()
    fac["name"] = [f"poi{i}" for i in range(len(fac))]
    fac["counted"] = True
    return demand.reset_index(drop=True), fac.reset_index(drop=True)


def main() -> int:
    pbf = pyrosm.get_data("helsinki_pbf")
    with tempfile.TemporaryDirectory() as tmp:
        nets = {"pbf": read_osm(pbf), "xml": read_osm(pbf_to_xml(pbf, Path(tmp) / "helsinki.osm"))}
    demand, fac = layers(pbf, nets["pbf"].crs)
    print(f"Helsinki (pyrosm): {len(demand)} buildings as demand points, {len(fac)} health amenities")
    print("| reader | rule | nodes | on fragments (points / people %) | moved | stranded (people %) "
          "| within 500 m | within 15 min |")
    print("|---|---|---|---|---|---|---|---|")
    for reader, net in nets.items():
        for rule, tol in (("before (plain snap)", 1e-9), ("after (default)", CoverageParams().island_snap_m)):
            cov = measure_coverage(net, fac, demand, CoverageParams(island_snap_m=tol))
            d = cov.demand
            pop = d["population"].to_numpy()
            frag = (d["moved_off_fragment"] | d["on_network_island"]).to_numpy()
            t = cov.totals()
            print(f"| {reader} | {rule} | {net.n_nodes:,} | {int(frag.sum())} / {100 * pop[frag].sum() / pop.sum():.1f} % "
                  f"| {int(d['moved_off_fragment'].sum())} | {int(d['on_network_island'].sum())} "
                  f"({100 * pop[d['on_network_island'].to_numpy()].sum() / pop.sum():.1f} %) "
                  f"| {100 * t['radius']['share']:.1f} % | {100 * t['walk']['share']:.1f} % |")
        med = np.median(measure_coverage(net, fac, demand).demand.query("moved_off_fragment")["snap_offset_m"])
        print(f"|   | median distance to the main network of moved points: {med:.1f} m |||||||")
    return 0


if __name__ == "__main__":
    sys.exit(main())

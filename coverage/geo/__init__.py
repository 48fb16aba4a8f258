"""Geography: coordinate systems (metric CRS choice, GCJ-02/BD-09/CGCS2000), the one point-in-area rule,
and approximate community areas."""

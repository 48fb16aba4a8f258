"""Reading input: content sniffing, safety limits, layers in any format and CRS, cell values, office tables,
OSM areas. Every bad input raises a :class:`coverage.errors.CoverageInputError` naming the file, row and fix."""

"""Outputs: everything a plan writes or draws.

- :mod:`~coverage.outputs.summary`: ``summary.json`` text;
- :mod:`~coverage.outputs.tables`: ``compliance.csv`` (headers from the plan's own thresholds);
- :mod:`~coverage.outputs.files`: :func:`write_outputs`, every file of an output folder;
- :mod:`~coverage.outputs.mapview`, :mod:`~coverage.outputs.streetimage`: the plan map (report and app);
- :mod:`~coverage.outputs.offline`: self-contained Leaflet HTML (no CDN);
- :mod:`~coverage.outputs.report`: ``report.html``.
"""

from coverage.outputs.files import write_outputs, write_proposals
from coverage.outputs.report import render_report, to_report
from coverage.outputs.summary import summary_json
from coverage.outputs.tables import COMPLIANCE_COLUMNS, compliance_table

__all__ = [
           "COMPLIANCE_COLUMNS",
           "compliance_table",
           "render_report",
           "summary_json",
           "to_report",
           "write_outputs",
           "write_proposals",
]

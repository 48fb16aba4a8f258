"""The package version (a leaf: read by outputs and the CLI without importing the whole package)."""

__version__ = "0.1.0"

"""Support for the Streamlit app (``app.py``): uploads, caches, scenarios, display tables, downloads, strings."""

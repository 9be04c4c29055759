"""Streamlit building blocks shared by the pages (the app layer: caching lives here)."""

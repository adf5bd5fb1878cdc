"""Web routes: health and metrics here; each feature's pages and API live with that feature."""

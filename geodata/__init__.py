"""Real ONS geography and statistics in, GIS-ready results out."""

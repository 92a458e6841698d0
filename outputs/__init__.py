"""Results out: GIS export (GeoPackage, GeoParquet, GeoJSON, flow maps), maps and charts of run directories."""

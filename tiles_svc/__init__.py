"""tiles_svc: renders XYZ (Web Mercator) tiles of published openEO services, with a cache."""

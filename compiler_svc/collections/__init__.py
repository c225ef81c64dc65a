"""Collection catalogue: STAC 1.0 documents (datacube + eo extensions) generated into `data/`.

Use `compiler_svc.collections.catalogue` (module) for lookups.
"""

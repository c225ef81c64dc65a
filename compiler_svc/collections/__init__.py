"""Collection catalogue: STAC 1.0 documents (datacube + eo extensions) generated into `data/`."""

from compiler_svc.collections.catalogue import Collection, catalogue, get_collection  # noqa: F401

"""From a plan's `SentinelHubLoad` to an xarray cube: Process API request, fetch, decode."""

from .cube import cube_from_raster, parse_userdata
from .request import process_request

__all__ = ["cube_from_raster", "parse_userdata", "process_request"]

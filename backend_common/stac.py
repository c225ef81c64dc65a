"""The STAC documents of this backend, built in one place with pystac's object model.

- `results_item`: the STAC Item of a batch job's results (`store_pb2.JobResults`): the gateway's
  GET /jobs/{id}/results and the executor's record stored beside the result files.
- `collection`: a collection document of the compiler's catalogue.

Building through pystac's classes and extension helpers (instead of writing dicts) keeps field
names, value formats and the declared `stac_extensions` consistent: an extension's schema URL is
listed exactly when one of its fields is used. pystac's `validate()` is not called: it downloads
the JSON Schemas, and the services run without network access to them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import pystac
from pystac.extensions import eo, raster
from pystac.extensions.datacube import DatacubeExtension, Dimension
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.sar import SarExtension
from pystac.extensions.version import VersionExtension
from pystac.utils import datetime_to_str, str_to_datetime

from backend_proto.v1 import store_pb2

#: The STAC version of every document built here (pystac's); the landing page names it too.
STAC_VERSION = pystac.get_stac_version()


def bbox_polygon(bbox: list[float]) -> dict | None:
    """The GeoJSON polygon of a [west, south, east, north] box (None unless 4 numbers)."""
    if len(bbox) != 4:
        return None
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _time(text: str) -> datetime | None:
    """An RFC 3339 time; None when empty or not a time (e.g. in a converted old document): one bad
    value must not make the whole document fail."""
    if not text:
        return None
    try:
        return str_to_datetime(text)
    except ValueError:
        return None


def _nodata(value: float) -> float | str:
    # JSON has no NaN/Infinity: the raster extension spells them as strings.
    if math.isnan(value):
        return raster.NoDataStrings.NAN
    if math.isinf(value):
        return raster.NoDataStrings.INF if value > 0 else raster.NoDataStrings.NINF
    return value


def _statistics(stats: store_pb2.BandStatistics) -> raster.Statistics | None:
    values = {f: getattr(stats, f) for f in ("minimum", "maximum", "mean", "stddev", "valid_percent")
              if stats.HasField(f)}
    return raster.Statistics.create(**values) if values else None


def _raster_band(band: store_pb2.Band) -> raster.RasterBand | None:
    stats = _statistics(band.statistics) if band.HasField("statistics") else None
    if not (band.data_type or band.HasField("nodata") or stats):
        return None
    made = raster.RasterBand.create(
        data_type=raster.DataType(band.data_type) if band.data_type in set(raster.DataType) else None,
        nodata=_nodata(band.nodata) if band.HasField("nodata") else None,
        statistics=stats,
    )
    # the raster extension's bands have no name; readers match them to eo:bands by it
    made.properties["name"] = band.name
    return made


def _eo_band(band: store_pb2.Band) -> eo.Band:
    return eo.Band.create(
        name=band.name,
        common_name=band.common_name or None,
        description=band.description or None,
        center_wavelength=band.center_wavelength if band.HasField("center_wavelength") else None,
    )


def _add_asset(item: pystac.Item, asset: store_pb2.ResultAsset, href: str) -> None:
    stac_asset = pystac.Asset(href=href, title=asset.title or asset.name, media_type=asset.media_type or None,
                              roles=list(asset.roles) or ["data"])
    item.add_asset(asset.name, stac_asset)  # before the extensions: they declare themselves on the item
    when = _time(asset.datetime)
    if when is not None:  # the date of a per-date file (common metadata; pystac has no setter for assets)
        stac_asset.extra_fields["datetime"] = datetime_to_str(when)
    if asset.size > 0:
        FileExtension.ext(stac_asset, add_if_missing=True).size = asset.size
    if asset.HasField("projection"):
        proj = asset.projection
        ProjectionExtension.ext(stac_asset, add_if_missing=True).apply(
            epsg=proj.epsg or None,
            shape=list(proj.shape) or None,
            bbox=list(proj.bbox) or None,
            transform=list(proj.transform) or None,
        )
    if asset.bands:
        eo.EOExtension.ext(stac_asset, add_if_missing=True).bands = [_eo_band(b) for b in asset.bands]
        raster_bands = [_raster_band(b) for b in asset.bands]
        if any(raster_bands):
            raster.RasterExtension.ext(stac_asset, add_if_missing=True).bands = [
                b if b is not None else raster.RasterBand.create() for b in raster_bands
            ]


def results_item(
    item_id: str,
    results: store_pb2.JobResults,
    *,
    assets: Iterable[store_pb2.ResultAsset],
    asset_href: Callable[[store_pb2.ResultAsset], str],
    production_time: str,
    properties: dict[str, Any] | None = None,
    links: Iterable[dict] = (),
) -> dict:
    """The STAC Item (a dict) of job results with the given `assets` (a selection of
    `results.assets`, in that order), each linked by `asset_href(asset)`.

    `properties` are added as they are (title, expires, openeo:status, ...). Without a date or
    date range in `results` the Item's `datetime` is `production_time` (STAC needs a time)."""
    bbox = list(results.bbox) if len(results.bbox) == 4 else None
    geometry = json.loads(results.geometry_json) if results.geometry_json else (bbox_polygon(bbox) if bbox else None)
    start, end = _time(results.start_datetime), _time(results.end_datetime)
    when = _time(results.datetime)
    if when is None and not (start and end):
        when = _time(production_time) or datetime.now(timezone.utc)  # STAC needs a time
    item = pystac.Item(id=item_id, geometry=geometry, bbox=bbox, datetime=when,
                       start_datetime=start if start and end else None, end_datetime=end if start and end else None,
                       properties=dict(properties or {}))
    for asset in assets:
        _add_asset(item, asset, asset_href(asset))
    for link in links:
        item.add_link(pystac.Link.from_dict(link))
    document = item.to_dict(include_self_link=True, transform_hrefs=False)
    if bbox is None:
        document.pop("bbox", None)  # pystac writes [] for "no bbox", which no STAC schema accepts
    return document


def collection(
    collection_id: str,
    *,
    title: str,
    description: str,
    keywords: list[str],
    license: str,
    providers: list[dict],
    bbox: list[float],
    interval: list[str | None],
    cube_dimensions: dict[str, dict],
    bands: list[dict],
    summaries: dict[str, Any],
    links: list[dict],
    version: str | None = None,
    extra_fields: dict[str, Any] | None = None,
) -> dict:
    """A STAC Collection (a dict) with the datacube extension's `cube:dimensions`, the eo
    extension's band summary and, when given, the version extension's `version`. Summaries that
    would be empty (e.g. no instruments) are left out."""
    coll = pystac.Collection(
        id=collection_id,
        title=title,
        description=description,
        keywords=keywords,
        license=license,
        providers=[pystac.Provider.from_dict(p) for p in providers],
        extent=pystac.Extent(pystac.SpatialExtent([bbox]),
                             pystac.TemporalExtent([[_time(t) if t else None for t in interval]])),
        # no `maxcount`: pystac would silently drop lists of 25 values or more (OLCI has 31 bands)
        summaries=pystac.Summaries({k: v for k, v in summaries.items() if v not in (None, [], {})}, maxcount=math.inf),
        extra_fields=dict(extra_fields or {}),
    )
    DatacubeExtension.ext(coll, add_if_missing=True).apply(
        {name: Dimension.from_dict(dict(dim)) for name, dim in cube_dimensions.items()})
    if bands:
        eo.EOExtension.summaries(coll, add_if_missing=True).bands = [eo.Band(dict(b)) for b in bands]
    # summaries of extension fields given as plain values still declare their extension
    for prefix, extension in (("eo:", eo.EOExtension), ("sar:", SarExtension), ("raster:", raster.RasterExtension)):
        if any(key.startswith(prefix) for key in coll.summaries.to_dict()):
            extension.add_to(coll)
    if version:
        VersionExtension.ext(coll, add_if_missing=True).version = version
    for link in links:
        coll.add_link(pystac.Link.from_dict(link))
    return coll.to_dict(include_self_link=False, transform_hrefs=False)

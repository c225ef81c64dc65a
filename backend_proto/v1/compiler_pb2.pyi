from backend_proto.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Purpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_UNSPECIFIED: _ClassVar[Purpose]
    PURPOSE_SYNC: _ClassVar[Purpose]
    PURPOSE_BATCH: _ClassVar[Purpose]
    PURPOSE_TILE: _ClassVar[Purpose]

class ResultStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_STRATEGY_UNSPECIFIED: _ClassVar[ResultStrategy]
    RESULT_STRATEGY_CUBE: _ClassVar[ResultStrategy]
    RESULT_STRATEGY_IMAGE: _ClassVar[ResultStrategy]
    RESULT_STRATEGY_GTIFF_PASSTHROUGH: _ClassVar[ResultStrategy]
PURPOSE_UNSPECIFIED: Purpose
PURPOSE_SYNC: Purpose
PURPOSE_BATCH: Purpose
PURPOSE_TILE: Purpose
RESULT_STRATEGY_UNSPECIFIED: ResultStrategy
RESULT_STRATEGY_CUBE: ResultStrategy
RESULT_STRATEGY_IMAGE: ResultStrategy
RESULT_STRATEGY_GTIFF_PASSTHROUGH: ResultStrategy

class GetCollectionRequest(_message.Message):
    __slots__ = ("collection_id", "user")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    user: _common_pb2.User
    def __init__(self, collection_id: _Optional[str] = ..., user: _Optional[_Union[_common_pb2.User, _Mapping]] = ...) -> None: ...

class CompileRequest(_message.Message):
    __slots__ = ("user", "process_json", "purpose", "tile", "parameters_json", "output_format")
    USER_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    TILE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    process_json: str
    purpose: Purpose
    tile: TileBounds
    parameters_json: str
    output_format: str
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., process_json: _Optional[str] = ..., purpose: _Optional[_Union[Purpose, str]] = ..., tile: _Optional[_Union[TileBounds, _Mapping]] = ..., parameters_json: _Optional[str] = ..., output_format: _Optional[str] = ...) -> None: ...

class TileBounds(_message.Message):
    __slots__ = ("west", "south", "east", "north", "epsg", "size")
    WEST_FIELD_NUMBER: _ClassVar[int]
    SOUTH_FIELD_NUMBER: _ClassVar[int]
    EAST_FIELD_NUMBER: _ClassVar[int]
    NORTH_FIELD_NUMBER: _ClassVar[int]
    EPSG_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    west: float
    south: float
    east: float
    north: float
    epsg: int
    size: int
    def __init__(self, west: _Optional[float] = ..., south: _Optional[float] = ..., east: _Optional[float] = ..., north: _Optional[float] = ..., epsg: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class ProblemReport(_message.Message):
    __slots__ = ("code", "message", "node_id", "parameter", "http_status")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    node_id: str
    parameter: str
    http_status: int
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., node_id: _Optional[str] = ..., parameter: _Optional[str] = ..., http_status: _Optional[int] = ...) -> None: ...

class ValidateResponse(_message.Message):
    __slots__ = ("errors",)
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[ProblemReport]
    def __init__(self, errors: _Optional[_Iterable[_Union[ProblemReport, _Mapping]]] = ...) -> None: ...

class BoundingBox(_message.Message):
    __slots__ = ("west", "south", "east", "north", "epsg")
    WEST_FIELD_NUMBER: _ClassVar[int]
    SOUTH_FIELD_NUMBER: _ClassVar[int]
    EAST_FIELD_NUMBER: _ClassVar[int]
    NORTH_FIELD_NUMBER: _ClassVar[int]
    EPSG_FIELD_NUMBER: _ClassVar[int]
    west: float
    south: float
    east: float
    north: float
    epsg: int
    def __init__(self, west: _Optional[float] = ..., south: _Optional[float] = ..., east: _Optional[float] = ..., north: _Optional[float] = ..., epsg: _Optional[int] = ...) -> None: ...

class SentinelHubLoad(_message.Message):
    __slots__ = ("node_id", "collection_id", "sh_type", "sh_deployment", "bbox", "width", "height", "geometry_json", "time_from", "time_to", "mosaicking", "evalscript", "data_filter_json", "processing_json", "band_labels", "temporal", "absorbed_node_ids", "result_node_id", "extra_inputs_json", "image_evalscript", "image_format")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    SH_TYPE_FIELD_NUMBER: _ClassVar[int]
    SH_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    BBOX_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    GEOMETRY_JSON_FIELD_NUMBER: _ClassVar[int]
    TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIELD_NUMBER: _ClassVar[int]
    MOSAICKING_FIELD_NUMBER: _ClassVar[int]
    EVALSCRIPT_FIELD_NUMBER: _ClassVar[int]
    DATA_FILTER_JSON_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_JSON_FIELD_NUMBER: _ClassVar[int]
    BAND_LABELS_FIELD_NUMBER: _ClassVar[int]
    TEMPORAL_FIELD_NUMBER: _ClassVar[int]
    ABSORBED_NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    RESULT_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    EXTRA_INPUTS_JSON_FIELD_NUMBER: _ClassVar[int]
    IMAGE_EVALSCRIPT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    collection_id: str
    sh_type: str
    sh_deployment: str
    bbox: BoundingBox
    width: int
    height: int
    geometry_json: str
    time_from: str
    time_to: str
    mosaicking: str
    evalscript: str
    data_filter_json: str
    processing_json: str
    band_labels: _containers.RepeatedScalarFieldContainer[str]
    temporal: bool
    absorbed_node_ids: _containers.RepeatedScalarFieldContainer[str]
    result_node_id: str
    extra_inputs_json: str
    image_evalscript: str
    image_format: str
    def __init__(self, node_id: _Optional[str] = ..., collection_id: _Optional[str] = ..., sh_type: _Optional[str] = ..., sh_deployment: _Optional[str] = ..., bbox: _Optional[_Union[BoundingBox, _Mapping]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., geometry_json: _Optional[str] = ..., time_from: _Optional[str] = ..., time_to: _Optional[str] = ..., mosaicking: _Optional[str] = ..., evalscript: _Optional[str] = ..., data_filter_json: _Optional[str] = ..., processing_json: _Optional[str] = ..., band_labels: _Optional[_Iterable[str]] = ..., temporal: _Optional[bool] = ..., absorbed_node_ids: _Optional[_Iterable[str]] = ..., result_node_id: _Optional[str] = ..., extra_inputs_json: _Optional[str] = ..., image_evalscript: _Optional[str] = ..., image_format: _Optional[str] = ...) -> None: ...

class OutputFormat(_message.Message):
    __slots__ = ("format", "options_json", "defaulted", "media_type", "extension", "band_name")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    DEFAULTED_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_FIELD_NUMBER: _ClassVar[int]
    BAND_NAME_FIELD_NUMBER: _ClassVar[int]
    format: str
    options_json: str
    defaulted: bool
    media_type: str
    extension: str
    band_name: str
    def __init__(self, format: _Optional[str] = ..., options_json: _Optional[str] = ..., defaulted: _Optional[bool] = ..., media_type: _Optional[str] = ..., extension: _Optional[str] = ..., band_name: _Optional[str] = ...) -> None: ...

class ResultSource(_message.Message):
    __slots__ = ("node_id", "job_id", "spatial_extent_json", "temporal_extent_json", "bands_json")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SPATIAL_EXTENT_JSON_FIELD_NUMBER: _ClassVar[int]
    TEMPORAL_EXTENT_JSON_FIELD_NUMBER: _ClassVar[int]
    BANDS_JSON_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    job_id: str
    spatial_extent_json: str
    temporal_extent_json: str
    bands_json: str
    def __init__(self, node_id: _Optional[str] = ..., job_id: _Optional[str] = ..., spatial_extent_json: _Optional[str] = ..., temporal_extent_json: _Optional[str] = ..., bands_json: _Optional[str] = ...) -> None: ...

class ExecutionPlan(_message.Message):
    __slots__ = ("loads", "graph_json", "result_node_id", "output", "estimated_pixels", "estimated_processing_units", "estimated_bytes", "estimated_seconds", "process_json", "used_udps", "node_order", "strategy", "result_sources", "output_if_not_raster", "single_image", "batch_api", "statistical_aggregations")
    LOADS_FIELD_NUMBER: _ClassVar[int]
    GRAPH_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PIXELS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PROCESSING_UNITS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    USED_UDPS_FIELD_NUMBER: _ClassVar[int]
    NODE_ORDER_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    RESULT_SOURCES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_IF_NOT_RASTER_FIELD_NUMBER: _ClassVar[int]
    SINGLE_IMAGE_FIELD_NUMBER: _ClassVar[int]
    BATCH_API_FIELD_NUMBER: _ClassVar[int]
    STATISTICAL_AGGREGATIONS_FIELD_NUMBER: _ClassVar[int]
    loads: _containers.RepeatedCompositeFieldContainer[SentinelHubLoad]
    graph_json: str
    result_node_id: str
    output: OutputFormat
    estimated_pixels: float
    estimated_processing_units: float
    estimated_bytes: int
    estimated_seconds: float
    process_json: str
    used_udps: _containers.RepeatedScalarFieldContainer[str]
    node_order: _containers.RepeatedScalarFieldContainer[str]
    strategy: ResultStrategy
    result_sources: _containers.RepeatedCompositeFieldContainer[ResultSource]
    output_if_not_raster: OutputFormat
    single_image: bool
    batch_api: BatchApiPlan
    statistical_aggregations: _containers.RepeatedCompositeFieldContainer[StatisticalAggregation]
    def __init__(self, loads: _Optional[_Iterable[_Union[SentinelHubLoad, _Mapping]]] = ..., graph_json: _Optional[str] = ..., result_node_id: _Optional[str] = ..., output: _Optional[_Union[OutputFormat, _Mapping]] = ..., estimated_pixels: _Optional[float] = ..., estimated_processing_units: _Optional[float] = ..., estimated_bytes: _Optional[int] = ..., estimated_seconds: _Optional[float] = ..., process_json: _Optional[str] = ..., used_udps: _Optional[_Iterable[str]] = ..., node_order: _Optional[_Iterable[str]] = ..., strategy: _Optional[_Union[ResultStrategy, str]] = ..., result_sources: _Optional[_Iterable[_Union[ResultSource, _Mapping]]] = ..., output_if_not_raster: _Optional[_Union[OutputFormat, _Mapping]] = ..., single_image: _Optional[bool] = ..., batch_api: _Optional[_Union[BatchApiPlan, _Mapping]] = ..., statistical_aggregations: _Optional[_Iterable[_Union[StatisticalAggregation, _Mapping]]] = ...) -> None: ...

class StatisticalAggregation(_message.Message):
    __slots__ = ("node_id", "load_node_id", "collection_id", "sh_type", "sh_deployment", "geometries", "geometries_json", "time_from", "time_to", "interval", "temporal", "evalscript", "data_filter_json", "processing_json", "band_labels", "reducer", "probability", "batch")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LOAD_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    SH_TYPE_FIELD_NUMBER: _ClassVar[int]
    SH_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    GEOMETRIES_FIELD_NUMBER: _ClassVar[int]
    GEOMETRIES_JSON_FIELD_NUMBER: _ClassVar[int]
    TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TEMPORAL_FIELD_NUMBER: _ClassVar[int]
    EVALSCRIPT_FIELD_NUMBER: _ClassVar[int]
    DATA_FILTER_JSON_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_JSON_FIELD_NUMBER: _ClassVar[int]
    BAND_LABELS_FIELD_NUMBER: _ClassVar[int]
    REDUCER_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    load_node_id: str
    collection_id: str
    sh_type: str
    sh_deployment: str
    geometries: _containers.RepeatedCompositeFieldContainer[StatisticalGeometry]
    geometries_json: str
    time_from: str
    time_to: str
    interval: str
    temporal: bool
    evalscript: str
    data_filter_json: str
    processing_json: str
    band_labels: _containers.RepeatedScalarFieldContainer[str]
    reducer: str
    probability: float
    batch: bool
    def __init__(self, node_id: _Optional[str] = ..., load_node_id: _Optional[str] = ..., collection_id: _Optional[str] = ..., sh_type: _Optional[str] = ..., sh_deployment: _Optional[str] = ..., geometries: _Optional[_Iterable[_Union[StatisticalGeometry, _Mapping]]] = ..., geometries_json: _Optional[str] = ..., time_from: _Optional[str] = ..., time_to: _Optional[str] = ..., interval: _Optional[str] = ..., temporal: _Optional[bool] = ..., evalscript: _Optional[str] = ..., data_filter_json: _Optional[str] = ..., processing_json: _Optional[str] = ..., band_labels: _Optional[_Iterable[str]] = ..., reducer: _Optional[str] = ..., probability: _Optional[float] = ..., batch: _Optional[bool] = ...) -> None: ...

class StatisticalGeometry(_message.Message):
    __slots__ = ("bbox", "width", "height", "geometry_json")
    BBOX_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    GEOMETRY_JSON_FIELD_NUMBER: _ClassVar[int]
    bbox: BoundingBox
    width: int
    height: int
    geometry_json: str
    def __init__(self, bbox: _Optional[_Union[BoundingBox, _Mapping]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., geometry_json: _Optional[str] = ...) -> None: ...

class BatchApiPlan(_message.Message):
    __slots__ = ("grid_id", "resolution", "buffer_px", "estimated_tiles", "estimated_processing_units")
    GRID_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    BUFFER_PX_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TILES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PROCESSING_UNITS_FIELD_NUMBER: _ClassVar[int]
    grid_id: int
    resolution: float
    buffer_px: int
    estimated_tiles: int
    estimated_processing_units: float
    def __init__(self, grid_id: _Optional[int] = ..., resolution: _Optional[float] = ..., buffer_px: _Optional[int] = ..., estimated_tiles: _Optional[int] = ..., estimated_processing_units: _Optional[float] = ...) -> None: ...

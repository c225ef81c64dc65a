from backend_proto.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ServiceSpendingEntry(_message.Message):
    __slots__ = ("service_id", "user_id", "processing_units", "tiles")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    user_id: str
    processing_units: float
    tiles: int
    def __init__(self, service_id: _Optional[str] = ..., user_id: _Optional[str] = ..., processing_units: _Optional[float] = ..., tiles: _Optional[int] = ...) -> None: ...

class ServiceSpendingBatch(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ServiceSpendingEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[ServiceSpendingEntry, _Mapping]]] = ...) -> None: ...

class ServiceSpendingTotals(_message.Message):
    __slots__ = ("costs",)
    class CostsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    COSTS_FIELD_NUMBER: _ClassVar[int]
    costs: _containers.ScalarMap[str, float]
    def __init__(self, costs: _Optional[_Mapping[str, float]] = ...) -> None: ...

class SyncAdmissionRequest(_message.Message):
    __slots__ = ("user_id", "requests_per_minute", "in_flight", "processing_units_per_month", "slot_seconds", "shared_capacity")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_PER_MONTH_FIELD_NUMBER: _ClassVar[int]
    SLOT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SHARED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    requests_per_minute: int
    in_flight: int
    processing_units_per_month: float
    slot_seconds: int
    shared_capacity: int
    def __init__(self, user_id: _Optional[str] = ..., requests_per_minute: _Optional[int] = ..., in_flight: _Optional[int] = ..., processing_units_per_month: _Optional[float] = ..., slot_seconds: _Optional[int] = ..., shared_capacity: _Optional[int] = ...) -> None: ...

class SyncAdmission(_message.Message):
    __slots__ = ("admitted", "limit", "limit_value", "retry_after_seconds", "slot_id", "slot_token", "spent_this_month")
    ADMITTED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_VALUE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SPENT_THIS_MONTH_FIELD_NUMBER: _ClassVar[int]
    admitted: bool
    limit: str
    limit_value: float
    retry_after_seconds: float
    slot_id: str
    slot_token: str
    spent_this_month: float
    def __init__(self, admitted: _Optional[bool] = ..., limit: _Optional[str] = ..., limit_value: _Optional[float] = ..., retry_after_seconds: _Optional[float] = ..., slot_id: _Optional[str] = ..., slot_token: _Optional[str] = ..., spent_this_month: _Optional[float] = ...) -> None: ...

class SyncSlotRef(_message.Message):
    __slots__ = ("slot_id", "slot_token")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    slot_token: str
    def __init__(self, slot_id: _Optional[str] = ..., slot_token: _Optional[str] = ...) -> None: ...

class SpendingRequest(_message.Message):
    __slots__ = ("user_id", "processing_units")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    processing_units: float
    def __init__(self, user_id: _Optional[str] = ..., processing_units: _Optional[float] = ...) -> None: ...

class UserSpendingRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class UserSpending(_message.Message):
    __slots__ = ("month", "processing_units", "active_jobs", "seconds_to_next_month")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_JOBS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_TO_NEXT_MONTH_FIELD_NUMBER: _ClassVar[int]
    month: str
    processing_units: float
    active_jobs: int
    seconds_to_next_month: float
    def __init__(self, month: _Optional[str] = ..., processing_units: _Optional[float] = ..., active_jobs: _Optional[int] = ..., seconds_to_next_month: _Optional[float] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("user", "page")
    USER_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    page: _common_pb2.Page
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.Page, _Mapping]] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "user_id", "title", "description", "process_json", "status", "progress", "created", "updated", "plan", "budget", "log_level", "version", "usage_json", "error_json", "attempts", "cancel_requested", "job_options_json", "costs", "results")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    USAGE_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_JSON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    JOB_OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    title: str
    description: str
    process_json: str
    status: str
    progress: float
    created: str
    updated: str
    plan: str
    budget: float
    log_level: str
    version: int
    usage_json: str
    error_json: str
    attempts: int
    cancel_requested: bool
    job_options_json: str
    costs: float
    results: JobResults
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., status: _Optional[str] = ..., progress: _Optional[float] = ..., created: _Optional[str] = ..., updated: _Optional[str] = ..., plan: _Optional[str] = ..., budget: _Optional[float] = ..., log_level: _Optional[str] = ..., version: _Optional[int] = ..., usage_json: _Optional[str] = ..., error_json: _Optional[str] = ..., attempts: _Optional[int] = ..., cancel_requested: _Optional[bool] = ..., job_options_json: _Optional[str] = ..., costs: _Optional[float] = ..., results: _Optional[_Union[JobResults, _Mapping]] = ...) -> None: ...

class JobResults(_message.Message):
    __slots__ = ("assets", "bbox", "geometry_json", "datetime", "start_datetime", "end_datetime")
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    BBOX_FIELD_NUMBER: _ClassVar[int]
    GEOMETRY_JSON_FIELD_NUMBER: _ClassVar[int]
    DATETIME_FIELD_NUMBER: _ClassVar[int]
    START_DATETIME_FIELD_NUMBER: _ClassVar[int]
    END_DATETIME_FIELD_NUMBER: _ClassVar[int]
    assets: _containers.RepeatedCompositeFieldContainer[ResultAsset]
    bbox: _containers.RepeatedScalarFieldContainer[float]
    geometry_json: str
    datetime: str
    start_datetime: str
    end_datetime: str
    def __init__(self, assets: _Optional[_Iterable[_Union[ResultAsset, _Mapping]]] = ..., bbox: _Optional[_Iterable[float]] = ..., geometry_json: _Optional[str] = ..., datetime: _Optional[str] = ..., start_datetime: _Optional[str] = ..., end_datetime: _Optional[str] = ...) -> None: ...

class ResultAsset(_message.Message):
    __slots__ = ("name", "key", "media_type", "roles", "title", "size", "datetime", "projection", "bands")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    DATETIME_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    BANDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    key: str
    media_type: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    title: str
    size: int
    datetime: str
    projection: Projection
    bands: _containers.RepeatedCompositeFieldContainer[Band]
    def __init__(self, name: _Optional[str] = ..., key: _Optional[str] = ..., media_type: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., size: _Optional[int] = ..., datetime: _Optional[str] = ..., projection: _Optional[_Union[Projection, _Mapping]] = ..., bands: _Optional[_Iterable[_Union[Band, _Mapping]]] = ...) -> None: ...

class Projection(_message.Message):
    __slots__ = ("epsg", "shape", "bbox", "transform")
    EPSG_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    BBOX_FIELD_NUMBER: _ClassVar[int]
    TRANSFORM_FIELD_NUMBER: _ClassVar[int]
    epsg: int
    shape: _containers.RepeatedScalarFieldContainer[int]
    bbox: _containers.RepeatedScalarFieldContainer[float]
    transform: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, epsg: _Optional[int] = ..., shape: _Optional[_Iterable[int]] = ..., bbox: _Optional[_Iterable[float]] = ..., transform: _Optional[_Iterable[float]] = ...) -> None: ...

class Band(_message.Message):
    __slots__ = ("name", "description", "common_name", "center_wavelength", "data_type", "nodata", "statistics")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    COMMON_NAME_FIELD_NUMBER: _ClassVar[int]
    CENTER_WAVELENGTH_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    NODATA_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    common_name: str
    center_wavelength: float
    data_type: str
    nodata: float
    statistics: BandStatistics
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., common_name: _Optional[str] = ..., center_wavelength: _Optional[float] = ..., data_type: _Optional[str] = ..., nodata: _Optional[float] = ..., statistics: _Optional[_Union[BandStatistics, _Mapping]] = ...) -> None: ...

class BandStatistics(_message.Message):
    __slots__ = ("minimum", "maximum", "mean", "stddev", "valid_percent")
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STDDEV_FIELD_NUMBER: _ClassVar[int]
    VALID_PERCENT_FIELD_NUMBER: _ClassVar[int]
    minimum: float
    maximum: float
    mean: float
    stddev: float
    valid_percent: float
    def __init__(self, minimum: _Optional[float] = ..., maximum: _Optional[float] = ..., mean: _Optional[float] = ..., stddev: _Optional[float] = ..., valid_percent: _Optional[float] = ...) -> None: ...

class JobRef(_message.Message):
    __slots__ = ("user", "job_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    job_id: str
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., job_id: _Optional[str] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("user", "title", "description", "process_json", "plan", "budget", "log_level", "job_options_json")
    USER_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    JOB_OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    title: str
    description: str
    process_json: str
    plan: str
    budget: float
    log_level: str
    job_options_json: str
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., plan: _Optional[str] = ..., budget: _Optional[float] = ..., log_level: _Optional[str] = ..., job_options_json: _Optional[str] = ...) -> None: ...

class UpdateJobRequest(_message.Message):
    __slots__ = ("user", "job_id", "update_mask", "title", "description", "process_json", "plan", "budget", "log_level", "job_options_json", "expected_version")
    USER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    JOB_OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    job_id: str
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    title: str
    description: str
    process_json: str
    plan: str
    budget: float
    log_level: str
    job_options_json: str
    expected_version: int
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., job_id: _Optional[str] = ..., update_mask: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., plan: _Optional[str] = ..., budget: _Optional[float] = ..., log_level: _Optional[str] = ..., job_options_json: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_token: _Optional[str] = ...) -> None: ...

class ClaimJobRequest(_message.Message):
    __slots__ = ("worker_id", "lease_seconds")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    lease_seconds: int
    def __init__(self, worker_id: _Optional[str] = ..., lease_seconds: _Optional[int] = ...) -> None: ...

class ClaimJobResponse(_message.Message):
    __slots__ = ("job", "lease_token", "owner", "run_id")
    JOB_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    job: Job
    lease_token: str
    owner: _common_pb2.User
    run_id: str
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., lease_token: _Optional[str] = ..., owner: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., run_id: _Optional[str] = ...) -> None: ...

class RenewLeaseRequest(_message.Message):
    __slots__ = ("job_id", "lease_token", "lease_seconds", "progress", "partial_results")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_RESULTS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_token: str
    lease_seconds: int
    progress: float
    partial_results: JobResults
    def __init__(self, job_id: _Optional[str] = ..., lease_token: _Optional[str] = ..., lease_seconds: _Optional[int] = ..., progress: _Optional[float] = ..., partial_results: _Optional[_Union[JobResults, _Mapping]] = ...) -> None: ...

class RenewLeaseResponse(_message.Message):
    __slots__ = ("lease_held", "cancel_requested")
    LEASE_HELD_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    lease_held: bool
    cancel_requested: bool
    def __init__(self, lease_held: _Optional[bool] = ..., cancel_requested: _Optional[bool] = ...) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "lease_token", "status", "results", "error_json", "usage_json", "costs")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_JSON_FIELD_NUMBER: _ClassVar[int]
    USAGE_JSON_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_token: str
    status: str
    results: JobResults
    error_json: str
    usage_json: str
    costs: float
    def __init__(self, job_id: _Optional[str] = ..., lease_token: _Optional[str] = ..., status: _Optional[str] = ..., results: _Optional[_Union[JobResults, _Mapping]] = ..., error_json: _Optional[str] = ..., usage_json: _Optional[str] = ..., costs: _Optional[float] = ...) -> None: ...

class ReleaseJobRequest(_message.Message):
    __slots__ = ("job_id", "lease_token", "error_json")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ERROR_JSON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_token: str
    error_json: str
    def __init__(self, job_id: _Optional[str] = ..., lease_token: _Optional[str] = ..., error_json: _Optional[str] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("id", "level", "message", "time", "data_json", "node_id", "code")
    ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    level: str
    message: str
    time: str
    data_json: str
    node_id: str
    code: str
    def __init__(self, id: _Optional[str] = ..., level: _Optional[str] = ..., message: _Optional[str] = ..., time: _Optional[str] = ..., data_json: _Optional[str] = ..., node_id: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class AppendJobLogsRequest(_message.Message):
    __slots__ = ("job_id", "entries", "append_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    APPEND_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    entries: _containers.RepeatedCompositeFieldContainer[LogEntry]
    append_id: str
    def __init__(self, job_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[LogEntry, _Mapping]]] = ..., append_id: _Optional[str] = ...) -> None: ...

class ListJobLogsRequest(_message.Message):
    __slots__ = ("user", "job_id", "offset", "level", "limit")
    USER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    job_id: str
    offset: str
    level: str
    limit: int
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., job_id: _Optional[str] = ..., offset: _Optional[str] = ..., level: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListJobLogsResponse(_message.Message):
    __slots__ = ("logs", "next_offset")
    LOGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    logs: _containers.RepeatedCompositeFieldContainer[LogEntry]
    next_offset: str
    def __init__(self, logs: _Optional[_Iterable[_Union[LogEntry, _Mapping]]] = ..., next_offset: _Optional[str] = ...) -> None: ...

class Service(_message.Message):
    __slots__ = ("id", "user_id", "title", "description", "process_json", "type", "enabled", "configuration_json", "created", "updated", "version", "budget", "plan", "log_level", "costs", "tiles_rendered", "processing_units_per_month")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    TILES_RENDERED_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_PER_MONTH_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    title: str
    description: str
    process_json: str
    type: str
    enabled: bool
    configuration_json: str
    created: str
    updated: str
    version: int
    budget: float
    plan: str
    log_level: str
    costs: float
    tiles_rendered: int
    processing_units_per_month: float
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., type: _Optional[str] = ..., enabled: _Optional[bool] = ..., configuration_json: _Optional[str] = ..., created: _Optional[str] = ..., updated: _Optional[str] = ..., version: _Optional[int] = ..., budget: _Optional[float] = ..., plan: _Optional[str] = ..., log_level: _Optional[str] = ..., costs: _Optional[float] = ..., tiles_rendered: _Optional[int] = ..., processing_units_per_month: _Optional[float] = ...) -> None: ...

class ServiceRef(_message.Message):
    __slots__ = ("user", "service_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    service_id: str
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., service_id: _Optional[str] = ...) -> None: ...

class CreateServiceRequest(_message.Message):
    __slots__ = ("user", "title", "description", "process_json", "type", "enabled", "configuration_json", "budget", "plan", "log_level", "processing_units_per_month")
    USER_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_JSON_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_PER_MONTH_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    title: str
    description: str
    process_json: str
    type: str
    enabled: bool
    configuration_json: str
    budget: float
    plan: str
    log_level: str
    processing_units_per_month: float
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., type: _Optional[str] = ..., enabled: _Optional[bool] = ..., configuration_json: _Optional[str] = ..., budget: _Optional[float] = ..., plan: _Optional[str] = ..., log_level: _Optional[str] = ..., processing_units_per_month: _Optional[float] = ...) -> None: ...

class UpdateServiceRequest(_message.Message):
    __slots__ = ("user", "service_id", "update_mask", "title", "description", "process_json", "enabled", "configuration_json", "plan", "budget", "log_level", "expected_version", "processing_units_per_month")
    USER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_JSON_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_PER_MONTH_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    service_id: str
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    title: str
    description: str
    process_json: str
    enabled: bool
    configuration_json: str
    plan: str
    budget: float
    log_level: str
    expected_version: int
    processing_units_per_month: float
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., service_id: _Optional[str] = ..., update_mask: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., enabled: _Optional[bool] = ..., configuration_json: _Optional[str] = ..., plan: _Optional[str] = ..., budget: _Optional[float] = ..., log_level: _Optional[str] = ..., expected_version: _Optional[int] = ..., processing_units_per_month: _Optional[float] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services", "next_token")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[Service]
    next_token: str
    def __init__(self, services: _Optional[_Iterable[_Union[Service, _Mapping]]] = ..., next_token: _Optional[str] = ...) -> None: ...

class ProcessGraph(_message.Message):
    __slots__ = ("id", "user_id", "process_json", "created", "updated", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    process_json: str
    created: str
    updated: str
    version: int
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., process_json: _Optional[str] = ..., created: _Optional[str] = ..., updated: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ProcessGraphRef(_message.Message):
    __slots__ = ("user", "process_graph_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PROCESS_GRAPH_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    process_graph_id: str
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., process_graph_id: _Optional[str] = ...) -> None: ...

class PutProcessGraphRequest(_message.Message):
    __slots__ = ("user", "process_graph_id", "process_json")
    USER_FIELD_NUMBER: _ClassVar[int]
    PROCESS_GRAPH_ID_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    process_graph_id: str
    process_json: str
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., process_graph_id: _Optional[str] = ..., process_json: _Optional[str] = ...) -> None: ...

class ListProcessGraphsResponse(_message.Message):
    __slots__ = ("process_graphs", "next_token")
    PROCESS_GRAPHS_FIELD_NUMBER: _ClassVar[int]
    NEXT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    process_graphs: _containers.RepeatedCompositeFieldContainer[ProcessGraph]
    next_token: str
    def __init__(self, process_graphs: _Optional[_Iterable[_Union[ProcessGraph, _Mapping]]] = ..., next_token: _Optional[str] = ...) -> None: ...

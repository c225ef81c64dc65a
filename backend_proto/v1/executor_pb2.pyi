from backend_proto.v1 import common_pb2 as _common_pb2
from backend_proto.v1 import compiler_pb2 as _compiler_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CostEstimateRequest(_message.Message):
    __slots__ = ("user", "plan", "batch_job")
    USER_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BATCH_JOB_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    plan: _compiler_pb2.ExecutionPlan
    batch_job: bool
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., plan: _Optional[_Union[_compiler_pb2.ExecutionPlan, _Mapping]] = ..., batch_job: _Optional[bool] = ...) -> None: ...

class CostEstimate(_message.Message):
    __slots__ = ("processing_units", "requests", "exact", "reason")
    PROCESSING_UNITS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    processing_units: float
    requests: int
    exact: bool
    reason: str
    def __init__(self, processing_units: _Optional[float] = ..., requests: _Optional[int] = ..., exact: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ExecuteRequest(_message.Message):
    __slots__ = ("user", "plan")
    USER_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    plan: _compiler_pb2.ExecutionPlan
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., plan: _Optional[_Union[_compiler_pb2.ExecutionPlan, _Mapping]] = ...) -> None: ...

class JobAssetRef(_message.Message):
    __slots__ = ("user", "job_id", "asset", "offset", "length", "suffix_length", "metadata_only")
    USER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    METADATA_ONLY_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    job_id: str
    asset: str
    offset: int
    length: int
    suffix_length: int
    metadata_only: bool
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., job_id: _Optional[str] = ..., asset: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., suffix_length: _Optional[int] = ..., metadata_only: _Optional[bool] = ...) -> None: ...

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class User(_message.Message):
    __slots__ = ("user_id", "auth_method", "sh_access_token", "name")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AUTH_METHOD_FIELD_NUMBER: _ClassVar[int]
    SH_ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    auth_method: str
    sh_access_token: str
    name: str
    def __init__(self, user_id: _Optional[str] = ..., auth_method: _Optional[str] = ..., sh_access_token: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JsonDocument(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class DataChunk(_message.Message):
    __slots__ = ("data", "content_type", "filename", "processing_units", "total_size", "etag", "last_modified", "range_offset", "range_length")
    DATA_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_UNITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    RANGE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    RANGE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    content_type: str
    filename: str
    processing_units: float
    total_size: int
    etag: str
    last_modified: str
    range_offset: int
    range_length: int
    def __init__(self, data: _Optional[bytes] = ..., content_type: _Optional[str] = ..., filename: _Optional[str] = ..., processing_units: _Optional[float] = ..., total_size: _Optional[int] = ..., etag: _Optional[str] = ..., last_modified: _Optional[str] = ..., range_offset: _Optional[int] = ..., range_length: _Optional[int] = ...) -> None: ...

class Page(_message.Message):
    __slots__ = ("limit", "next_token")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NEXT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    limit: int
    next_token: str
    def __init__(self, limit: _Optional[int] = ..., next_token: _Optional[str] = ...) -> None: ...

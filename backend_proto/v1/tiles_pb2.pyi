from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class RenderTileRequest(_message.Message):
    __slots__ = ("service_id", "z", "x", "y", "if_none_match")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    IF_NONE_MATCH_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    z: int
    x: int
    y: int
    if_none_match: str
    def __init__(self, service_id: _Optional[str] = ..., z: _Optional[int] = ..., x: _Optional[int] = ..., y: _Optional[int] = ..., if_none_match: _Optional[str] = ...) -> None: ...

class TileChunk(_message.Message):
    __slots__ = ("data", "content_type", "etag", "not_modified", "max_age", "cache_hit")
    DATA_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NOT_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    content_type: str
    etag: str
    not_modified: bool
    max_age: int
    cache_hit: bool
    def __init__(self, data: _Optional[bytes] = ..., content_type: _Optional[str] = ..., etag: _Optional[str] = ..., not_modified: _Optional[bool] = ..., max_age: _Optional[int] = ..., cache_hit: _Optional[bool] = ...) -> None: ...

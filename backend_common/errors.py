"""openEO errors carried across gRPC.

A service raises `OpenEOError`; the server plumbing turns it into a gRPC status with trailing
metadata `openeo-error-code` and `openeo-http-status` (and `openeo-processing-units`: what a run
spent at Sentinel Hub before it failed). The gateway turns any failed call back into an
`OpenEOError` with `from_rpc_error`, so the client sees the same code and message.
"""

from __future__ import annotations

import grpc

CODE_METADATA = "openeo-error-code"
STATUS_METADATA = "openeo-http-status"
PU_METADATA = "openeo-processing-units"

_HTTP_TO_GRPC = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    410: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    424: grpc.StatusCode.FAILED_PRECONDITION,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


class OpenEOError(Exception):
    """An error with an openEO error code, a user-facing message and an HTTP status."""

    #: processing units a run spent at Sentinel Hub before this error stopped it
    processing_units: float = 0.0

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def grpc_status(self) -> grpc.StatusCode:
        return _HTTP_TO_GRPC.get(self.status, grpc.StatusCode.INTERNAL)

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        metadata = ((CODE_METADATA, self.code), (STATUS_METADATA, str(self.status)))
        if self.processing_units > 0:
            metadata += ((PU_METADATA, repr(float(self.processing_units))),)
        return metadata

    @property
    def billable(self) -> bool:
        """Whether the work spent before this error is the caller's to pay: a refusal of the
        caller's own graph or input (4xx), not a failure of the backend or of Sentinel Hub (a
        retry would pay the same work again)."""
        return 400 <= self.status < 500

    def to_json(self, request_id: str | None = None) -> dict:
        body = {"code": self.code, "message": self.message, "links": []}
        if request_id:
            body["id"] = request_id
        return body


def from_rpc_error(err: grpc.RpcError) -> OpenEOError:
    """Map a failed gRPC call to the openEO error the gateway answers with."""
    code = err.code() if hasattr(err, "code") else None
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return OpenEOError(
            "ServiceUnavailable", "The service is temporarily unavailable. Please try again later.", 503
        )
    metadata = {}
    try:
        metadata = dict(err.trailing_metadata() or ())
    except Exception:  # noqa: BLE001 - some errors carry no metadata
        metadata = {}
    oeo_code = metadata.get(CODE_METADATA)
    if oeo_code:
        try:
            status = int(metadata.get(STATUS_METADATA, "500"))
        except ValueError:
            status = 500
        error = OpenEOError(oeo_code, err.details() or oeo_code, status)
        try:
            error.processing_units = max(0.0, float(metadata.get(PU_METADATA, "0")))
        except ValueError:
            pass
        return error
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        # gRPC's own refusal: a message above MAX_MESSAGE_BYTES (a request or a plan too large),
        # or a server over its limits. Neither is an internal failure.
        details = (err.details() if hasattr(err, "details") else "") or ""
        if "message larger than max" in details.lower():
            return OpenEOError("ProcessGraphComplexity",
                               "The request is too large to process: its process graph, plan or data exceed "
                               "the backend's message size limit. Please simplify the process graph.", 400)
        return OpenEOError(
            "ServiceUnavailable", "The service is temporarily unavailable. Please try again later.", 503
        )
    return OpenEOError("Internal", "Server error: an internal service failed.", 500)

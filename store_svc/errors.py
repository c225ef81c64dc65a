"""The openEO errors the store raises (codes from the openEO API errors list where one fits)."""

from __future__ import annotations

from backend_common.errors import OpenEOError


def job_not_found(job_id: str) -> OpenEOError:
    return OpenEOError("JobNotFound", f"The batch job '{job_id}' does not exist.", 404)


def service_not_found(service_id: str) -> OpenEOError:
    return OpenEOError("ServiceNotFound", f"Service '{service_id}' does not exist.", 404)


def process_graph_not_found(process_graph_id: str) -> OpenEOError:
    return OpenEOError("ProcessGraphNotFound", f"User-defined process '{process_graph_id}' does not exist.", 404)


def job_locked() -> OpenEOError:
    return OpenEOError("JobLocked", "Batch job is locked due to a queued or running batch computation.", 400)


def version_conflict(kind: str, identifier: str) -> OpenEOError:
    return OpenEOError(
        "VersionConflict",
        f"The {kind} '{identifier}' was changed by another request. Reload it and try again.",
        409,
    )


def lease_lost(job_id: str) -> OpenEOError:
    """A worker that no longer holds the job's lease tried to write its final state."""
    return OpenEOError("JobLeaseLost", f"The lease on batch job '{job_id}' is no longer held by this worker.", 424)


def bad_request(code: str, message: str) -> OpenEOError:
    return OpenEOError(code, message, 400)


def unavailable() -> OpenEOError:
    return OpenEOError(
        "ServiceUnavailable", "The job and service store is temporarily unavailable. Please try again later.", 503
    )

"""structlog JSON logging with one request id across every hop.

The request id lives in a context variable: the gateway sets it per HTTP request, gRPC servers
set it from the `x-request-id` metadata of each call, and gRPC clients send it on every call.
structlog's contextvars merging puts it into every log line.
"""

from __future__ import annotations

import logging
import sys
import uuid

import structlog
from structlog.contextvars import bind_contextvars, get_contextvars

REQUEST_ID_KEY = "request_id"
REQUEST_ID_METADATA = "x-request-id"


def configure_logging(service: str, level: str = "info") -> None:
    """JSON lines on stdout, each with the service name, level, timestamp and request id.

    Records of the standard library's loggers (aiohttp, asyncio, grpc, botocore, ...) are rendered
    as JSON lines too (`event` = their message, `logger` = their name), so every line parses.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    ))
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.get_logger().bind()
    _SERVICE[0] = service
    bind_contextvars(service=service)


_SERVICE = [""]


def new_request_id() -> str:
    return uuid.uuid4().hex


def set_request_id(request_id: str) -> None:
    bind_contextvars(request_id=request_id, service=_SERVICE[0])


def current_request_id() -> str | None:
    return get_contextvars().get(REQUEST_ID_KEY)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)

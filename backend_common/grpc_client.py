"""gRPC client channels: round-robin load balancing, request id and a deadline on every call."""

from __future__ import annotations

import grpc

from backend_common.config import MAX_MESSAGE_BYTES, grpc_deadline, service_addr
from backend_common.logging import REQUEST_ID_METADATA, current_request_id


def _details_with_context(details: grpc.aio.ClientCallDetails, default_timeout: float):
    metadata = grpc.aio.Metadata()
    for key, value in details.metadata or ():
        metadata.add(key, value)
    request_id = current_request_id()
    if request_id and REQUEST_ID_METADATA not in metadata:
        metadata.add(REQUEST_ID_METADATA, request_id)
    timeout = details.timeout if details.timeout is not None else default_timeout
    return grpc.aio.ClientCallDetails(details.method, timeout, metadata, details.credentials, details.wait_for_ready)


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, timeout: float):
        self.timeout = timeout

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        return await continuation(_details_with_context(client_call_details, self.timeout), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, timeout: float):
        self.timeout = timeout

    async def intercept_unary_stream(self, continuation, client_call_details, request):
        return await continuation(_details_with_context(client_call_details, self.timeout), request)


def open_channel(target: str, *, deadline: float | None = None, stream_deadline: float = 600.0) -> grpc.aio.Channel:
    """An insecure channel to `target` (host:port or dns:///name:port).

    Unary calls get `deadline` (default GRPC_DEADLINE_SECONDS) unless the caller passes a timeout;
    streaming calls get `stream_deadline`.
    """
    unary = deadline if deadline is not None else grpc_deadline()
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.lb_policy_name", "round_robin"),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2_000),
        ],
        interceptors=[_UnaryUnary(unary), _UnaryStream(stream_deadline)],
    )


def channel_for(service: str, **kwargs) -> grpc.aio.Channel:
    """A channel to one of the backend's services by name (compiler, executor, tiles, store)."""
    return open_channel(service_addr(service), **kwargs)

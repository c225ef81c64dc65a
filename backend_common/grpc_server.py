"""Running a gRPC service: request-id propagation, openEO error mapping, health, reflection and a
graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from backend_common.config import MAX_MESSAGE_BYTES
from backend_common.errors import OpenEOError
from backend_common.logging import REQUEST_ID_METADATA, get_logger, new_request_id, set_request_id

log = get_logger(__name__)


def _request_id_from(metadata) -> str:
    for key, value in metadata or ():
        if key == REQUEST_ID_METADATA and value:
            return value
    return new_request_id()


async def _abort_for(exc: BaseException, context: grpc.aio.ServicerContext, method: str):
    if isinstance(exc, OpenEOError):
        log.info("rpc_failed", method=method, code=exc.code, status=exc.status, error=exc.message)
        await context.abort(exc.grpc_status(), exc.message, trailing_metadata=exc.trailing_metadata())
    log.exception("rpc_internal_error", method=method)
    internal = OpenEOError("Internal", "Server error: the service failed to process the request.", 500)
    await context.abort(grpc.StatusCode.INTERNAL, internal.message, trailing_metadata=internal.trailing_metadata())


class RequestContextInterceptor(grpc.aio.ServerInterceptor):
    """Binds the caller's request id for the duration of each call and maps exceptions."""

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        request_id = _request_id_from(handler_call_details.invocation_metadata)
        method = handler_call_details.method

        if handler.unary_unary:
            inner = handler.unary_unary

            async def unary_unary(request, context):
                set_request_id(request_id)
                try:
                    return await inner(request, context)
                except (grpc.aio.AbortError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # noqa: BLE001 - mapped to a gRPC status
                    await _abort_for(exc, context, method)

            return grpc.unary_unary_rpc_method_handler(
                unary_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            async def unary_stream(request, context):
                set_request_id(request_id)
                try:
                    async for item in inner_stream(request, context):
                        yield item
                except (grpc.aio.AbortError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # noqa: BLE001 - mapped to a gRPC status
                    await _abort_for(exc, context, method)

            return grpc.unary_stream_rpc_method_handler(
                unary_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


async def _apply_probe(probe, health_servicer, names, previous: bool | None, timeout: float) -> bool:
    try:
        healthy = bool(await asyncio.wait_for(probe(), timeout))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failing probe means "not serving"
        log.debug("health_probe_failed", error=type(exc).__name__)
        healthy = False
    if healthy != previous:
        status = health_pb2.HealthCheckResponse.SERVING if healthy else health_pb2.HealthCheckResponse.NOT_SERVING
        for service in names:
            await health_servicer.set(service, status)
        if previous is not None or not healthy:
            (log.info if healthy else log.warning)("health_changed", serving=healthy)
    return healthy


async def _keep_probing(probe, health_servicer, names, interval: float) -> None:
    healthy: bool | None = None
    while True:
        healthy = await _apply_probe(probe, health_servicer, names, healthy, interval)
        # while not serving, look again within a second: recovering is noticed quickly
        await asyncio.sleep(interval if healthy else min(interval, 1.0))


async def serve(
    name: str,
    listen: str,
    register: Callable[[grpc.aio.Server], Iterable[str]],
    *,
    on_start: Callable[[], Awaitable[None]] | None = None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
    grace_seconds: float = 20.0,
    stop_event: asyncio.Event | None = None,
    health_probe: Callable[[], Awaitable[bool]] | None = None,
    probe_interval: float = 5.0,
) -> None:
    """Serve until SIGTERM/SIGINT (or `stop_event`), then drain in-flight calls and exit.

    `register` adds the service's servicers to the server and returns their full service names
    (for health and reflection). `health_probe`, when given, is awaited every `probe_interval`
    seconds (and once before serving): the health status of the named services is SERVING only
    while it returns True (a dependency such as the database is reachable), so readiness checks
    (the gateway's /readyz, Kubernetes' readiness probe) see the outage. The server's overall
    status ("") means "the process is up" and stays SERVING (liveness: nothing to restart).
    """
    server = grpc.aio.server(
        interceptors=[RequestContextInterceptor()],
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    service_names = list(register(server))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    port = server.add_insecure_port(listen)
    if port == 0:
        raise SystemExit(f"{name}: cannot listen on {listen}")
    if on_start is not None:
        await on_start()
    await server.start()
    all_names = ["", *service_names]
    probe_task = None
    if health_probe is None:
        for service in all_names:
            await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    else:
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        await _apply_probe(health_probe, health_servicer, service_names, None, probe_interval)
        probe_task = asyncio.create_task(_keep_probing(health_probe, health_servicer, service_names, probe_interval))
    log.info("service_started", listen=listen, port=port)

    stop = stop_event
    if stop is None:
        # Only a service running as its own process takes over SIGTERM/SIGINT; an embedded one
        # (tests) is stopped through its event and leaves the host's signal handling alone.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
    await stop.wait()
    log.info("service_stopping", grace_seconds=grace_seconds)
    if probe_task is not None:
        probe_task.cancel()
        await asyncio.gather(probe_task, return_exceptions=True)
    for service in all_names:
        await health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.stop(grace_seconds)
    if on_stop is not None:
        await on_stop()
    log.info("service_stopped")

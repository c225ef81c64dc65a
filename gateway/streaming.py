"""Relaying gRPC `DataChunk`/`TileChunk` streams as HTTP responses.

The first chunk is awaited before anything is sent, so a failure before it (compile errors,
ServiceUnavailable, ...) still becomes a normal openEO error response. After the headers went out
the status cannot change: a failure then is logged and the connection is aborted, so the client
sees a truncated (incomplete) body instead of a corrupt "successful" file.
"""

from __future__ import annotations

import asyncio

import grpc
from aiohttp import web

from backend_common.logging import get_logger
from gateway.keys import SETTINGS

log = get_logger(__name__)


async def first_chunk(call):
    """(first chunk or None, iterator over the rest). gRPC errors propagate (-> openEO error)."""
    iterator = call.__aiter__()
    try:
        first = await iterator.__anext__()
    except StopAsyncIteration:
        return None, iterator
    return first, iterator


async def relay(request: web.Request, call, response: web.StreamResponse, first, iterator) -> web.StreamResponse:
    """Sends `first` and the rest of the stream on the prepared-here `response`.

    A client that does not take a chunk within GATEWAY_BODY_TIMEOUT_SECONDS (it stopped reading)
    is disconnected and the stream cancelled, so it cannot hold the request open forever.
    """
    send_timeout = request.app[SETTINGS].body_timeout_seconds
    await response.prepare(request)

    async def send(data: bytes) -> None:
        async with asyncio.timeout(send_timeout):
            await response.write(data)

    try:
        if first is not None and first.data:
            await send(first.data)
        async for chunk in iterator:
            if chunk.data:
                await send(chunk.data)
        await response.write_eof()
    except grpc.RpcError as err:
        log.warning("stream_failed_mid_response", grpc_code=str(err.code()) if hasattr(err, "code") else None)
        call.cancel()
        _abort(request)
    except TimeoutError:
        log.info("client_too_slow", path=request.path, timeout_seconds=send_timeout)
        call.cancel()
        _abort(request)
    except (ConnectionError, asyncio.CancelledError):
        call.cancel()  # client went away
        raise
    return response


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()

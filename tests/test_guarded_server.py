"""The listening socket: slow clients are cut off, extra connections refused, and failed
accepts reported once a minute rather than once each."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web

from bot.guarded_server import AcceptReports, Limits, serve_guarded


async def _hello(_request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def _closed_by_server(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except ConnectionResetError:
        return True


async def test_slow_clients_are_cut_off_and_extra_connections_refused() -> None:
    app = web.Application()
    app.router.add_get("/", _hello)
    server = await serve_guarded(app, "127.0.0.1", 0, Limits(max_connections=3, header_timeout=0.5))
    try:
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(3)]
        idle[0][1].write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # headers begun, never finished
        async with asyncio.timeout(5):  # the server has taken all three before the fourth
            while server.limits.open < 3:
                await asyncio.sleep(0.01)
        extra_reader, _extra = await asyncio.open_connection("127.0.0.1", server.port)
        assert await _closed_by_server(extra_reader, 1.0)
        assert server.limits.refused == 1
        for reader, _writer in idle:  # none of them sent a whole request in time
            assert await _closed_by_server(reader, 3.0)
        assert server.limits.timed_out == 3
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{server.port}/") as response,
        ):
            assert response.status == 200 and await response.text() == "hello"
        for _reader, writer in [*idle, (extra_reader, _extra)]:
            writer.close()
    finally:
        await server.cleanup()


async def test_a_whole_request_in_pieces_is_served() -> None:
    app = web.Application()
    app.router.add_get("/", _hello)
    server = await serve_guarded(app, "127.0.0.1", 0, Limits(header_timeout=2.0))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for piece in (b"GET / HTTP/1.1\r\nHost: x\r", b"\nConnection: close\r\n\r", b"\n"):
            writer.write(piece)
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")
        writer.close()
    finally:
        await server.cleanup()


def test_failed_accepts_are_reported_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    reports = AcceptReports(_clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        context = {
            "message": "socket.accept() out of system resource",
            "exception": OSError(24, "Too many open files"),
        }
        with caplog.at_level(logging.ERROR):
            for _ in range(1000):
                reports(loop, context)
                now[0] += 0.01  # 1000 failures in 10 seconds
            now[0] = 61.0
            reports(loop, context)
        lines = [r.getMessage() for r in caplog.records if "cannot accept" in r.getMessage()]
        assert len(lines) == 2 and "999 more" in lines[1]
    finally:
        loop.close()


async def _late(_request: web.Request) -> web.Response:
    await asyncio.sleep(0.6)
    return web.Response(text="late")


async def test_a_request_whose_headers_came_in_time_is_not_cut_off_while_it_is_answered() -> None:
    app = web.Application()
    app.router.add_get("/", _late)
    server = await serve_guarded(app, "127.0.0.1", 0, Limits(header_timeout=0.3))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"late")
        assert server.limits.timed_out == 0
        writer.close()
    finally:
        await server.cleanup()

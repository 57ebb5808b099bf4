"""What the servers' tests need to know about their listening sockets."""

from __future__ import annotations

import asyncio
import socket

__all__ = ["accepted_nodelay"]


async def accepted_nodelay(listening: socket.socket) -> int:
    """``TCP_NODELAY`` of a connection asyncio accepts on ``listening`` (1: Nagle off).

    asyncio sets it only on sockets whose proto says TCP (``base_events._set_nodelay``), and an
    accepted connection inherits its proto from the listening socket: one made with proto 0 hands
    0 to every connection, and Nagle then holds a response written in two parts on a kept-alive
    connection until the client's delayed ACK, ~40 ms later.
    """
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=listening)
    try:
        _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()
    finally:
        server.close()
        await server.wait_closed()

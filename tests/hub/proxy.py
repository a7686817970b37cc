"""A fault proxy on 127.0.0.1 between a node and a hub (bytes passed through, TLS and
all, so the pinned certificate still reaches the node), and a man in the middle that
terminates TLS with a certificate of its own."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.hub.identity import make_certificate
from tests.hub.processes import free_port


@dataclass
class Proxy:
    """Forwards 127.0.0.1:port to the hub; ``mode`` says what it does to each new
    connection: "pass", "delay" (each 4 KiB held 50 ms), "drop" (closed at once), "cut"
    (the request cut after ``cut_after`` bytes, both sides closed)."""

    target_port: int
    mode: str = "pass"
    cut_after: int = 2000
    port: int = field(default_factory=free_port)
    tls: ssl.SSLContext | None = None  # a man in the middle: TLS of its own both ways
    connections: int = 0
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int | None
    ) -> None:
        sent = 0
        try:
            while chunk := await reader.read(4096):
                if self.mode == "delay":
                    await asyncio.sleep(0.05)
                if limit is not None and sent + len(chunk) > limit:
                    writer.write(chunk[: limit - sent])
                    await writer.drain()
                    break
                writer.write(chunk)
                sent += len(chunk)
                await writer.drain()
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(writer)
        up_writer: asyncio.StreamWriter | None = None
        try:
            if self.mode == "drop":
                return
            upstream_tls = None
            if self.tls is not None:
                upstream_tls = ssl.create_default_context()
                upstream_tls.check_hostname = False
                upstream_tls.verify_mode = ssl.CERT_NONE
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port, ssl=upstream_tls
            )
            self._open.add(up_writer)
            limit = self.cut_after if self.mode == "cut" else None
            await asyncio.gather(
                self._pipe(reader, up_writer, limit),
                self._pipe(up_reader, writer, None),
            )
        except (OSError, ssl.SSLError):
            pass
        finally:
            for end in (writer, up_writer):
                if end is not None:
                    self._open.discard(end)
                    end.close()
                    with contextlib.suppress(Exception):
                        await end.wait_closed()

    @contextlib.contextmanager
    def running(self) -> Iterator[Proxy]:
        loop = asyncio.new_event_loop()
        started = threading.Event()
        server: list[asyncio.base_events.Server] = []

        async def serve() -> None:
            server.append(  # closed in stop(), with every connection it made
                await asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self.tls)
            )
            started.set()

        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(serve(), loop)
        started.wait(10)
        try:
            yield self
        finally:

            async def stop() -> None:
                server[0].close()
                for writer in list(self._open):
                    writer.close()
                await server[0].wait_closed()

            asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


def mitm_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a certificate that is not the hub's."""
    from datetime import UTC, datetime

    cert, key = make_certificate(["127.0.0.1"], datetime.now(UTC))
    (folder / "mitm.pem").write_text(cert)
    (folder / "mitm.key").write_text(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "mitm.pem", folder / "mitm.key")
    return context

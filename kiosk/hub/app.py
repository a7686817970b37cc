"""The hub's HTTP API: a Starlette app served by uvicorn (docs/hub.md, "API").

Why Starlette: the hub's requests are signed bytes (change-set lines) checked by our own
code, so FastAPI's model validation and OpenAPI generation would parse what we must
keep byte for byte; Litestar is as capable but larger. Starlette is the small ASGI core
both are built on, maintained by the uvicorn authors.

The database work of each request runs in a worker thread (psycopg's synchronous API,
one pooled connection, one transaction), so one slow upload never stalls the event
loop and the same functions serve the commands and the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.core import hubwire
from kiosk.core.hubwire import HubRefused, Refusal
from kiosk.hub import identity, report, schema, store

log = logging.getLogger(__name__)
T = TypeVar("T")

STATUS = {
    Refusal.UNKNOWN_NODE: 401,
    Refusal.ACCOUNT: 401,
    Refusal.SIGNATURE: 401,
    Refusal.CLOCK: 401,
    Refusal.REMOVED: 403,
    Refusal.BAD_CODE: 403,
    Refusal.PINNING: 403,
    Refusal.NOT_ALLOWED: 403,
    Refusal.SCOPE: 403,
    Refusal.REPLAYED: 409,
    Refusal.TOO_BIG: 413,
    Refusal.RATE: 429,
    Refusal.DAMAGED: 400,
    Refusal.UNAVAILABLE: 503,
}


class RateLimit:
    """Requests per node per second, a token bucket per node in this process (behind
    N hub processes a node may get N times as much: the limit keeps one runaway node
    from filling a process, it is not a quota)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()  # taken in the event loop and in worker threads

    def take(self, node: str) -> None:
        with self._lock:
            self._take(node)

    def _take(self, node: str) -> None:
        now = time.monotonic()
        tokens, then = self._buckets.get(node, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[node] = (tokens, now)
            raise HubRefused(Refusal.RATE, node)
        self._buckets[node] = (tokens - 1, now)
        if len(self._buckets) > 100_000:  # forget the idle ones
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}


class Hub:
    """One hub process: its pool, its identity, its limits."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 16,  # an upload waits on its commit's flush: 8 left the CPU idle
        rate: float = 20.0,
        burst: float = 60.0,
        max_body: int = hubwire.MAX_BODY,
        retention_days: int = 28,
    ) -> None:
        self.dsn = dsn
        self.pool = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, open=False, kwargs={"autocommit": True}
        )
        self.rate = RateLimit(rate, burst)
        self.max_body = max_body
        self.retention_days = retention_days
        self.partitions = store.Partitions()
        self.ident: identity.Identity | None = None

    def open(self) -> None:
        self.pool.open(wait=True, timeout=30)
        with self.pool.connection() as conn:
            schema.check(conn)
            self.ident = identity.load(conn)

    def close(self) -> None:
        self.pool.close()

    @property
    def identity(self) -> identity.Identity:
        assert self.ident is not None
        return self.ident

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (autocommit: each statement its own transaction unless
        in ``conn.transaction()``); a database that is away is
        :data:`Refusal.UNAVAILABLE` (the node tries again later)."""
        try:
            with self.pool.connection(timeout=10) as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.errors.AdminShutdown) as exc:
            raise HubRefused(Refusal.UNAVAILABLE, str(exc)) from None
        except TimeoutError as exc:  # psycopg_pool.PoolTimeout
            raise HubRefused(Refusal.UNAVAILABLE, str(exc)) from None

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        """``work`` in one transaction on a pooled connection."""
        with self.connection() as conn, conn.transaction():
            return work(conn)

    def maintain(self, *, retention: bool = True) -> None:
        """Forget old nonces; retention (``store.retain``) past ``retention_days`` (the
        kiosk's own setting's default, 28; ``kiosk hub serve --retention-days``)."""
        now = store.now_utc()

        def work(conn: psycopg.Connection) -> None:
            store.forget_nonces(conn, now)
            if not retention:
                return
            done = store.retain(conn, self.retention_days, now)
            if done.held_back:
                log.warning("retention held back: %s", done.held_back)
            elif done.partitions or done.change_sets or done.visitors or done.holds:
                log.info("retention: %s", done)

        self.run(work)


def _refusal(exc: HubRefused) -> JSONResponse:
    return JSONResponse(
        {"refused": exc.reason.value, "detail": exc.detail, "message": str(exc)},
        status_code=STATUS.get(exc.reason, 400),
        headers={"retry-after": "5"} if exc.reason in (Refusal.RATE, Refusal.UNAVAILABLE) else None,
    )


async def _body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise HubRefused(Refusal.TOO_BIG, f"{length} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HubRefused(Refusal.TOO_BIG, f"over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _target(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


RETENTION_ROUNDS = 60
"""Retention runs at every this many upkeep rounds (a minute apart): hourly."""

Handler = Callable[[psycopg.Connection, store.Node, bytes, Request, datetime], Any]
"""The work of a signed request, on the request's pooled connection (outside a
transaction: it opens its own)."""


class Api:
    """The endpoints of one hub process."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def signed(self, handler: Handler) -> Callable[[Request], Any]:
        """An endpoint for signed requests: the body read (within the size limit), then
        in one worker thread on one pooled connection: the request authenticated (its
        own short transaction: the nonce is kept even when the work fails), the node's
        rate taken, and ``handler``."""
        hub = self.hub

        async def endpoint(request: Request) -> Response:
            try:
                body = await _body(request, hub.max_body)
                now = store.now_utc()
                target = _target(request)

                def work() -> Any:
                    # one hop to a worker thread and one connection for the whole request
                    with hub.connection() as conn:
                        with conn.transaction():
                            # a nonce lost with the last moments before a crash of
                            # PostgreSQL lets that one request be replayed, which changes
                            # nothing (a push is idempotent): its commit need not wait for
                            # the disk
                            conn.execute("SET LOCAL synchronous_commit = off")
                            node = store.authenticate(
                                conn, request.headers, request.method, target, body, now
                            )
                        # after authenticating: nobody can spend another node's allowance
                        hub.rate.take(str(node.id))
                        return handler(conn, node, body, request, now)

                answer = await run_in_threadpool(work)
            except HubRefused as exc:
                if exc.reason is not Refusal.RATE:
                    log.info(
                        "refused %s %s: %s (%s)",
                        request.method,
                        request.url.path,
                        exc.reason,
                        exc.detail,
                    )
                return _refusal(exc)
            return JSONResponse(answer)

        return endpoint

    def push(
        self, conn: psycopg.Connection, node: store.Node, body: bytes, _r: Request, now: datetime
    ) -> Any:
        """Every line checked (outside a transaction), the day partitions its passages
        need made (``CREATE TABLE ... PARTITION OF`` locks the parent table: never inside
        an upload's transaction), then the change sets kept in one transaction."""
        lines = [line for line in body.split(b"\n") if line]
        trust = store.trust_of(conn, node.compound)
        sets, left_out = store.read_lines(lines, trust, str(node.id))
        days = store.passage_days(sets)
        if self.hub.partitions.missing(days):  # most uploads: known already
            with conn.transaction():
                self.hub.partitions.ensure(conn, days)
        with conn.transaction():
            pushed = store.push(conn, node, sets, now)
        pushed.left_out = left_out
        return pushed.as_json()

    def pull(
        self,
        conn: psycopg.Connection,
        node: store.Node,
        _b: bytes,
        request: Request,
        now: datetime,
    ) -> Any:
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            raise hubwire.bad_request("after") from None
        with conn.transaction():
            return store.pull(conn, node, max(after, 0), now)

    def codes(
        self, conn: psycopg.Connection, node: store.Node, body: bytes, _r: Request, now: datetime
    ) -> Any:
        try:
            fields = json.loads(body)
        except ValueError:
            raise hubwire.bad_request("codes") from None
        if not isinstance(fields, dict):
            raise hubwire.bad_request("codes")
        with conn.transaction():
            return {"code": store.add_gate_code(conn, node, fields, now)}

    def status(
        self, conn: psycopg.Connection, node: store.Node, _b: bytes, _r: Request, now: datetime
    ) -> Any:
        with conn.transaction():
            return store.status(conn, node, now)

    async def hello(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "hub": "gatepass",
                "protocol": hubwire.PROTOCOL,
                "hub_key": self.hub.identity.sign_public,
                "time": datetime.now(UTC).isoformat(),
            }
        )

    async def join(self, request: Request) -> Response:
        hub = self.hub
        try:
            raw = await _body(request, 64 * 1024)
            try:
                body = json.loads(raw)
            except ValueError:
                raise hubwire.bad_request("join") from None
            if not isinstance(body, dict):
                raise hubwire.bad_request("join")
            hub.rate.take("join:" + (request.client.host if request.client else ""))
            now = store.now_utc()
            answer = await run_in_threadpool(
                hub.run,
                lambda conn: store.join(
                    conn, body, hub.identity.certificate_der, hub.identity.sign_public, now
                ),
            )
        except HubRefused as exc:
            log.info("refused a join: %s (%s)", exc.reason, exc.detail)
            return _refusal(exc)
        return JSONResponse(answer)

    async def daily(self, request: Request) -> Response:
        try:
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer "):
                raise HubRefused(Refusal.ACCOUNT, "no account token")
            self.hub.rate.take("account:" + auth[-8:])
            scope = request.query_params.get("scope", "")
            try:
                day = date.fromisoformat(request.query_params.get("day", ""))
            except ValueError:
                raise hubwire.bad_request("day") from None

            def work(conn: psycopg.Connection) -> Any:
                account = store.account_of(conn, auth.removeprefix("Bearer "))
                area = report.scope_area(conn, scope, account)
                return report.daily(conn, area, day).as_json()

            answer = await run_in_threadpool(self.hub.run, work)
        except HubRefused as exc:
            return _refusal(exc)
        return JSONResponse(answer)


def make_app(hub: Hub, *, maintain_every_s: float = 60.0) -> Starlette:
    """The ASGI app of one hub process."""
    api = Api(hub)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(hub.open)

        async def upkeep() -> None:
            rounds = 0
            while True:
                await asyncio.sleep(maintain_every_s)
                rounds += 1
                try:  # nonces every round, retention every hour's worth of rounds
                    await run_in_threadpool(
                        functools.partial(hub.maintain, retention=rounds % RETENTION_ROUNDS == 1)
                    )
                except Exception:  # the next round tries again
                    log.exception("hub upkeep failed")

        task = asyncio.create_task(upkeep())
        try:
            yield
        finally:
            task.cancel()
            await run_in_threadpool(hub.close)

    return Starlette(
        routes=[
            Route("/v1/hello", api.hello, methods=["GET"]),
            Route("/v1/join", api.join, methods=["POST"]),
            Route("/v1/push", api.signed(api.push), methods=["POST"]),
            Route("/v1/pull", api.signed(api.pull), methods=["GET"]),
            Route("/v1/codes", api.signed(api.codes), methods=["POST"]),
            Route("/v1/status", api.signed(api.status), methods=["GET"]),
            Route("/v1/reports/daily", api.daily, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """The app for ``uvicorn kiosk.hub.app:app_from_environment --factory`` (the DSN
    in ``GATEPASS_HUB_DB``), as ``kiosk hub serve`` runs it."""
    import os

    kiosk_log = logging.getLogger("kiosk")
    if not kiosk_log.handlers:  # a uvicorn worker process (--workers 2+): nobody set it up
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        kiosk_log.addHandler(handler)
        kiosk_log.setLevel(logging.INFO)
    return make_app(
        Hub(
            os.environ["GATEPASS_HUB_DB"],
            retention_days=int(os.environ.get("GATEPASS_HUB_RETENTION_DAYS", "28")),
            rate=float(os.environ.get("GATEPASS_HUB_RATE", "20")),
        )
    )

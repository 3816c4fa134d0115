"""myapp.aio: ``async def`` views for Pyramid under any WSGI server.

``config.include("myapp.aio")`` adds:

- ``async def`` view callables, class views and exception views, run on the
  calling worker thread's own persistent event loop (sync views are untouched);
- ``config.add_cleanup_ctx(factory)``: per-loop resources, opened before a loop
  runs its first coroutine, closed on that loop at shutdown;
- ``config.add_background_task(fn, name=None)``: supervised coroutines on the
  service loop;
- ``request.loop_state``, ``request.run_async(awaitable, timeout=None)`` and
  ``request.spawn(coro)``;
- one deadline per request (``aio.timeout``, or the view's ``async_timeout``) that
  every coroutine of that request shares, tweens' and commits' included: 504 past it;
- request properties (``request.loop_state``, ``request.dbsession``, ...) built into
  one request class at commit rather than a new class per request (request.py);
- a graceful stop on SIGTERM: requests in flight get ``aio.shutdown_timeout`` to
  finish, then a 503; the whole stop takes no longer than that;
- a watchdog that logs where a loop is blocked (``aio.blocked_ms``): a blocking call in a coroutine;
- the settings ``aio.loop``, ``aio.timeout``, ``aio.debug``,
  ``aio.slow_callback_ms``, ``aio.blocked_ms``, ``aio.shutdown_timeout``, ``aio.cancel_grace``,
  ``aio.restart_backoff`` and ``aio.handle_sigterm`` (see docs/async-views.md).

It imports nothing from the rest of myapp.
"""

import importlib.util
import logging
import os
import signal
import threading
import time
import types
from collections.abc import Awaitable, Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from pyramid.config import PHASE3_CONFIG, Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.settings import asbool

from .deriver import async_view, is_async_view, run_for_request
from .runtime import BackgroundTask, CleanupContext, Runtime, ShuttingDown, TimeoutExpired, loop_state

__all__ = ["Runtime", "ShuttingDown", "TimeoutExpired", "includeme", "is_async_view", "loop_state"]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULTS = {
    # uvloop where it is installed: on a worker thread a round trip costs 60 % of asyncio's (python -m
    # bench.roundtrip), a request about 10 % fewer instructions; under load the two are close (docs/benchmarks.md)
    "aio.loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
    "aio.timeout": "30",
    "aio.debug": "false",
    "aio.slow_callback_ms": "100",
    "aio.blocked_ms": "0",
    "aio.shutdown_timeout": "10",
    "aio.cancel_grace": "0.5",
    "aio.restart_backoff": "1",
    "aio.handle_sigterm": "false",
    "aio.bake_request_properties": "true",  # (read by request.py)
}


def parse_settings(settings: Mapping[str, str]) -> dict[str, Any]:
    def number(name: str) -> float:
        raw = settings.get(name, DEFAULTS[name])
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name} must be a number, not {raw!r}") from None
        if value < 0:
            raise ValueError(f"setting {name} must not be negative, not {raw!r}")
        return value

    return {
        "loop_kind": settings.get("aio.loop", DEFAULTS["aio.loop"]).strip(),
        "default_timeout": number("aio.timeout"),
        "debug": asbool(settings.get("aio.debug", DEFAULTS["aio.debug"])),
        "slow_callback_duration": number("aio.slow_callback_ms") / 1000,
        "shutdown_timeout": number("aio.shutdown_timeout"),
        "cancel_grace": number("aio.cancel_grace"),
        "restart_backoff": number("aio.restart_backoff"),
        "blocked_after": number("aio.blocked_ms") / 1000,
    }


def add_cleanup_ctx(config: Configurator, factory: CleanupContext | str) -> None:
    """Register ``factory(state)``, an async generator function run once on every loop.

    The code before its ``yield`` runs before the loop runs anything else; the code
    after it runs at shutdown, on the same loop.  ``state`` is the loop's namespace.
    """
    runtime = config.registry.aio_runtime
    factory = config.maybe_dotted(factory)
    config.action(None, lambda: runtime.cleanup_contexts.append(factory))


def add_background_task(config: Configurator, fn: BackgroundTask | str, name: str | None = None) -> None:
    """Run ``fn(state)`` on the service loop for the application's life; restart it if it raises."""
    runtime = config.registry.aio_runtime
    fn = config.maybe_dotted(fn)
    name = name or getattr(fn, "__qualname__", repr(fn))
    config.action(("myapp.aio.background_task", name), lambda: runtime.background_tasks.append((fn, name)))


def run_async(request: Request, awaitable: Awaitable[T], timeout: float | None = None) -> T:
    """Run a coroutine to completion from sync code (a sync view, a tween, a security policy).

    It shares the request's deadline: past it, HTTPGatewayTimeout.  ``timeout``, when
    shorter, is the caller's own limit: past it, TimeoutExpired.
    """
    return run_for_request(request.registry.aio_runtime, request, awaitable, timeout)


def spawn(request: Request, coro: Coroutine[Any, Any, T]) -> "Future[T]":
    """Fire and forget ``coro`` on the service loop; it is cancelled at shutdown."""
    runtime: Runtime = request.registry.aio_runtime
    return runtime.spawn(coro)


def get_loop_state(request: Request) -> types.SimpleNamespace:
    runtime: Runtime = request.registry.aio_runtime
    return runtime.worker_loop().state


class GracefulStop:
    """SIGTERM: stop taking new work, let requests in flight finish, then stop the server.

    pserve/waitress stop cleanly on KeyboardInterrupt (waitress drains its workers),
    and then atexit closes every loop; Python's default for SIGTERM skips both.  The
    drain runs on a thread while waitress keeps answering, so requests that are
    cancelled still get their 503.  A second SIGTERM stops at once.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.started: float | None = None

    def __call__(self, signum: int, frame: types.FrameType | None) -> None:
        if self.started is not None:
            raise SystemExit(f"signal {signum}")
        # a process started in the background of a shell (or under nohup) ignores SIGINT, and
        # Python then leaves it ignored: the drain's SIGINT must raise KeyboardInterrupt all the same
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.started = time.monotonic()
        self.runtime.stop_by = self.started + self.runtime.shutdown_timeout
        threading.Thread(target=self.drain, name="myapp.aio-drain", daemon=True).start()

    def drain(self) -> None:
        runtime = self.runtime
        try:
            runtime.drain(runtime.shutdown_timeout / 2)
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # waitress stops on KeyboardInterrupt in its main thread


def start(registry: Registry) -> None:
    """At commit (when the app is made): SIGTERM handling, and background tasks if there are any.

    A config action rather than an ApplicationCreated subscriber: any subscriber makes
    Pyramid notify four events on every request (about 4 us).
    """
    runtime = registry.aio_runtime
    if asbool(registry.settings.get("aio.handle_sigterm", DEFAULTS["aio.handle_sigterm"])):
        # pserve/waitress stop cleanly on SystemExit (waitress drains its workers),
        # and then atexit closes every loop; Python's default for SIGTERM skips both.
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, GracefulStop(runtime))
    runtime.start()


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    config.registry.aio_runtime = Runtime(**parse_settings(settings))
    config.add_directive("add_cleanup_ctx", add_cleanup_ctx)
    config.add_directive("add_background_task", add_background_task)
    config.add_request_method(run_async, "run_async")
    config.add_request_method(spawn, "spawn")
    config.add_request_method(get_loop_state, "loop_state", reify=True)
    config.add_view_deriver(async_view, under="rendered_view", over="mapped_view")
    config.action(None, start, args=(config.registry,), order=PHASE3_CONFIG + 1)
    config.include(".request")

"""The view deriver that runs ``async def`` views on the worker thread's event loop.

It sits between ``rendered_view`` (outside) and ``mapped_view`` (inside): the mapped
view returns the coroutine, this deriver runs it to completion, and the renderer
sees a plain value.  Sync views are returned untouched.
"""

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pyramid.httpexceptions import HTTPGatewayTimeout, HTTPServiceUnavailable

from .runtime import Runtime, ShuttingDown, TimeoutExpired, _discard

T = TypeVar("T")
View = Callable[[Any, Any], Any]

RETRY_AFTER = "5"


def start_clock(request: Any, timeout: float) -> float | None:
    """The request's deadline starts with its first coroutine (``timeout`` 0: none)."""
    request.aio_started = started = request.__dict__.get("aio_started") or time.monotonic()
    request.aio_deadline = deadline = started + timeout if timeout else None
    return deadline


def run_for_request(runtime: Runtime, request: Any, awaitable: Awaitable[T], timeout: float | None = None) -> T:
    """Run ``awaitable`` within what is left of the request's deadline.

    Every coroutine of a request (a tween's identity lookup, the view, the commit)
    shares one deadline, ``aio.timeout`` from the first of them (a view's
    ``async_timeout`` replaces it).  Past it, or already past it: HTTPGatewayTimeout.
    Past ``timeout``, when it is the shorter: TimeoutExpired, for the caller to
    handle.  While the server stops: HTTPServiceUnavailable.
    """
    deadline = request.__dict__.get("aio_deadline", False)
    if deadline is False:
        deadline = start_clock(request, runtime.default_timeout)
    if deadline is None:
        budget = None
    else:
        budget = deadline - time.monotonic()
        if budget <= 0:
            _discard(awaitable)
            raise _gateway_timeout(request)
    own = timeout is not None and timeout > 0 and (budget is None or timeout < budget)
    try:
        return runtime.run(awaitable, timeout if own else budget)
    except TimeoutExpired as exc:
        if exc.abandoned is not None:  # cleanups of what it holds must wait for it (request.dbsession)
            request.aio_abandoned = exc.abandoned
        if own:
            raise
        raise _gateway_timeout(request) from exc
    except ShuttingDown as exc:
        raise HTTPServiceUnavailable(
            "The server is restarting; try again in a few seconds.", headers={"Retry-After": RETRY_AFTER}
        ) from exc


def _gateway_timeout(request: Any) -> HTTPGatewayTimeout:
    total = request.__dict__.get("aio_deadline", 0) - request.__dict__.get("aio_started", 0)
    return HTTPGatewayTimeout(f"The request took longer than {total:g} seconds and was cancelled.")


def view_target(view: Any, attr: str | None) -> Any:
    """The function Pyramid will call for ``view`` (a function, class, or instance)."""
    if inspect.isclass(view):
        return getattr(view, attr or "__call__", None)
    if attr:
        return getattr(view, attr, None)
    if inspect.isroutine(view) or isinstance(view, functools.partial):
        return view
    return getattr(type(view), "__call__", None)  # noqa: B004 (the method itself, to inspect)


def is_async_view(view: Any, attr: str | None = None) -> bool:
    target = view_target(view, attr)
    return target is not None and inspect.iscoroutinefunction(target)


def async_view(view: View, info: Any) -> View:
    if not is_async_view(info.original_view, info.options.get("attr")):
        return view
    runtime = info.registry.aio_runtime
    timeout = info.options.get("async_timeout")
    if timeout is None:  # the request's deadline is the view's
        return functools.partial(_run_view, runtime, view)
    timeout = float(timeout)
    if timeout < 0:
        raise ValueError(f"async_timeout must be 0 (none) or a number of seconds, not {timeout!r}")

    def run_async_view_with_its_own_timeout(context: Any, request: Any) -> Any:
        start_clock(request, timeout)
        return run_for_request(runtime, request, view(context, request))

    return run_async_view_with_its_own_timeout


def _run_view(runtime: Runtime, view: View, context: Any, request: Any) -> Any:
    return run_for_request(runtime, request, view(context, request))


async_view.options = ("async_timeout",)  # type: ignore[attr-defined]  # Pyramid reads options here

"""The view deriver that runs ``async def`` views on the worker thread's event loop.

It sits between ``rendered_view`` (outside) and ``mapped_view`` (inside): the mapped
view returns the coroutine, this deriver runs it to completion, and the renderer
sees a plain value.  Sync views are returned untouched.
"""

import functools
import inspect

from pyramid.httpexceptions import HTTPGatewayTimeout

from .runtime import TimeoutExpired


def view_target(view, attr):
    """The function Pyramid will call for ``view`` (a function, class, or instance)."""
    if inspect.isclass(view):
        return getattr(view, attr or "__call__", None)
    if attr:
        return getattr(view, attr, None)
    if inspect.isroutine(view) or isinstance(view, functools.partial):
        return view
    return getattr(type(view), "__call__", None)


def is_async_view(view, attr=None):
    target = view_target(view, attr)
    return target is not None and inspect.iscoroutinefunction(target)


def async_view(view, info):
    if not is_async_view(info.original_view, info.options.get("attr")):
        return view
    runtime = info.registry.aio_runtime
    timeout = info.options.get("async_timeout")
    if timeout is None:
        timeout = runtime.default_timeout
    timeout = float(timeout)
    if timeout < 0:
        raise ValueError(f"async_timeout must be 0 (none) or a number of seconds, not {timeout!r}")
    run = runtime.run

    def run_async_view(context, request):
        try:
            return run(view(context, request), timeout)
        except TimeoutExpired as exc:
            raise HTTPGatewayTimeout(
                f"The request took longer than {timeout:g} seconds and was cancelled."
            ) from exc

    return run_async_view


async_view.options = ("async_timeout",)

"""Event loops for a WSGI process.

Every WSGI worker thread that runs a coroutine gets one persistent event loop of
its own, created on first use and reused for every request that thread serves;
a coroutine runs on it with ``run_until_complete`` in the calling thread, so there
is no hop to another thread.  A separate *service* thread runs a loop forever for
background tasks and fire-and-forget work.

Each loop gets its own resources: the cleanup contexts registered at config time
are opened on a loop before it runs anything else and closed on that same loop at
shutdown.  Nothing is created at import or configuration time, and everything is
forgotten in a forked child, so a server that forks after loading the application
(``gunicorn --preload``) gives each child loops of its own.

This module knows nothing of Pyramid.
"""

import asyncio
import atexit
import contextlib
import inspect
import logging
import os
import sys
import threading
import time
import traceback
import types
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar, cast

T = TypeVar("T")
REAP_SECONDS = 2.0  # the most closing the loop of an ended worker thread may take
SETTLE_SECONDS = 1.0  # the most a loop closed without a deadline waits for the work abandoned on it
#: a cleanup context: an async generator function of a loop's state, opening before its yield, closing after
CleanupContext = Callable[[types.SimpleNamespace], AsyncGenerator[None, None]]
#: a background task: a coroutine function of the service loop's state
BackgroundTask = Callable[[types.SimpleNamespace], Awaitable[None]]

log = logging.getLogger(__name__)

#: The loop states by loop, for code that needs the state of whatever loop it
#: runs on (a spawned task, a background task's helpers).
_states: dict[asyncio.AbstractEventLoop, types.SimpleNamespace] = {}


class TimeoutExpired(TimeoutError):
    """The deadline given to :meth:`Runtime.run` passed; the coroutine was cancelled.

    ``abandoned`` is its task when it did not finish even then: it is still on the
    loop, and whatever it holds (a database session) is its until it is done.
    """

    def __init__(self, seconds: float, abandoned: "asyncio.Task[Any] | None" = None) -> None:
        super().__init__(f"the coroutine did not finish within {seconds:g} s and was cancelled")
        self.seconds = seconds
        self.abandoned = abandoned


class ShuttingDown(RuntimeError):
    """The runtime is stopping: no new coroutine starts, and those still running are cancelled."""

    def __init__(self, message: str = "the async runtime is shutting down") -> None:
        super().__init__(message)


def loop_state(loop: asyncio.AbstractEventLoop | None = None) -> types.SimpleNamespace:
    """The state namespace of ``loop`` (by default the running loop).

    Raises LookupError for a loop that no runtime manages.
    """
    loop = loop or asyncio.get_running_loop()
    try:
        return _states[loop]
    except KeyError:
        raise LookupError(f"{loop!r} is not managed by myapp.aio") from None


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The function that makes a new loop of ``kind``; fails at once for a bad kind or missing uvloop."""
    if kind == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory
    if kind == "asyncio":
        return asyncio.new_event_loop
    raise ValueError(f"unknown event loop kind {kind!r}; use 'asyncio' or 'uvloop'")


class _Expiry:
    """A deadline's timer: cancel the task, and if it is not done ``grace`` seconds later, stop waiting for it."""

    __slots__ = ("loop", "task", "grace", "fired", "abandoned", "_stop")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: "asyncio.Future[Any]", grace: float) -> None:
        self.loop, self.task, self.grace = loop, task, grace
        self.fired = self.abandoned = False
        self._stop: asyncio.TimerHandle | None = None

    def fire(self) -> None:
        self.fired = True
        self.task.cancel()
        self._stop = self.loop.call_later(self.grace, self.abandon)

    def abandon(self) -> None:
        self.abandoned = True
        self.loop.stop()  # run_until_complete returns, leaving the task on the loop

    def disarm(self) -> None:
        if self._stop is not None:
            self._stop.cancel()


def _forget(task: "asyncio.Future[Any]") -> None:
    """Retrieve an abandoned task's outcome, so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


def _cancel_running(handle: "Loop", grace: float) -> None:
    """On the loop's own thread: cancel every task, and stop waiting for them ``grace`` seconds later."""
    for task in asyncio.all_tasks(handle.loop):
        task.cancel()
    handle.stop_timer = handle.loop.call_later(grace, handle.loop.stop)


def _discard(awaitable: object) -> None:
    """Close a coroutine that will never run, so Python does not warn about it."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


class Loop:
    """One event loop, the resources opened on it, and the lock held while it runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, role: str) -> None:
        self.loop = loop
        self.role = role  # "worker" or "service"
        self.owner = threading.current_thread()
        self.thread = self.owner.name
        self.state = types.SimpleNamespace()
        self.lock = threading.Lock()
        self.closed = False
        self.stop_timer: asyncio.TimerHandle | None = None  # set by Runtime.drain() while it cancels what runs here
        self.beat = time.monotonic()  # the last time this loop ran its heartbeat (Watchdog), or began a run
        self.told = 0.0  # the beat after which the watchdog last said this loop was blocked
        self._open_contexts: list[tuple[CleanupContext, AsyncGenerator[None, None]]] = []

    async def open(self, factories: list[CleanupContext]) -> None:
        """Run every cleanup context up to its ``yield``; on failure close those already open."""
        try:
            for factory in factories:
                gen = factory(self.state)
                if not inspect.isasyncgen(gen):
                    raise TypeError(f"cleanup context {factory!r} must be an async generator function")
                try:
                    await gen.__anext__()
                except StopAsyncIteration:
                    raise RuntimeError(f"cleanup context {factory!r} did not yield") from None
                self._open_contexts.append((factory, cast(AsyncGenerator[None, None], gen)))
        except BaseException:
            await self.close_contexts()
            raise

    async def close_contexts(self) -> None:
        """Resume every open cleanup context after its ``yield``, last opened first."""
        while self._open_contexts:
            factory, gen = self._open_contexts.pop()
            try:
                await gen.__anext__()
            except StopAsyncIteration:
                continue
            except Exception:
                log.exception("cleanup context %r failed while closing", factory)
                continue
            log.error("cleanup context %r yielded more than once", factory)
            await gen.aclose()

    def close(self, timeout: float | None = None) -> None:
        """Close the resources, cancel anything left, close the loop, within ``timeout`` seconds in all.

        The loop must not be running.  What has not finished by then (a resource whose
        server does not answer) is abandoned.
        """
        if self.closed:
            return
        self.closed = True
        loop = self.loop
        if self.stop_timer is not None:
            self.stop_timer.cancel()
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        try:
            # work abandoned on this loop first (a request's rollback that waited on its server, left to finish
            # with the loop's next request, which never came): finished, it gives its connection back to the
            # pool the contexts are about to close; cancelled midway, the connection is left to the collector
            abandoned = [t for t in asyncio.all_tasks(loop) if not t.done()]
            if abandoned:
                remaining = left()
                settle = SETTLE_SECONDS if remaining is None else remaining / 2  # the contexts get the rest
                loop.run_until_complete(asyncio.wait(abandoned, timeout=settle))
            closing = loop.create_task(self.close_contexts())
            loop.run_until_complete(asyncio.wait([closing], timeout=left()))
            leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                _, still = loop.run_until_complete(asyncio.wait(leftovers, timeout=left()))
                if still:
                    log.warning(
                        "%d task(s) of thread %s did not finish at shutdown and were abandoned: %r",
                        len(still),
                        self.thread,
                        still,
                    )
            loop.run_until_complete(asyncio.wait([loop.create_task(loop.shutdown_asyncgens())], timeout=left()))
        finally:
            _states.pop(loop, None)
            loop.close()


class Watchdog:
    """Says which loop is blocked, and where: a daemon thread that looks every quarter of ``after`` seconds at
    each loop's heartbeat (a callback the loop runs as often), and logs the stack of a loop's thread when the
    loop runs but has not beaten for ``after`` seconds: a blocking call inside a coroutine holds every request
    on that loop.  As cheap as a timer per loop, where asyncio's debug mode (``aio.debug``), which also finds
    slow callbacks, costs every task and callback a captured stack.  When its own look comes late, the whole
    process stood still (a full garbage collection, the machine), not one loop: nothing is said then."""

    def __init__(self, runtime: "Runtime", after: float) -> None:
        self.runtime, self.after, self.every = runtime, after, after / 4
        self._thread = threading.Thread(target=self._main, name="myapp.aio-watchdog", daemon=True)
        self._thread.start()

    def beat(self, handle: "Loop") -> None:
        """A loop's heartbeat: it ran; the next is due a quarter of ``after`` from now."""
        handle.beat = time.monotonic()
        if not handle.closed:
            handle.loop.call_later(self.every, self.beat, handle)

    def _main(self) -> None:
        looked = time.monotonic()
        while not self.runtime._shut_down:
            time.sleep(self.every)
            now = time.monotonic()
            if now - looked < self.after / 2:  # this thread ran in time: the process did not stand still
                for handle in self.runtime.loops():
                    self._look(handle, now)
            looked = now

    def _look(self, handle: "Loop", now: float) -> None:
        if not handle.loop.is_running():  # (first: a run that begins now sets its beat before it runs)
            return
        beat, ident = handle.beat, handle.owner.ident
        if now - beat < self.after or handle.told >= beat or ident is None:
            return
        frame = sys._current_frames().get(ident)
        if frame is None:
            return
        handle.told = beat
        log.warning(
            "Blocked: the %s loop of thread %s has run one callback for %.3f seconds (a blocking call in a "
            "coroutine?), in:\n%s",
            handle.role,
            handle.thread,
            now - beat,
            "".join(traceback.format_stack(frame)[-8:]),
        )


class ServiceThread:
    """A daemon thread running one loop forever: background tasks and spawned coroutines."""

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime
        self.handle: Loop | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.accepting = True
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.close_timeout: float | None = None
        self._thread = threading.Thread(target=self._main, name="myapp.aio-service", daemon=True)

    def start(self, timeout: float) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the service loop did not start within {timeout:g} s")
        if self._failure is not None:
            raise RuntimeError("the service loop could not open its cleanup contexts") from self._failure

    def _main(self) -> None:
        runtime = self.runtime
        loop = runtime.new_loop()
        asyncio.set_event_loop(loop)
        runtime.configure_loop(loop)
        self.handle = handle = Loop(loop, "service")
        _states[loop] = handle.state
        runtime.watch(handle)
        try:
            loop.run_until_complete(handle.open(runtime.cleanup_contexts))
        except BaseException as exc:
            log.exception("the service loop could not open its cleanup contexts")
            self._failure = exc
            self.accepting = False
            handle.close()
            self._ready.set()
            return
        for fn, name in runtime.background_tasks:
            self._track(loop.create_task(supervise(fn, name, handle.state, runtime.restart_backoff), name=name))
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            handle.close(self.close_timeout)

    def _track(self, task: "asyncio.Task[T]") -> "asyncio.Task[T]":
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def submit(self, coro: Coroutine[Any, Any, T]) -> "Future[T]":
        """Schedule ``coro`` on the service loop from any thread; returns a concurrent Future."""
        if not self.accepting:
            _discard(coro)
            raise ShuttingDown("the service loop is shutting down; no new work is accepted")
        assert self.handle is not None  # accepting: started
        return asyncio.run_coroutine_threadsafe(self._spawned(coro), self.handle.loop)

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        """Schedule ``callback(*args)`` on the service loop from any thread."""
        if not self.accepting or self.handle is None:
            raise ShuttingDown("the service loop is shutting down; no new work is accepted")
        try:
            self.handle.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError as exc:  # the loop closed meanwhile
            raise ShuttingDown("the service loop is closed") from exc

    async def _spawned(self, coro: Coroutine[Any, Any, T]) -> T:
        task = asyncio.current_task()
        assert task is not None  # a coroutine runs in a task
        self._track(task)
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except BaseException:
            log.exception("spawned coroutine %r failed", coro)
            raise

    async def _stop(self, timeout: float) -> None:
        current = asyncio.current_task()
        pending = [t for t in self.tasks if t is not current]
        for task in pending:
            task.cancel()
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                log.warning("task %r ignored cancellation at shutdown", task)
        asyncio.get_running_loop().stop()

    def stop(self, timeout: float) -> None:
        """Cancel every task, then close the loop's resources: ``timeout`` seconds in all."""
        self.accepting = False
        if self.handle is None or self.handle.closed:
            return
        self.close_timeout = timeout / 2
        try:
            asyncio.run_coroutine_threadsafe(self._stop(timeout / 2), self.handle.loop)
        except RuntimeError:  # the loop closed by itself
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the service loop did not stop within %g s; it is abandoned", timeout)


async def supervise(fn: BackgroundTask, name: str, state: types.SimpleNamespace, backoff: float) -> None:
    """Run ``fn(state)``; restart it with exponential backoff whenever it raises."""
    longest = 60 * backoff
    delay = backoff
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await fn(state)
        except asyncio.CancelledError:
            raise
        except Exception:
            if loop.time() - started > longest:
                delay = backoff  # it ran well for a while: start the backoff over
            log.exception("background task %r failed; restarting in %g s", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)
        else:
            log.info("background task %r finished", name)
            return


class Runtime:
    """The loops of one application in one process."""

    def __init__(
        self,
        *,
        loop_kind: str = "asyncio",
        debug: bool = False,
        slow_callback_duration: float = 0.1,
        default_timeout: float = 30.0,
        shutdown_timeout: float = 10.0,
        restart_backoff: float = 1.0,
        cancel_grace: float = 0.5,
        blocked_after: float = 0.0,
    ) -> None:
        self.new_loop = loop_factory(loop_kind)  # checked at configuration time; no loop made yet
        self.loop_kind = loop_kind
        self.debug = debug
        self.slow_callback_duration = slow_callback_duration
        self.default_timeout = default_timeout
        self.shutdown_timeout = shutdown_timeout
        self.cancel_grace = cancel_grace
        self.restart_backoff = restart_backoff
        self.blocked_after = blocked_after  # seconds a loop may run one callback before the Watchdog says so; 0: never
        self.cleanup_contexts: list[CleanupContext] = []
        self.background_tasks: list[tuple[BackgroundTask, str]] = []
        self._started = False
        self._reset()
        _runtimes.add(self)

    def _reset(self) -> None:
        """Forget every loop and thread: a new process (first use, or a forked child)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._loops: list[Loop] = []
        self._service: ServiceThread | None = None
        self._closing = False  # no new coroutine starts (drain or shutdown began)
        self.stop_by: float | None = None  # when a graceful stop must be over (monotonic), once one began
        self._shut_down = False
        self._watchdog: Watchdog | None = None  # made with the first loop it watches (in this process)
        self._watchdog_lock = threading.Lock()

    def loops(self) -> list[Loop]:
        """Every loop of this process: the worker threads' and the service loop."""
        with self._lock:
            found = list(self._loops)
        service = self._service.handle if self._service is not None else None
        return found + ([service] if service is not None else [])

    def watch(self, handle: Loop) -> None:
        """Have the watchdog look at ``handle``'s loop (when ``blocked_after`` is set): its heartbeat begins."""
        if not self.blocked_after:
            return
        with self._watchdog_lock:  # (not self._lock: the service loop starts under it, and is watched)
            if self._watchdog is None:
                self._watchdog = Watchdog(self, self.blocked_after)
            watchdog = self._watchdog
        handle.loop.call_soon(watchdog.beat, handle)

    def configure_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.debug:
            loop.set_debug(True)
            loop.slow_callback_duration = self.slow_callback_duration

    # -- the worker thread's loop -------------------------------------------------

    def worker_loop(self) -> Loop:
        """This thread's loop handle, created (and its contexts opened) on first use."""
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = self._new_worker_loop()
        return handle

    def _new_worker_loop(self) -> Loop:
        if self._closing:
            raise ShuttingDown()
        if self._started and self.background_tasks and self._service is None:
            try:  # a forked child starts its own service loop on first use
                self.service()
            except Exception:
                log.exception("background tasks could not be started")
        loop = self.new_loop()
        asyncio.set_event_loop(loop)
        self.configure_loop(loop)
        handle = Loop(loop, "worker")
        _states[loop] = handle.state
        self.watch(handle)
        try:
            loop.run_until_complete(handle.open(self.cleanup_contexts))
        except BaseException:
            handle.close()
            raise
        with self._lock:
            closing = self._closing
            if not closing:
                self._loops.append(handle)
        if closing:
            handle.close()
            raise ShuttingDown()
        self._local.handle = handle
        return handle

    def close_ended_loops(self) -> int:
        """Close the loops of worker threads that have ended (a server stopped and its threads with it): their
        connections and file descriptors go now, not at shutdown.  A thread's loop runs in that thread alone,
        so a loop whose thread is gone is not running.  Call it between servers (waitress's threads live as
        long as the process, so one server never needs it).  Returns how many were closed."""
        with self._lock:
            ended = [h for h in self._loops if h.role == "worker" and not h.owner.is_alive()]
            self._loops = [h for h in self._loops if h not in ended]
        for handle in ended:
            handle.close(timeout=REAP_SECONDS)
        return len(ended)

    def run(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """Run ``awaitable`` to completion on this thread's loop and return its result.

        ``timeout`` in seconds (None or 0: no limit): on expiry the coroutine is
        cancelled and :class:`TimeoutExpired` raised.  A coroutine that does not finish
        within ``cancel_grace`` of its cancellation (its cleanup waits on a server that
        does not answer) is abandoned on the loop: the caller is not held past the
        deadline, and the loop finishes it while it runs later requests.  Raises
        :class:`ShuttingDown` once :meth:`drain` or :meth:`shutdown` has begun.
        """
        if asyncio._get_running_loop() is not None:
            _discard(awaitable)
            raise RuntimeError(
                "a coroutine cannot be run synchronously from code that is itself running on an "
                "event loop in this thread: that would deadlock. Inside a coroutine, `await` it "
                "instead of calling request.run_async()."
            )
        if self._closing:
            _discard(awaitable)
            raise ShuttingDown()
        try:
            handle = self.worker_loop()
        except BaseException:
            _discard(awaitable)
            raise
        with handle.lock:
            if handle.closed:
                _discard(awaitable)
                raise ShuttingDown()
            loop = handle.loop
            handle.beat = time.monotonic()  # the loop stood still between runs: it was not blocked
            try:
                if not timeout:
                    result = loop.run_until_complete(awaitable)
                else:
                    result = self._run_with_deadline(loop, awaitable, timeout)
            except (asyncio.CancelledError, RuntimeError):
                if self._closing:  # cancelled (or given up on) by drain()
                    raise ShuttingDown("the request was cancelled: the server is shutting down") from None
                raise
            if self.debug:
                self._warn_leftovers(loop)
            return result

    def _run_with_deadline(self, loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T], timeout: float) -> T:
        # A timer that cancels the task: a third of what asyncio.timeout() costs per call.
        task = asyncio.ensure_future(awaitable, loop=loop)
        expiry = _Expiry(loop, task, self.cancel_grace)
        timer = loop.call_later(timeout, expiry.fire)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if expiry.fired and task.cancelled():
                raise TimeoutExpired(timeout) from None
            raise
        except RuntimeError:  # "Event loop stopped before Future completed"
            if not expiry.abandoned:
                raise
            task.add_done_callback(_forget)
            log.warning(
                "a coroutine did not finish within %g s of its cancellation and was abandoned: %r",
                self.cancel_grace,
                task,
            )
            raise TimeoutExpired(timeout, abandoned=task) from None
        finally:
            timer.cancel()
            expiry.disarm()

    @staticmethod
    def _warn_leftovers(loop: asyncio.AbstractEventLoop) -> None:
        left = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if left:
            log.warning(
                "%d task(s) left pending on a worker thread's loop, which only runs during a request "
                "(%r); await them, or use request.spawn() for work that outlives the request",
                len(left),
                left,
            )

    # -- the service loop ---------------------------------------------------------

    def start(self) -> None:
        """The application is made: start background tasks, if there are any."""
        self._started = True
        if self.background_tasks:
            self.service()

    def service(self) -> ServiceThread:
        with self._lock:
            if self._closing:
                raise ShuttingDown()
            if self._service is None:
                service = ServiceThread(self)
                service.start(self.shutdown_timeout)
                self._service = service
            return self._service

    def spawn(self, coro: Coroutine[Any, Any, T]) -> "Future[T]":
        """Run ``coro`` on the service loop without waiting for it; it is cancelled at shutdown."""
        try:
            service = self.service()
        except BaseException:
            _discard(coro)
            raise
        return service.submit(coro)

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        """Schedule a plain callback on the service loop from any thread: cheaper than ``spawn`` for work
        that needs no task of its own (handing data to a background task).  ShuttingDown once it stops."""
        self.service().call_soon(callback, *args)

    # -- introspection and shutdown -------------------------------------------------

    def stats(self) -> dict[str, Any]:
        service = self._service
        return {
            "pid": self._pid,
            "loop": self.loop_kind,
            "worker_loops": len(self._loops),
            "service_loop": service is not None and service.accepting,
            "service_tasks": len(service.tasks) if service else 0,
            "background_tasks": [name for _, name in self.background_tasks],
        }

    def loop_states(self) -> list[tuple[str, str, types.SimpleNamespace]]:
        """(role, thread name, state) of every open loop of this process."""
        handles = list(self._loops)
        service = self._service
        if service is not None and service.handle is not None:
            handles.append(service.handle)
        return [(h.role, h.thread, h.state) for h in handles if not h.closed]

    def drain(self, timeout: float) -> None:
        """Stop accepting coroutines; give those running ``timeout`` seconds, then cancel them.

        For a graceful stop while the server still answers: a request that arrives
        now gets :class:`ShuttingDown` (a 503), one still running at the deadline is
        cancelled and gets the same.  Returns once every worker loop is idle, or
        ``cancel_grace`` after the cancellation.
        """
        with self._lock:
            if self._pid != os.getpid():
                return
            self._closing = True
            loops = list(self._loops)
        deadline = time.monotonic() + timeout
        busy = []
        for handle in loops:
            if handle.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                handle.lock.release()
            else:
                busy.append(handle)
        for handle in busy:
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                handle.loop.call_soon_threadsafe(_cancel_running, handle, self.cancel_grace)
        until = time.monotonic() + self.cancel_grace + 0.5
        for handle in busy:
            if handle.lock.acquire(timeout=max(0.0, until - time.monotonic())):
                handle.lock.release()
        log.info("drained: %d request(s) still running were cancelled", len(busy))

    def shutdown(self) -> None:
        """Stop the service loop and close every loop's resources on that loop.  Idempotent.

        Bounded by ``shutdown_timeout`` in all: a loop still busy then (its request
        waits on a server that does not answer) is left as it is.
        """
        with self._lock:
            if self._pid != os.getpid() or self._shut_down:
                return
            self._closing = self._shut_down = True
            loops, self._loops = self._loops, []
            service = self._service
        deadline = time.monotonic() + self.shutdown_timeout
        if self.stop_by is not None:  # a graceful stop began earlier and spent part of the time
            deadline = min(deadline, self.stop_by)

        def left() -> float:
            return max(0.0, float(deadline - time.monotonic()))

        if service is not None:
            service.stop(left() / 2 if loops else left())
        closed = 0
        for handle in loops:
            if not handle.lock.acquire(timeout=left()):
                log.warning("the loop of thread %s is still busy; its resources are left open", handle.thread)
                continue
            try:
                handle.close(left())
                closed += 1
            except Exception:
                log.exception("closing the loop of thread %s failed", handle.thread)
            finally:
                handle.lock.release()
        log.info(
            "shut down: closed %d of %d worker loop(s)%s",
            closed,
            len(loops),
            " and the service loop" if service is not None else "",
        )


_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    _states.clear()  # the parent's loops are never run here
    for runtime in list(_runtimes):
        runtime._reset()


def _shutdown_all() -> None:
    for runtime in list(_runtimes):
        runtime.shutdown()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_shutdown_all)

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
import inspect
import logging
import os
import threading
import types
import weakref

log = logging.getLogger(__name__)

#: The loop states by loop, for code that needs the state of whatever loop it
#: runs on (a spawned task, a background task's helpers).
_states = {}


class TimeoutExpired(TimeoutError):
    """The deadline given to :meth:`Runtime.run` passed; the coroutine was cancelled."""

    def __init__(self, seconds):
        super().__init__(f"the coroutine did not finish within {seconds:g} s and was cancelled")
        self.seconds = seconds


def loop_state(loop=None):
    """The state namespace of ``loop`` (by default the running loop).

    Raises LookupError for a loop that no runtime manages.
    """
    loop = loop or asyncio.get_running_loop()
    try:
        return _states[loop]
    except KeyError:
        raise LookupError(f"{loop!r} is not managed by myapp.aio") from None


def loop_factory(kind):
    """The function that makes a new loop of ``kind``; fails at once for a bad kind or missing uvloop."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    if kind == "asyncio":
        return asyncio.new_event_loop
    raise ValueError(f"unknown event loop kind {kind!r}; use 'asyncio' or 'uvloop'")


def _discard(awaitable):
    """Close a coroutine that will never run, so Python does not warn about it."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


class Loop:
    """One event loop, the resources opened on it, and the lock held while it runs."""

    def __init__(self, loop, role):
        self.loop = loop
        self.role = role  # "worker" or "service"
        self.thread = threading.current_thread().name
        self.state = types.SimpleNamespace()
        self.lock = threading.Lock()
        self.closed = False
        self._open_contexts = []

    async def open(self, factories):
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
                self._open_contexts.append((factory, gen))
        except BaseException:
            await self.close_contexts()
            raise

    async def close_contexts(self):
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

    def close(self):
        """Close the resources, cancel anything left, close the loop.  The loop must not be running."""
        if self.closed:
            return
        self.closed = True
        loop = self.loop
        try:
            loop.run_until_complete(self.close_contexts())
            leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            _states.pop(loop, None)
            loop.close()


class ServiceThread:
    """A daemon thread running one loop forever: background tasks and spawned coroutines."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.handle = None
        self.tasks = set()
        self.accepting = True
        self._ready = threading.Event()
        self._failure = None
        self._thread = threading.Thread(target=self._main, name="myapp.aio-service", daemon=True)

    def start(self, timeout):
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the service loop did not start within {timeout:g} s")
        if self._failure is not None:
            raise RuntimeError("the service loop could not open its cleanup contexts") from self._failure

    def _main(self):
        runtime = self.runtime
        loop = runtime.new_loop()
        asyncio.set_event_loop(loop)
        runtime.configure_loop(loop)
        self.handle = handle = Loop(loop, "service")
        _states[loop] = handle.state
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
            handle.close()

    def _track(self, task):
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def submit(self, coro):
        """Schedule ``coro`` on the service loop from any thread; returns a concurrent Future."""
        if not self.accepting:
            _discard(coro)
            raise RuntimeError("the service loop is shutting down; no new work is accepted")
        return asyncio.run_coroutine_threadsafe(self._spawned(coro), self.handle.loop)

    async def _spawned(self, coro):
        self._track(asyncio.current_task())
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except BaseException:
            log.exception("spawned coroutine %r failed", coro)
            raise

    async def _stop(self, timeout):
        current = asyncio.current_task()
        pending = [t for t in self.tasks if t is not current]
        for task in pending:
            task.cancel()
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                log.warning("task %r ignored cancellation at shutdown", task)
        asyncio.get_running_loop().stop()

    def stop(self, timeout):
        self.accepting = False
        if self.handle is None or self.handle.closed:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(timeout), self.handle.loop)
        except RuntimeError:  # the loop closed by itself
            return
        self._thread.join(timeout * 2)
        if self._thread.is_alive():
            log.warning("the service loop did not stop within %g s", timeout * 2)


async def supervise(fn, name, state, backoff):
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

    def __init__(self, *, loop_kind="asyncio", debug=False, slow_callback_duration=0.1,
                 default_timeout=30.0, shutdown_timeout=10.0, restart_backoff=1.0):
        self.new_loop = loop_factory(loop_kind)  # checked at configuration time; no loop made yet
        self.loop_kind = loop_kind
        self.debug = debug
        self.slow_callback_duration = slow_callback_duration
        self.default_timeout = default_timeout
        self.shutdown_timeout = shutdown_timeout
        self.restart_backoff = restart_backoff
        self.cleanup_contexts = []
        self.background_tasks = []
        self._started = False
        self._reset()
        _runtimes.add(self)

    def _reset(self):
        """Forget every loop and thread: a new process (first use, or a forked child)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._loops = []
        self._service = None
        self._closing = False

    def configure_loop(self, loop):
        if self.debug:
            loop.set_debug(True)
            loop.slow_callback_duration = self.slow_callback_duration

    # -- the worker thread's loop -------------------------------------------------

    def worker_loop(self):
        """This thread's loop handle, created (and its contexts opened) on first use."""
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = self._new_worker_loop()
        return handle

    def _new_worker_loop(self):
        if self._closing:
            raise RuntimeError("the async runtime has shut down")
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
            raise RuntimeError("the async runtime has shut down")
        self._local.handle = handle
        return handle

    def run(self, awaitable, timeout=None):
        """Run ``awaitable`` to completion on this thread's loop and return its result.

        ``timeout`` in seconds (None or 0: no limit): on expiry the coroutine is
        cancelled and :class:`TimeoutExpired` raised.
        """
        if asyncio._get_running_loop() is not None:
            _discard(awaitable)
            raise RuntimeError(
                "a coroutine cannot be run synchronously from code that is itself running on an "
                "event loop in this thread: that would deadlock. Inside a coroutine, `await` it "
                "instead of calling request.run_async()."
            )
        try:
            handle = self.worker_loop()
        except BaseException:
            _discard(awaitable)
            raise
        with handle.lock:
            if handle.closed:
                _discard(awaitable)
                raise RuntimeError("the async runtime has shut down")
            loop = handle.loop
            if not timeout:
                result = loop.run_until_complete(awaitable)
            else:
                result = self._run_with_deadline(loop, awaitable, timeout)
            if self.debug:
                self._warn_leftovers(loop)
            return result

    @staticmethod
    def _run_with_deadline(loop, awaitable, timeout):
        # A timer that cancels the task: a third of what asyncio.timeout() costs per call.
        task = asyncio.ensure_future(awaitable, loop=loop)
        expired = []

        def expire():
            expired.append(True)
            task.cancel()

        timer = loop.call_later(timeout, expire)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if expired and task.cancelled():
                raise TimeoutExpired(timeout) from None
            raise
        finally:
            timer.cancel()

    @staticmethod
    def _warn_leftovers(loop):
        left = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if left:
            log.warning(
                "%d task(s) left pending on a worker thread's loop, which only runs during a request "
                "(%r); await them, or use request.spawn() for work that outlives the request",
                len(left), left,
            )

    # -- the service loop ---------------------------------------------------------

    def start(self):
        """The application is made: start background tasks, if there are any."""
        self._started = True
        if self.background_tasks:
            self.service()

    def service(self):
        with self._lock:
            if self._closing:
                raise RuntimeError("the async runtime has shut down")
            if self._service is None:
                service = ServiceThread(self)
                service.start(self.shutdown_timeout)
                self._service = service
            return self._service

    def spawn(self, coro):
        """Run ``coro`` on the service loop without waiting for it; it is cancelled at shutdown."""
        try:
            service = self.service()
        except BaseException:
            _discard(coro)
            raise
        return service.submit(coro)

    # -- introspection and shutdown -------------------------------------------------

    def stats(self):
        service = self._service
        return {
            "pid": self._pid,
            "loop": self.loop_kind,
            "worker_loops": len(self._loops),
            "service_loop": service is not None and service.accepting,
            "service_tasks": len(service.tasks) if service else 0,
            "background_tasks": [name for _, name in self.background_tasks],
        }

    def loop_states(self):
        """(role, thread name, state) of every open loop of this process."""
        handles = list(self._loops)
        service = self._service
        if service is not None and service.handle is not None:
            handles.append(service.handle)
        return [(h.role, h.thread, h.state) for h in handles if not h.closed]

    def shutdown(self):
        """Stop the service loop and close every loop's resources on that loop.  Idempotent."""
        with self._lock:
            if self._closing or self._pid != os.getpid():
                return
            self._closing = True
            loops, self._loops = self._loops, []
            service = self._service
        if service is not None:
            service.stop(self.shutdown_timeout)
        closed = 0
        for handle in loops:
            if not handle.lock.acquire(timeout=self.shutdown_timeout):
                log.warning("the loop of thread %s is still busy; its resources are left open", handle.thread)
                continue
            try:
                handle.close()
                closed += 1
            except Exception:
                log.exception("closing the loop of thread %s failed", handle.thread)
            finally:
                handle.lock.release()
        log.info("shut down: closed %d of %d worker loop(s)%s", closed, len(loops),
                 " and the service loop" if service is not None else "")


_runtimes = weakref.WeakSet()


def _after_fork_in_child():
    _states.clear()  # the parent's loops are never run here
    for runtime in list(_runtimes):
        runtime._reset()


def _shutdown_all():
    for runtime in list(_runtimes):
        runtime.shutdown()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_shutdown_all)

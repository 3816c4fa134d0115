"""Loops per worker thread, cleanup contexts, background tasks, spawn, shutdown, fork, debug."""

import asyncio
import collections
import json
import logging
import os
import threading
import time

import aiohttp
import pytest
from webtest import TestApp

from myapp.aio import loop_state

from ..helpers import wait_until
from .conftest import add


async def fetch_all(urls):
    async with aiohttp.ClientSession() as session:

        async def get(url):
            async with session.get(url) as res:
                return res.status, await res.json()

        return await asyncio.gather(*(get(u) for u in urls))


class Rendezvous:
    """Each caller arrives, then waits (polling with a deadline) until ``parties`` have arrived.

    If the server ran the views one after another, the first would never see the
    second arrive and would report a timeout instead.
    """

    def __init__(self, parties):
        self.parties = parties
        self.arrived = 0
        self.lock = threading.Lock()

    async def meet(self, deadline=5.0):
        with self.lock:
            self.arrived += 1
        end = time.monotonic() + deadline
        while self.arrived < self.parties:
            if time.monotonic() > end:
                return False
            await asyncio.sleep(0.005)
        return True


def test_two_slow_views_run_at_once_on_two_threads(make_app, serve):
    meeting = Rendezvous(2)

    async def slow(request):
        met = await meeting.meet()
        return {"met": met, "thread": threading.get_ident(), "loop": id(asyncio.get_running_loop())}

    url = serve(make_app(lambda c: add(c, slow, "/slow")), threads=2)
    (s1, a), (s2, b) = asyncio.run(fetch_all([url + "/slow", url + "/slow"]))
    assert (s1, s2) == (200, 200)
    assert a["met"] and b["met"], "the two requests did not overlap"
    assert a["thread"] != b["thread"] and a["loop"] != b["loop"]


def counting_contexts(record):
    """A cleanup context that records, per loop, how often it opened and closed."""

    async def resource(state):
        loop = id(asyncio.get_running_loop())
        record["open"][loop] += 1
        state.resource = f"resource-{loop}"
        state.thread = threading.current_thread().name
        yield
        record["close"][loop] += 1
        record["closed_on_thread"][loop] = threading.current_thread().name

    return resource


def test_cleanup_contexts_open_once_per_loop_and_close_once_at_shutdown(make_app, serve):
    record = {"open": collections.Counter(), "close": collections.Counter(), "closed_on_thread": {}}
    meeting = Rendezvous(3)

    async def use(request):
        await meeting.meet()
        assert request.loop_state is loop_state()
        return {"resource": request.loop_state.resource}

    async def job(state):
        await asyncio.Event().wait()  # runs until cancelled

    def setup(c):
        c.add_cleanup_ctx(counting_contexts(record))
        c.add_background_task(job)
        add(c, use, "/use")

    app = make_app(setup)
    url = serve(app, threads=3)
    results = asyncio.run(fetch_all([url + "/use"] * 3))
    assert {status for status, _ in results} == {200}
    results += asyncio.run(fetch_all([url + "/use"] * 6))  # reuse, no new loops
    runtime = app.registry.aio_runtime
    assert runtime.stats()["worker_loops"] == 3
    assert len(record["open"]) == 4  # three worker loops and the service loop
    assert set(record["open"].values()) == {1}
    assert len({body["resource"] for _, body in results}) == 3

    runtime.shutdown()
    runtime.shutdown()  # idempotent
    assert record["close"] == record["open"]
    service_loop = [loop for loop, thread in record["closed_on_thread"].items() if thread == "myapp.aio-service"]
    assert len(service_loop) == 1  # the service loop's contexts closed on the service thread


def test_the_loops_of_threads_that_ended_can_be_closed_before_shutdown(make_app):
    """A server stopped takes its threads with it: their loops (and the connections opened on them) can be
    closed then, not kept until the process exits; the loops of live threads stay."""
    record = {"open": collections.Counter(), "close": collections.Counter(), "closed_on_thread": {}}
    app = make_app(lambda c: c.add_cleanup_ctx(counting_contexts(record)))
    runtime = app.registry.aio_runtime

    def use_a_loop():
        runtime.run(asyncio.sleep(0))

    for _ in range(3):
        thread = threading.Thread(target=use_a_loop)
        thread.start()
        thread.join()
    use_a_loop()  # this thread lives on
    assert runtime.stats()["worker_loops"] == 4
    assert runtime.close_ended_loops() == 3
    assert runtime.stats()["worker_loops"] == 1 and sum(record["close"].values()) == 3
    use_a_loop()  # its loop stayed: nothing opened again
    assert sum(record["open"].values()) == 4 and runtime.close_ended_loops() == 0


def test_work_abandoned_on_an_ended_threads_loop_finishes_before_its_contexts_close(make_app):
    """A request's cleanup that outlived its deadline (a rollback waiting on its server) is left to the loop's
    next request; when the thread ends first, closing its loop lets that cleanup finish (its connection goes
    back to the pool) before the contexts close, rather than cancelling it midway."""
    order = []

    async def context(state):
        yield
        order.append("contexts closed")

    async def slow_cleanup():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)  # the server answers the rollback, late
            order.append("cleanup finished")
            raise

    async def stubborn(request):
        await slow_cleanup()

    def setup(c):
        c.add_cleanup_ctx(context)
        add(c, stubborn, "/stubborn", async_timeout=0.1)

    app = make_app(setup, aio__cancel_grace="0.05")
    thread = threading.Thread(target=lambda: TestApp(app).get("/stubborn", status=504))
    thread.start()
    thread.join()
    assert order == []  # abandoned on the thread's loop, which no longer runs
    assert app.registry.aio_runtime.close_ended_loops() == 1
    assert order == ["cleanup finished", "contexts closed"]


def test_a_failing_cleanup_context_closes_the_ones_opened_before_it(make_app):
    record = {"open": collections.Counter(), "close": collections.Counter(), "closed_on_thread": {}}

    async def broken(state):
        raise ConnectionError("database is down")
        yield

    async def view(request):
        return {}

    def setup(c):
        c.add_cleanup_ctx(counting_contexts(record))
        c.add_cleanup_ctx(broken)
        add(c, view, "/v")

    app = TestApp(make_app(setup))
    with pytest.raises(ConnectionError, match="database is down"):
        app.get("/v")
    assert sum(record["open"].values()) == 1 and record["close"] == record["open"]


def test_background_task_gets_service_state_is_restarted_and_cancelled(make_app):
    runs = []
    cancelled = threading.Event()

    async def resource(state):
        state.name = "service resource"
        yield

    async def flaky(state):
        runs.append(state.name)
        if len(runs) == 1:
            raise RuntimeError("first run fails")
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    def setup(c):
        c.add_cleanup_ctx(resource)
        c.add_background_task(flaky, name="flaky")

    app = make_app(setup, aio__restart_backoff="0.01")
    assert wait_until(lambda: len(runs) == 2), runs  # restarted after the failure
    assert runs == ["service resource", "service resource"]
    assert app.registry.aio_runtime.stats()["background_tasks"] == ["flaky"]
    app.registry.aio_runtime.shutdown()
    assert cancelled.is_set()


def test_background_task_failure_is_logged_with_traceback(make_app, caplog):
    done = threading.Event()

    async def fails(state):
        if done.is_set():
            await asyncio.Event().wait()
        done.set()
        raise ValueError("bad thing")

    with caplog.at_level(logging.ERROR, logger="myapp.aio.runtime"):
        make_app(lambda c: c.add_background_task(fails, name="fails"), aio__restart_backoff="0.01")
        assert done.wait(5)
        assert wait_until(lambda: any(r.exc_info for r in caplog.records))
    record = next(r for r in caplog.records if r.exc_info)
    assert "fails" in record.getMessage() and record.exc_info[0] is ValueError


def test_spawn_runs_on_service_loop_and_is_cancelled_at_shutdown(make_app):
    seen = {}
    started = threading.Event()
    finished = threading.Event()

    async def work(tag):
        seen["thread"] = threading.current_thread().name
        seen["tag"] = tag
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            finished.set()

    async def view(request):
        request.spawn(work("spawned"))
        return {"thread": threading.current_thread().name}

    app = make_app(lambda c: add(c, view, "/spawn"))
    body = TestApp(app).get("/spawn").json
    assert started.wait(5)
    assert seen == {"thread": "myapp.aio-service", "tag": "spawned"}
    assert body["thread"] != seen["thread"]
    app.registry.aio_runtime.shutdown()
    assert finished.is_set()
    with pytest.raises(RuntimeError, match="shutting down"):
        app.registry.aio_runtime.spawn(work("late"))


def test_forked_child_serves_on_its_own_loop(make_app):
    async def which(request):
        return {"pid": os.getpid(), "loop": id(asyncio.get_running_loop()), "state": request.loop_state.opened_in}

    async def resource(state):
        state.opened_in = os.getpid()
        yield

    def setup(c):
        c.add_cleanup_ctx(resource)
        add(c, which, "/which")

    app = make_app(setup)
    parent = TestApp(app).get("/which").json
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            child = TestApp(app).get("/which").json
            app.registry.aio_runtime.shutdown()
            os.write(write_end, json.dumps(child).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    assert child is not None, "the child could not serve the request"
    assert child["pid"] == child["state"] == pid  # resources opened in the child, for the child
    assert parent["pid"] == parent["state"] == os.getpid()
    # the parent's loop still works after the fork
    assert TestApp(app).get("/which").json == parent


@pytest.mark.slow_callbacks_expected
def test_debug_mode_reports_slow_callbacks_and_leftover_tasks(make_app, caplog):
    async def blocking(request):
        time.sleep(0.06)  # a blocking call inside a coroutine
        return {}

    async def leaves_task(request):
        asyncio.get_running_loop().create_task(asyncio.sleep(10))
        return {}

    def setup(c):
        add(c, blocking, "/blocking")
        add(c, leaves_task, "/leaves")

    app = TestApp(make_app(setup, aio__debug="true", aio__slow_callback_ms="20"))
    with caplog.at_level(logging.WARNING):
        app.get("/blocking")
        app.get("/leaves")
    messages = [r.getMessage() for r in caplog.records]
    assert any("Executing" in m and "took" in m for m in messages), messages
    assert any("left pending" in m for m in messages), messages


@pytest.mark.slow_callbacks_expected
def test_the_watchdog_names_the_blocking_call_and_nothing_else(make_app, caplog):
    """A coroutine that blocks its loop is logged with its stack, once; one that waits (the loop free
    meanwhile) is not, nor is a loop that stood still between requests; debug mode is off."""

    async def blocking(request):
        time.sleep(0.4)  # a blocking call inside a coroutine
        return {}

    async def waiting(request):
        await asyncio.sleep(0.4)
        return {}

    def setup(c):
        add(c, blocking, "/blocking")
        add(c, waiting, "/waiting")

    app = TestApp(make_app(setup, aio__debug="false", aio__blocked_ms="100"))
    with caplog.at_level(logging.WARNING, logger="myapp.aio.runtime"):
        app.get("/waiting")
        time.sleep(0.3)  # this thread's loop stands still between requests: not blocked
        app.get("/waiting")
        quiet = [r.getMessage() for r in caplog.records]
        app.get("/blocking")
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Blocked: ")]
    assert quiet == []
    assert len(said) == 1, said
    assert "the worker loop of thread" in said[0] and "in blocking" in said[0] and "time.sleep(0.4)" in said[0]

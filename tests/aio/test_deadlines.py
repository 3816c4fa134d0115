"""One deadline per request, shared by everything it runs; cancellation that cannot hang; a bounded stop."""

import asyncio
import threading
import time

from webtest import TestApp

from .conftest import add

NAP = 0.3


def napping_tween_factory(handler, registry):
    """A tween that does async work through run_async, as the identity lookup does."""

    def tween(request):
        request.run_async(asyncio.sleep(NAP))
        return handler(request)

    return tween


def test_tween_work_and_the_view_share_one_deadline(make_app):
    async def view(request):
        await asyncio.sleep(NAP)
        return {"done": True}

    def setup(c):
        c.add_tween(f"{__name__}.napping_tween_factory")
        add(c, view, "/v")

    app = TestApp(make_app(setup, aio__timeout="0.5"))
    started = time.monotonic()
    res = app.get("/v", status=504)
    assert time.monotonic() - started < 0.5 + 0.2  # not 0.3 + a fresh 0.5 for the view
    assert "0.5 seconds" in res.text


def test_run_async_past_the_deadline_does_not_start(make_app):
    ran = []

    async def work():
        ran.append(True)

    def sync_view(request):
        request.aio_deadline = time.monotonic() - 1  # already spent
        request.run_async(work())
        return {}

    TestApp(make_app(lambda c: add(c, sync_view, "/late"))).get("/late", status=504)
    assert ran == []


def test_a_coroutine_that_ignores_cancellation_is_abandoned_at_the_deadline(make_app):
    release = threading.Event()
    finished = []

    async def stubborn(request):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:  # cleanup that waits on something that does not answer
            while not release.is_set():
                await asyncio.sleep(0.01)
            finished.append(True)
            raise
        return {}

    async def quick(request):
        await asyncio.sleep(0.05)
        return {"ok": True}

    def setup(c):
        add(c, stubborn, "/stubborn", async_timeout=0.1)
        add(c, quick, "/quick")

    app = TestApp(make_app(setup, aio__cancel_grace="0.1"))
    started = time.monotonic()
    app.get("/stubborn", status=504)
    assert time.monotonic() - started < 0.1 + 0.1 + 0.2
    release.set()
    assert app.get("/quick").json == {"ok": True}  # the same loop serves, and finishes the abandoned task
    assert finished == [True]


def test_drain_lets_requests_finish_then_cancels_them_with_503(make_app, serve):
    entered = threading.Event()

    async def forever(request):
        entered.set()
        await asyncio.Event().wait()

    async def short(request):
        return {"ok": True}

    def setup(c):
        add(c, forever, "/forever")
        add(c, short, "/short")

    app = make_app(setup)
    url = serve(app, threads=2)
    import urllib.error
    import urllib.request

    result = {}

    def call():
        try:
            urllib.request.urlopen(url + "/forever", timeout=10)
        except urllib.error.HTTPError as exc:
            result["status"], result["retry"] = exc.code, exc.headers.get("Retry-After")

    caller = threading.Thread(target=call)
    caller.start()
    assert entered.wait(5)
    started = time.monotonic()
    app.registry.aio_runtime.drain(0.2)
    assert time.monotonic() - started < 0.2 + 1.5
    caller.join(10)
    assert result == {"status": 503, "retry": "5"}
    try:
        urllib.request.urlopen(url + "/short", timeout=10)
    except urllib.error.HTTPError as exc:  # new work is refused while stopping
        assert exc.code == 503
    else:
        raise AssertionError("a request was served after drain()")


def test_shutdown_is_bounded_in_all_when_loops_stay_busy(make_app, serve):
    """Three busy loops do not wait their shutdown_timeout one after another."""
    entered, release = threading.Semaphore(0), threading.Event()

    async def stubborn(request):
        entered.release()
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                pass  # ignores every cancellation
        return {}

    app = make_app(lambda c: add(c, stubborn, "/stubborn", async_timeout=0), aio__shutdown_timeout="1")
    url = serve(app, threads=3)
    for _ in range(3):
        threading.Thread(target=lambda: _get(url + "/stubborn"), daemon=True).start()
    for _ in range(3):
        assert entered.acquire(timeout=5)
    started = time.monotonic()
    app.registry.aio_runtime.shutdown()
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 1 + 0.5


def _get(url):
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=30)
    except Exception:
        pass

"""async def wherever Pyramid accepts a view; timeouts; errors; sync views untouched."""

import asyncio
import contextvars
import threading
import traceback

import pytest
from pyramid.authorization import ACLHelper, Allow, Everyone
from pyramid.threadlocal import get_current_request
from webtest import TestApp

from myapp.aio import is_async_view

from .conftest import add


async def hello(request):
    await asyncio.sleep(0)
    return {"hello": request.matchdict.get("name", "world"), "thread": threading.get_ident()}


def sync_hello(request):
    return {"hello": "sync"}


class CallView:
    def __init__(self, request):
        self.request = request

    async def __call__(self):
        await asyncio.sleep(0)
        return {"kind": "__call__"}


class AttrViews:
    def __init__(self, context, request):
        self.request = request

    async def show(self):
        await asyncio.sleep(0)
        return {"kind": "attr", "id": self.request.matchdict["id"]}

    def plain(self):
        return {"kind": "sync attr"}


class CallableInstance:
    async def __call__(self, request):
        return {"kind": "instance"}


def test_function_view(make_app):
    app = make_app(lambda c: add(c, hello, "/hello/{name}"))
    res = TestApp(app).get("/hello/ada")
    assert res.json["hello"] == "ada"
    # runs on the calling thread: no hop to another thread
    assert res.json["thread"] == threading.get_ident()


def test_class_views_call_attr_and_instance(make_app):
    def setup(c):
        add(c, CallView, "/call")
        add(c, AttrViews, "/attr/{id}", attr="show")
        add(c, AttrViews, "/plain", attr="plain")
        add(c, CallableInstance(), "/instance")

    app = TestApp(make_app(setup))
    assert app.get("/call").json == {"kind": "__call__"}
    assert app.get("/attr/7").json == {"kind": "attr", "id": "7"}
    assert app.get("/plain").json == {"kind": "sync attr"}
    assert app.get("/instance").json == {"kind": "instance"}


def test_detection():
    assert is_async_view(hello)
    assert not is_async_view(sync_hello)
    assert is_async_view(CallView)
    assert is_async_view(AttrViews, "show")
    assert not is_async_view(AttrViews, "plain")
    assert is_async_view(CallableInstance())


def test_sync_view_untouched(make_app):
    app = make_app(lambda c: add(c, sync_hello, "/sync"))
    assert TestApp(app).get("/sync").json == {"hello": "sync"}
    # a sync view never touches an event loop
    assert app.registry.aio_runtime.stats()["worker_loops"] == 0


def test_loop_is_reused_per_thread(make_app):
    async def which_loop(request):
        return {"loop": id(asyncio.get_running_loop()), "state": id(request.loop_state)}

    app = TestApp(make_app(lambda c: add(c, which_loop, "/loop")))
    first, second = app.get("/loop").json, app.get("/loop").json
    assert first == second


class Teapot(Exception):
    pass


async def raise_teapot(request):
    await asyncio.sleep(0)
    raise Teapot("short and stout")


async def teapot_view(exc, request):
    await asyncio.sleep(0)
    request.response.status = 418
    return {"error": str(exc), "frames": [f.name for f in traceback.extract_tb(exc.__traceback__)]}


def test_exception_in_coroutine_reaches_async_exception_view(make_app):
    def setup(c):
        add(c, raise_teapot, "/boom")
        c.add_exception_view(teapot_view, Teapot, renderer="json")

    res = TestApp(make_app(setup)).get("/boom", status=418)
    assert res.json["error"] == "short and stout"
    assert "raise_teapot" in res.json["frames"]  # the traceback reaches into the coroutine


async def not_found(exc, request):
    request.response.status = 404
    return {"missing": request.path}


async def forbidden(exc, request):
    request.response.status = 403
    return {"denied": request.path}


class DenyAll:
    def identity(self, request):
        return None

    def authenticated_userid(self, request):
        return None

    def permits(self, request, context, permission):
        return ACLHelper().permits(context, [], permission)


def test_notfound_and_forbidden_views(make_app):
    def setup(c):
        c.set_security_policy(DenyAll())
        add(c, hello, "/secret", permission="view")
        c.add_notfound_view(not_found, renderer="json")
        c.add_forbidden_view(forbidden, renderer="json")

    app = TestApp(make_app(setup))
    assert app.get("/nowhere", status=404).json == {"missing": "/nowhere"}
    assert app.get("/secret", status=403).json == {"denied": "/secret"}


class Root:
    __acl__ = [(Allow, "alice", "view")]


class LookupPolicy:
    """A sync security policy that finds the identity with a coroutine through request.run_async."""

    async def lookup(self, request):
        await asyncio.sleep(0)
        return request.headers.get("X-User")

    def identity(self, request):
        return request.run_async(self.lookup(request))

    def authenticated_userid(self, request):
        return self.identity(request)

    def permits(self, request, context, permission):
        principals = [Everyone]
        user = self.identity(request)
        if user:
            principals.append(user)
        return ACLHelper().permits(context, principals, permission)


def test_security_policy_runs_coroutine_before_the_view(make_app):
    def setup(c):
        c.set_root_factory(lambda request: Root())
        c.set_security_policy(LookupPolicy())
        add(c, hello, "/guarded", permission="view")

    app = TestApp(make_app(setup))
    assert app.get("/guarded", headers={"X-User": "alice"}).json["hello"] == "world"
    app.get("/guarded", headers={"X-User": "mallory"}, status=403)


def test_timeout_cancels_the_coroutine_and_answers_504(make_app):
    cleaned = threading.Event()

    async def slow(request):
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.set()
        return {}

    app = TestApp(make_app(lambda c: add(c, slow, "/slow", async_timeout=0.05)))
    res = app.get("/slow", status=504)
    assert cleaned.is_set()  # the coroutine's finally ran before the response left
    assert "0.05" in res.text


def test_global_timeout_and_per_view_zero_means_none(make_app):
    async def nap(request):
        await asyncio.sleep(0.1)
        return {"done": True}

    def setup(c):
        add(c, nap, "/limited")
        add(c, nap, "/unlimited", async_timeout=0)

    app = TestApp(make_app(setup, aio__timeout="0.02"))
    app.get("/limited", status=504)
    assert app.get("/unlimited").json == {"done": True}


def test_a_timeout_raised_by_the_view_itself_is_not_a_504(make_app):
    async def own_timeout(request):
        async with asyncio.timeout(0.001):
            await asyncio.sleep(1)

    def timeout_view(exc, request):
        request.response.status = 502
        return {"upstream": "timed out"}

    def setup(c):
        add(c, own_timeout, "/own")
        c.add_exception_view(timeout_view, TimeoutError, renderer="json")

    assert TestApp(make_app(setup)).get("/own", status=502).json == {"upstream": "timed out"}


class Halt(BaseException):
    pass


def test_base_exception_propagates_with_traceback(make_app):
    async def halt(request):
        await asyncio.sleep(0)
        raise Halt("stop")

    app = TestApp(make_app(lambda c: add(c, halt, "/halt")))
    with pytest.raises(Halt) as info:
        app.get("/halt")
    assert "halt" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    # the loop survives it
    app.app.registry.aio_runtime.run(asyncio.sleep(0))


request_tag = contextvars.ContextVar("request_tag", default=None)


def tagging_tween_factory(handler, registry):
    def tween(request):
        token = request_tag.set(request.path)
        try:
            return handler(request)
        finally:
            request_tag.reset(token)

    return tween


def test_contextvars_and_threadlocals_reach_the_coroutine(make_app):
    async def show(request):
        await asyncio.sleep(0)
        return {"tag": request_tag.get(), "same_request": get_current_request() is request}

    def setup(c):
        c.add_tween(f"{__name__}.tagging_tween_factory")
        add(c, show, "/ctx")

    assert TestApp(make_app(setup)).get("/ctx").json == {"tag": "/ctx", "same_request": True}


def test_run_async_from_sync_view_and_from_coroutine(make_app):
    async def answer():
        await asyncio.sleep(0)
        return 42

    def sync_view(request):
        return {"answer": request.run_async(answer())}

    async def nested(request):
        try:
            request.run_async(answer())
        except RuntimeError as exc:
            return {"error": str(exc)}
        return {"error": None}

    def setup(c):
        add(c, sync_view, "/sync")
        add(c, nested, "/nested")

    app = TestApp(make_app(setup))
    assert app.get("/sync").json == {"answer": 42}
    error = app.get("/nested").json["error"]
    assert "deadlock" in error and "await" in error


def test_run_async_timeout(make_app):
    from myapp.aio import TimeoutExpired

    def sync_view(request):
        try:
            request.run_async(asyncio.sleep(5), timeout=0.01)
        except TimeoutExpired:
            return {"timed_out": True}
        return {"timed_out": False}

    assert TestApp(make_app(lambda c: add(c, sync_view, "/t"))).get("/t").json == {"timed_out": True}


def test_bad_settings_fail_at_configuration(make_app):
    with pytest.raises(ValueError, match="event loop kind"):
        make_app(aio__loop="trio")
    with pytest.raises(ValueError, match="aio.timeout"):
        make_app(aio__timeout="soon")

"""Request properties are baked into one class, and still behave as Pyramid's."""

import itertools

from pyramid.interfaces import IRequestExtensions
from pyramid.request import Request
from pyramid.scripting import prepare
from webtest import TestApp

from .conftest import add


def test_properties_live_on_one_class_and_stay_per_request(make_app):
    counter = itertools.count()

    def setup(c):
        c.add_request_method(lambda request: next(counter), "serial", reify=True)
        c.add_request_method(lambda request: request.path, "where", property=True)
        c.add_request_method(lambda request, n: n * 2, "double")

        def view(request):
            return {
                "class": id(type(request)),
                "serial": [request.serial, request.serial],
                "where": request.where,
                "double": request.double(21),
                "loop_state": request.loop_state is not None,
            }

        def sub(request):
            child = request.invoke_subrequest(request.blank("/show"), use_tweens=False)
            return {"child": child.json}

        add(c, view, "/show")
        add(c, sub, "/sub")

    app = make_app(setup)
    client = TestApp(app)
    first, second = client.get("/show").json, client.get("/show").json
    assert first["class"] == second["class"]  # no class made per request
    assert first["serial"][0] == first["serial"][1]  # reified: once per request
    assert second["serial"][0] != first["serial"][0]  # and again on the next one
    assert first["where"] == "/show" and first["double"] == 42 and first["loop_state"]
    assert app.registry.queryUtility(IRequestExtensions).descriptors == {}
    assert client.get("/sub").json["child"]["where"] == "/show"  # request.blank keeps the properties

    env = prepare(registry=app.registry)  # pshell and scripts get them too
    try:
        assert env["request"].where == "/"
    finally:
        env["closer"]()


def test_a_factory_of_the_app_is_kept_and_extended(make_app):
    class AppRequest(Request):
        def greeting(self):
            return "hello"

    def setup(c):
        c.set_request_factory(AppRequest)
        c.add_request_method(lambda request: 7, "lucky", reify=True)
        add(
            c,
            lambda request: {
                "greeting": request.greeting(),
                "lucky": request.lucky,
                "subclass": isinstance(request, AppRequest),
            },
            "/g",
        )

    assert TestApp(make_app(setup)).get("/g").json == {"greeting": "hello", "lucky": 7, "subclass": True}

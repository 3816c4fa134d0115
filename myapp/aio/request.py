"""Request properties baked into one request class at commit, not into a new class per request.

Pyramid applies ``add_request_method(..., reify=True)`` and ``property=True``
extensions by creating a new subclass of the request for every request
(``pyramid.util.InstancePropertyHelper.apply_properties``).  On this machine that
costs 27 us on a static file and 40-120 us on myapp's database requests
(``python -m bench.request_class``).  After every
``add_request_method`` of the commit has run, this builds that subclass once, from
the registered request factory, and makes it the factory; the router then has no
properties left to apply.

A subrequest made with the base class (``pyramid.request.Request.blank``) misses the
properties: make it with ``request.blank(...)``, which uses the baked class, or turn
this off with ``aio.bake_request_properties = false``.
"""

from pyramid.config import PHASE3_CONFIG, Configurator
from pyramid.interfaces import IRequestExtensions, IRequestFactory
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.settings import asbool


def bake_request_properties(registry: Registry) -> None:
    extensions = registry.queryUtility(IRequestExtensions)
    factory = registry.queryUtility(IRequestFactory, default=Request)
    if extensions is None or not extensions.descriptors or not isinstance(factory, type):
        return  # nothing to bake, or a factory function Pyramid must keep calling as it is
    attrs = {"__module__": factory.__module__, **extensions.descriptors}
    baked = type(factory.__name__, (factory,), attrs)
    registry.registerUtility(baked, IRequestFactory)
    extensions.descriptors.clear()


def includeme(config: Configurator) -> None:
    if not asbool(config.get_settings().get("aio.bake_request_properties", "true")):
        return
    config.action(None, bake_request_properties, args=(config.registry,), order=PHASE3_CONFIG + 1)

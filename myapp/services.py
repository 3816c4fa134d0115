"""What an application holds once and its areas share (a scheduler, a cache, settings), found by type.

An area's includeme ``provide``s what it makes; any code with the registry ``find``s it by its class:
``find(request.registry, Monitoring)``.  One way to look anything up, which mypy follows: ``find`` returns
the type asked for.  Settings sections are found the same way, read from the ini file on first use
(``find(registry, MonitorSettings)``), and so is what is made on first use (``make``).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from .settings import Section, read

T = TypeVar("T")


def _held(registry: Any) -> dict[type, Any]:
    held: dict[type, Any] = registry.__dict__.setdefault("myapp_services", {})
    return held


def provide(registry: Any, service: T, kind: type[T] | None = None) -> T:
    """Hold ``service`` as the application's ``kind`` (its own class unless given); returned, for chaining."""
    _held(registry)[kind or type(service)] = service
    return service


def find(registry: Any, kind: type[T], make: Callable[[], T] | None = None) -> T:
    """The application's ``kind``: what was provided as it; a settings section, read once; or what ``make``
    makes, once, when nothing was provided.  LookupError when there is none: its area was not included."""
    held = _held(registry)
    if kind not in held:
        if issubclass(kind, Section):  # an area may ask for another's settings: whichever asks first reads them
            held[kind] = read(kind, registry.settings)
        elif make is None:
            raise LookupError(f"no {kind.__name__} in this application: include the area that provides it")
        else:
            held[kind] = make()
    return held[kind]  # type: ignore[no-any-return]

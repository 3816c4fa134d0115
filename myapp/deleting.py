"""Deleting one thing from its page, the same way in every area.

``GET <route>`` asks first (templates/confirm_delete.jinja2: what goes, what follows from it, a way back);
``POST <route>`` deletes it, says so (a flash), and goes on.  The thing is the row of the route's resource
(accounts.security.OwnedRow: its owner's alone), by the ``delete`` permission.  An area decorates the
coroutine that deletes with ``deletion``; its ``config.scan`` adds the two views, as it adds view_config's.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import venusian
from pyramid.httpexceptions import HTTPFound

CONFIRM = "myapp:templates/confirm_delete.jinja2"
#: deletes the row in the request's transaction and says where to go next: (request, row) -> URL
Delete = Callable[[Any, Any], Awaitable[str]]


def deletion(
    route_name: str,
    what: Callable[[Any], str],
    consequence: Callable[[Any], str],
    back: Callable[[Any, Any], str],
) -> Callable[[Delete], Delete]:
    """``what(row)``: it, in words, starting with "the" ("the channel Ops"); ``consequence(row)``: what follows
    from deleting it; ``back(request, row)``: where "Keep it" goes."""

    def decorate(delete: Delete) -> Delete:
        def ask(request: Any) -> dict[str, str]:
            row = request.context.row
            return {
                "what": what(row),
                "consequence": consequence(row),
                "action": request.path,
                "back": back(request, row),
            }

        async def deleted(request: Any) -> HTTPFound:
            row = request.context.row
            said = what(row)  # before it goes
            then = await delete(request, row)
            request.session.flash(f"{said[:1].upper()}{said[1:]} is deleted.")
            return HTTPFound(then)

        def register(scanner: Any, name: str, ob: Any) -> None:
            add = scanner.config.add_view
            add(ask, route_name=route_name, request_method="GET", renderer=CONFIRM, permission="delete")
            add(deleted, route_name=route_name, request_method="POST", permission="delete")

        venusian.attach(delete, register, category="pyramid")
        return delete

    return decorate

"""JSON API: status pages' announcements (incidents and notices) and their updates."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..api.contract import Patch, created, page_of
from ..services import find
from ..text import iso
from ..validation import Error, PageQuery
from . import StatusPageSettings
from . import announcements as service
from .announcements import AnnouncementFields, AnnouncementList, AnnouncementReply, TitleFields, UpdateFields
from .cache import forget_when_done


def announcement_json(announcement, slug, updates):
    return {
        "id": announcement.id,
        "status_page": slug,
        "title": announcement.title,
        "impact": announcement.impact,
        "resolved_at": iso(announcement.resolved_at),
        "created_at": iso(announcement.created_at),
        "updated_at": iso(announcement.updated_at),
        "updates": [
            {"id": u.id, "status": u.status, "message": u.message, "created_at": iso(u.created_at)} for u in updates
        ],
    }


async def shown(request, announcement, slug=None):
    session = request.dbsession
    slug = slug or await service.slug_of(session, announcement)
    return announcement_json(announcement, slug, (await service.updates_of(session, [announcement]))[announcement.id])


async def changing(request):
    """The announcement of the URL, about to change: its page's public copy is forgotten once committed."""
    announcement = request.context.announcement
    slug = await service.slug_of(request.dbsession, announcement)
    forget_when_done(request, slug)
    return announcement, slug


@view_config(
    route_name="api.announcements",
    request_method="GET",
    renderer="json",
    permission="view",
    query=PageQuery,
    responses={200: AnnouncementList},
)
async def list_announcements(request):
    """The caller's announcements on all their status pages, by id, a page at a time, each with its updates."""
    query = request.api_query
    rows, next_cursor = await service.page_of(request.dbsession, request.context.owner_id, query.limit, query.cursor)
    updates = await service.updates_of(request.dbsession, [a for a, _ in rows])
    return page_of("announcements", [announcement_json(a, slug, updates[a.id]) for a, slug in rows], next_cursor)


@view_config(
    route_name="api.announcements",
    request_method="POST",
    renderer="json",
    permission="edit",
    body=AnnouncementFields,
    responses={201: AnnouncementReply, 409: Error},
)
async def post_announcement(request):
    """Tell a status page's visitors something: its title, impact and first update."""
    fields = request.api_body.model_dump()
    owner = request.context.owner_id
    page = await service.own_page(request.dbsession, owner, fields["status_page"])
    announcement = await service.post(
        request.dbsession, owner, page, fields, find(request.registry, StatusPageSettings).max_announcements
    )
    created(request, "api.announcement", announcement_id=announcement.id)
    forget_when_done(request, page.slug)
    return await shown(request, announcement, page.slug)


@view_config(
    route_name="api.announcement",
    request_method="GET",
    renderer="json",
    permission="view",
    responses={200: AnnouncementReply},
)
async def get_announcement(request):
    """One announcement with its updates, newest first."""
    return await shown(request, request.context.announcement)


@view_config(
    route_name="api.announcement",
    request_method="PATCH",
    renderer="json",
    permission="edit",
    body=Patch(TitleFields),
    responses={200: AnnouncementReply},
)
async def patch_announcement(request):
    """Change its title or impact (what happened is told by updates)."""
    announcement, slug = await changing(request)
    current = {"title": announcement.title, "impact": announcement.impact}
    service.retitle(announcement, service.validate(TitleFields, {**current, **request.api_body}))
    return await shown(request, announcement, slug)


@view_config(
    route_name="api.announcement.updates",
    request_method="POST",
    renderer="json",
    permission="edit",
    body=UpdateFields,
    responses={201: AnnouncementReply, 409: Error},
)
async def post_update(request):
    """One more update: resolved closes the announcement, any other status opens it again."""
    announcement, slug = await changing(request)
    await service.add_update(request.dbsession, announcement, request.api_body.model_dump())
    created(request, "api.announcement", announcement_id=announcement.id)
    return await shown(request, announcement, slug)


@view_config(route_name="api.announcement", request_method="DELETE", permission="delete", responses={204: None})
async def delete_announcement(request):
    """Delete it and its updates: the status page no longer shows it, in its history either."""
    announcement, _ = await changing(request)
    await request.dbsession.delete(announcement)
    return HTTPNoContent()

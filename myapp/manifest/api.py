"""JSON API: monitors as code (export a manifest; apply one, or see the plan)."""

from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pyramid.httpexceptions import HTTPConflict, HTTPTooManyRequests
from pyramid.response import Response
from pyramid.view import view_config

from ..accounts.service import Throttled, lock_owner
from ..alerts import AlertSettings, actions
from ..api.contract import Body
from ..monitors import MonitorSettings
from ..services import find
from ..status_pages import StatusPageSettings
from ..status_pages.cache import forget_when_done
from ..validation import Error, Reply
from . import plan as manifests
from .schema import Manifest

MAX_BYTES = 4 * 1024 * 1024  # about 20,000 monitors


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "yaml"] = "json"


class ApplyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(False, description="true: only say what would change")
    prune: bool = Field(False, description="true: delete what the manifest does not name")


class FieldChange(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    before: object = Field(alias="from")
    after: object = Field(alias="to")


class Update(Reply):
    name: str
    changes: dict[str, FieldChange]


class Changes(Reply):
    create: list[str]
    update: list[Update]
    delete: list[str]
    unchanged: int


class ApplyResult(Reply):
    """The plan: what is (or, with dry_run, would be) created, updated (field by field) and deleted."""

    dry_run: bool
    prune: bool
    applied: bool = Field(description="whether anything was changed")
    channels: Changes
    monitors: Changes
    status_pages: Changes


@view_config(
    route_name="api.export",
    request_method="GET",
    permission="view",
    query=ExportQuery,
    responses={200: Body(Manifest, yaml=True)},
)
async def export(request):
    """The caller's channels, monitors and status pages as one manifest: no ids, no secrets, no defaults."""
    document = manifests.export(await manifests.read_state(request.dbsession, request.context.owner_id))
    if request.api_query.format == "yaml":
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
        return Response(text, content_type="application/yaml", charset="utf-8")
    return Response(json_body=document)


async def count_confirmations(request, plan):
    """Count the confirmation mails the plan's new e-mail addresses need (alerts.actions): Throttled past the
    limits, before anything is changed."""
    for step in manifests.new_addresses(plan):
        if actions.to_confirm(request, step.spec.kind) is not None:
            await actions.count_confirmation(request, step.spec.target)


@view_config(
    route_name="api.apply",
    request_method="POST",
    renderer="json",
    permission="edit",
    query=ApplyQuery,
    body=Body(Manifest, limit=MAX_BYTES, yaml=True, paths=True),
    responses={200: ApplyResult, 409: Error, 429: Error},
)
async def apply(request):
    """Make the caller's account match a manifest, by name, in one transaction (or only plan it)."""
    query, manifest = request.api_query, request.api_body
    session, user_id = request.dbsession, request.context.owner_id
    registry = request.registry
    limits = {
        "channels": find(registry, AlertSettings).max_channels_per_user,
        "monitors": find(registry, MonitorSettings).max_per_user,
        "status_pages": find(registry, StatusPageSettings).max_per_user,
    }
    try:
        plan = await manifests.make_plan(session, user_id, manifest, query.prune, limits)
        if not query.dry_run and not plan.empty:
            await count_confirmations(request, plan)
            # one apply of the user's at a time, each planning from what the one before wrote
            await lock_owner(session, user_id, fresh=True)
            plan = await manifests.make_plan(session, user_id, manifest, query.prune, limits)
            await manifests.carry_out(session, user_id, plan, lambda kind: actions.to_confirm(request, kind))
    except manifests.Conflict as exc:
        raise HTTPConflict(f"{exc} Nothing was changed.") from None
    except Throttled as exc:
        raise HTTPTooManyRequests(
            f"The manifest asks to confirm more new e-mail addresses than you may now; try again in "
            f"{exc.retry_after} seconds. Nothing was changed.",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    if not query.dry_run:
        forget_when_done(request, *(step.name for step in plan.pages))
    return {
        "dry_run": query.dry_run,
        "prune": query.prune,
        "applied": not query.dry_run and not plan.empty,
        **plan.summary(),
    }

"""Export a user's monitors, channels and status pages as a manifest, and apply one: a plan of what to
create, update (which fields, from what to what) and delete, carried out in the caller's transaction.

Things are matched by name (status pages by slug).  Fields left at their defaults are left out of
an export, so the file holds what the user chose; applying an export changes nothing.
"""

from dataclasses import dataclass, field

from sqlalchemy import select

from ..alerts import service as alerts
from ..alerts.kinds import KINDS as CHANNEL_KINDS
from ..checks.kinds import KINDS
from ..models import Monitor
from ..models.alert import CHANNEL_EVENTS
from ..monitors import service as monitors
from ..monitors.schema import FIELDS, MonitorFields
from ..status_pages import service as status_pages
from ..status_pages.tables import StatusPage, StatusPageMonitor
from .schema import ChannelSpec, duplicates

HIDDEN = "(hidden)"
CHANNEL_FIELDS = ("name", "kind", "target", "slack", "events", "remind_every")


class Conflict(Exception):
    """The manifest cannot be applied as it is (a name used twice in the account, a slug taken, a limit)."""


@dataclass
class State:
    """What the user has now."""

    channels: list
    monitors: list
    pages: list
    channels_of: dict  # monitor id -> [channel ids]
    monitors_of: dict  # page id -> [monitor ids], in order

    def channel_names(self, monitor):
        names = {c.id: c.name for c in self.channels}
        return sorted(names[i] for i in self.channels_of.get(monitor.id, ()))

    def monitor_names(self, page):
        names = {m.id: m.name for m in self.monitors}
        return [names[i] for i in self.monitors_of.get(page.id, ())]


async def read_state(session, user_id):
    channels = await alerts.list_channels(session, user_id)
    found = list(
        await session.scalars(select(Monitor).where(Monitor.user_id == user_id).order_by(Monitor.name, Monitor.id))
    )
    pages = list(
        await session.scalars(select(StatusPage).where(StatusPage.user_id == user_id).order_by(StatusPage.slug))
    )
    shown = {page.id: [] for page in pages}
    if pages:
        rows = await session.execute(
            select(StatusPageMonitor.status_page_id, StatusPageMonitor.monitor_id)
            .where(StatusPageMonitor.status_page_id.in_(list(shown)))
            .order_by(StatusPageMonitor.status_page_id, StatusPageMonitor.position)
        )
        for page_id, monitor_id in rows:
            shown[page_id].append(monitor_id)
    return State(channels, found, pages, await monitors.channels_of(session, [m.id for m in found]), shown)


def non_default(model, values, defaults=None):
    """``values`` without those at their default (``defaults`` first, then the model's)."""
    defaults = defaults or {}
    return {
        name: value
        for name, value in values.items()
        if value
        != (defaults[name] if name in defaults else model.model_fields[name].get_default(call_default_factory=True))
    }


def export(state):
    """The manifest of ``state`` as plain data: no ids, no secrets, defaults left out."""
    return {
        "version": 1,
        "channels": [
            {
                "name": c.name,
                "kind": c.kind,
                **({} if CHANNEL_KINDS[c.kind].secret_target else {"target": c.target}),
                **({"slack": True} if c.slack else {}),
                **({"events": alerts.events_of(c)} if c.events is not None else {}),
                **({"remind_every": c.remind_every} if c.remind_every is not None else {}),
            }
            for c in sorted(state.channels, key=lambda c: c.name)
        ],
        "monitors": [
            {
                "name": m.name,
                **non_default(MonitorFields, {n: getattr(m, n) for n in FIELDS if n != "name"}, KINDS[m.kind].defaults),
                **({"channels": names} if (names := state.channel_names(m)) else {}),
            }
            for m in state.monitors
        ],
        "status_pages": [
            {
                "title": p.title,
                "slug": p.slug,
                **({"show_urls": True} if p.show_urls else {}),
                "monitors": state.monitor_names(p),
            }
            for p in state.pages
        ],
    }


@dataclass
class Step:
    action: str  # create, update, delete
    name: str
    changes: dict = field(default_factory=dict)  # field -> {"from", "to"} (update)
    spec: object = None  # what the manifest says (create, update)
    row: object = None  # what exists (update, delete)


@dataclass
class Plan:
    channels: list
    monitors: list
    pages: list
    unchanged: dict

    def summary(self):
        def part(steps, kind):
            return {
                "create": [s.name for s in steps if s.action == "create"],
                "update": [{"name": s.name, "changes": s.changes} for s in steps if s.action == "update"],
                "delete": [s.name for s in steps if s.action == "delete"],
                "unchanged": self.unchanged[kind],
            }

        return {
            "channels": part(self.channels, "channels"),
            "monitors": part(self.monitors, "monitors"),
            "status_pages": part(self.pages, "status_pages"),
        }

    @property
    def empty(self):
        return not (self.channels or self.monitors or self.pages)


def changed(current, desired):
    return {name: {"from": current[name], "to": value} for name, value in desired.items() if current[name] != value}


def diff(kind, rows, specs, key, changes_of, prune, unchanged):
    """The steps that make ``rows`` match ``specs``, matched by ``key``."""
    existing, twice = {key(row): row for row in rows}, duplicates(key(row) for row in rows)
    steps = []
    for spec in specs:
        name = key(spec)
        if name in twice:
            raise Conflict(f"You have several {kind} named {name!r}: rename all but one before applying.")
        row = existing.get(name)
        if row is None:
            steps.append(Step("create", name, spec=spec))
            continue
        changes = changes_of(row, spec)
        if changes:
            steps.append(Step("update", name, changes, spec, row))
        else:
            unchanged[kind] += 1
    if prune:
        wanted = {key(spec) for spec in specs}
        steps += [Step("delete", key(row), row=row) for row in rows if key(row) not in wanted]
    return steps


def channel_changes(channel, spec: ChannelSpec):
    names = [name for name in CHANNEL_FIELDS if name != "target" or spec.target is not None]  # none: kept
    current, desired = alerts.current_fields(channel), spec.model_dump()
    desired["events"] = desired["events"] or list(CHANNEL_EVENTS)
    changes = changed({name: current[name] for name in names}, {name: desired[name] for name in names})
    if "target" in changes and (CHANNEL_KINDS[channel.kind].secret_target or CHANNEL_KINDS[spec.kind].secret_target):
        changes["target"] = {"from": HIDDEN, "to": HIDDEN}  # an Apprise URL is a secret: never in a plan
    # a secret is compared only when the manifest gives one (an export never does); never shown
    if "secret" in spec.model_fields_set and spec.secret != channel.secret:
        changes["secret"] = {"from": HIDDEN if channel.secret else None, "to": HIDDEN if spec.secret else None}
    return changes


async def make_plan(session, user_id, manifest, prune, limits):
    """The plan that makes the user's account match ``manifest``; Conflict when it cannot (``limits``: how many
    channels, monitors and status_pages the user may have, 0 for no limit)."""
    state = await read_state(session, user_id)
    unchanged = {"channels": 0, "monitors": 0, "status_pages": 0}

    def monitor_changes(monitor, spec):
        current = {name: getattr(monitor, name) for name in FIELDS}
        current["channels"] = state.channel_names(monitor)
        return changed(current, {**spec.model_dump(exclude={"channels"}), "channels": sorted(spec.channels)})

    def page_changes(page, spec):
        return changed(
            {"title": page.title, "show_urls": page.show_urls, "monitors": state.monitor_names(page)},
            {"title": spec.title, "show_urls": spec.show_urls, "monitors": spec.monitors},
        )

    plan = Plan(
        diff("channels", state.channels, manifest.channels, lambda c: c.name, channel_changes, prune, unchanged),
        diff("monitors", state.monitors, manifest.monitors, lambda m: m.name, monitor_changes, prune, unchanged),
        diff("status_pages", state.pages, manifest.status_pages, lambda p: p.slug, page_changes, prune, unchanged),
        unchanged,
    )
    for kind, steps, now in (
        ("channels", plan.channels, state.channels),
        ("monitors", plan.monitors, state.monitors),
        ("status_pages", plan.pages, state.pages),
    ):
        after = len(now) + sum(1 if s.action == "create" else -1 if s.action == "delete" else 0 for s in steps)
        if limits[kind] and after > limits[kind]:
            what = kind.replace("_", " ")
            raise Conflict(f"This would make {after} {what}; the most allowed is {limits[kind]}.")
    unknown = [s.name for s in plan.channels if s.action == "create" and s.spec.target is None]
    if unknown:
        raise Conflict(f"The channel {unknown[0]!r} is new: give its target (an Apprise URL is never exported).")
    new_slugs = [s.name for s in plan.pages if s.action == "create"]
    if new_slugs:
        taken = list(await session.scalars(select(StatusPage.slug).where(StatusPage.slug.in_(new_slugs))))
        if taken:
            raise Conflict(f"The status page address {taken[0]!r} is taken; choose another slug.")
    return plan


def new_addresses(plan):
    """The channels of ``plan`` (steps) that get an address they did not have: made, or changed kind or target."""
    return [
        s
        for s in plan.channels
        if s.action == "create" or s.action == "update" and ("target" in s.changes or "kind" in s.changes)
    ]


async def carry_out(session, user_id, plan, to_confirm=lambda kind: None):
    """Do ``plan`` in ``session``'s transaction (the caller commits): channels, then monitors, then status
    pages; deletions last, pages first.  ``to_confirm(kind)``: how a new address of that kind is confirmed
    (alerts.actions.to_confirm)."""
    channel_ids = {c.name: c.id for c in await alerts.list_channels(session, user_id)}
    confirming = {id(step) for step in new_addresses(plan)}
    for step in plan.channels:
        confirm = to_confirm(step.spec.kind) if id(step) in confirming else None
        if step.action == "create":
            fields = step.spec.model_dump()
            channel_ids[step.name] = (await alerts.create_channel(session, user_id, fields, confirm=confirm)).id
        elif step.action == "update":
            await alerts.update_channel(
                session, step.row, {name: step.spec.model_dump()[name] for name in step.changes}, confirm
            )

    monitor_ids = dict(
        (await session.execute(select(Monitor.name, Monitor.id).where(Monitor.user_id == user_id))).all()
    )
    for step in plan.monitors:
        if step.action == "delete":
            continue
        fields = step.spec.model_dump(exclude={"channels"})
        if step.action == "create":
            monitor = await monitors.create_monitor(session, user_id, fields)
            monitor_ids[step.name] = monitor.id
            channels = step.spec.channels
        else:
            monitor = step.row
            await monitors.update_monitor(session, monitor, {n: fields[n] for n in step.changes if n != "channels"})
            channels = step.spec.channels if "channels" in step.changes else None
        if channels is not None:
            await monitors.set_channels(
                session, user_id, monitor.id, [channel_ids[name] for name in channels], new=step.action == "create"
            )

    for step in plan.pages:
        if step.action == "delete":
            continue
        fields = {
            "title": step.spec.title,
            "slug": step.spec.slug,
            "show_urls": step.spec.show_urls,
            "monitors": [monitor_ids[name] for name in step.spec.monitors],
        }
        try:
            await status_pages.save(session, user_id, fields, step.row)
        except status_pages.SlugTaken as exc:
            raise Conflict(f"The status page address {exc.args[0]!r} is taken; choose another slug.") from None

    for steps, remove in (
        (plan.pages, session.delete),
        (plan.monitors, lambda m: monitors.delete_monitor(session, m)),
        (plan.channels, lambda c: alerts.delete_channel(session, c)),
    ):
        for step in steps:
            if step.action == "delete":
                await remove(step.row)
    await session.flush()

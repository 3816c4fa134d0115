"""Health: is the database reachable, how fast, and what the event loops and pools hold."""

import asyncio
import time

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import text

from myapp.models.schema import head_revision

DATABASE_CHECK_TIMEOUT = 2.0


async def check_database(request):
    """Round-trip the database once on this loop's engine (no session, nothing to commit)."""
    engine = request.loop_state.db_engine
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DATABASE_CHECK_TIMEOUT):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                rtt = time.perf_counter() - started
                revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:  # reported, not raised: this is what the endpoint is for
        return {
            "reachable": False,
            "backend": engine.dialect.name,
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }
    return {
        "reachable": True,
        "backend": engine.dialect.name,
        "driver": engine.dialect.driver,
        "rtt_ms": round(rtt * 1000, 3),
        "schema": {"current": revision, "head": head_revision()},
    }


def pool_stats(state):
    pool = state.db_engine.pool
    stats = {"class": type(pool).__name__}
    for name in ("size", "checkedin", "checkedout", "overflow"):
        method = getattr(pool, name, None)
        if method is not None:
            stats[name] = method()
    return stats


def loop_stats(request):
    runtime = request.registry.aio_runtime
    loops = [
        {"role": role, "thread": thread, "pool": pool_stats(state)}
        for role, thread, state in runtime.loop_states()
        if hasattr(state, "db_engine")
    ]
    return {**runtime.stats(), "loops": loops, "connections_open": sum(l["pool"].get("checkedin", 0) + l["pool"].get("checkedout", 0) for l in loops)}


@view_config(route_name="api.health", renderer="json", request_method="GET", permission=NO_PERMISSION_REQUIRED)
async def health(request):
    database = await check_database(request)
    ok = database["reachable"] and database["schema"]["current"] == database["schema"]["head"]
    if not ok:
        request.response.status = 503
    return {"status": "ok" if ok else "unavailable", "database": database, "runtime": loop_stats(request)}

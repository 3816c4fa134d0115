"""What /api/health reports: whether the database answers (within a deadline, whatever the database
does: the probe is abandoned, not awaited, when the server does not answer), the loops and pools,
and who may see the details."""

import asyncio
import hmac
import time

from sqlalchemy import text

from ..accounts.security import load_identity
from ..models.engine import engines
from ..models.schema import head_revision
from ..services import find
from . import OpsSettings

DATABASE_CHECK_TIMEOUT = 1.0


async def _probe(engine):
    started = time.perf_counter()
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        rtt = time.perf_counter() - started
        revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return {
        "reachable": True,
        "backend": engine.dialect.name,
        "driver": engine.dialect.driver,
        "rtt_ms": round(rtt * 1000, 3),
        "schema": {"current": revision, "head": head_revision()},
    }


def _retrieve(task):
    if not task.cancelled():
        task.exception()


async def check_database(request, timeout=DATABASE_CHECK_TIMEOUT):
    """Round-trip the database once on this loop's engine; never waits longer than ``timeout``."""
    engine = request.loop_state.db_engine
    task = asyncio.ensure_future(_probe(engine))
    done, _ = await asyncio.wait([task], timeout=timeout)
    if not done:  # its cleanup may wait on the server too: leave it to finish on the loop later
        task.cancel()
        task.add_done_callback(_retrieve)
        return {"reachable": False, "backend": engine.dialect.name, "error": f"no answer within {timeout:g} s"}
    try:
        return task.result()
    except Exception as exc:  # reported, not raised: this is what the endpoint is for
        return {"reachable": False, "backend": engine.dialect.name, "error": f"{type(exc).__name__}: {exc}"[:300]}


def pool_stats(engine):
    pool = engine.pool
    stats = {"class": type(pool).__name__}
    for name in ("size", "checkedin", "checkedout", "overflow"):
        method = getattr(pool, name, None)
        if method is not None:
            stats[name] = method()
    return stats


def loop_stats(request):
    """The runtime's loops, each with its pools ("write", "read")."""
    runtime = request.registry.aio_runtime
    loops = [
        {"role": role, "thread": thread, "pools": {name: pool_stats(engine) for name, engine in engines(state)}}
        for role, thread, state in runtime.loop_states()
        if hasattr(state, "db_engine")
    ]
    open_ = sum(p.get("checkedin", 0) + p.get("checkedout", 0) for loop in loops for p in loop["pools"].values())
    return {**runtime.stats(), "loops": loops, "connections_open": open_}


def has_metrics_token(request):
    token = find(request.registry, OpsSettings).metrics_token
    supplied = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode())


async def may_see_details(request, database):
    """The metrics token, or an admin (looked up only when the database answers)."""
    if has_metrics_token(request):
        return True
    if not database["reachable"] or not ("Authorization" in request.headers or "myapp_session" in request.cookies):
        return False
    try:
        identity = await asyncio.wait_for(load_identity(request), DATABASE_CHECK_TIMEOUT / 2)
    except Exception:
        return False
    return identity is not None and identity.role == "admin"


def database_ok(database):
    return database["reachable"] and database["schema"]["current"] == database["schema"]["head"]

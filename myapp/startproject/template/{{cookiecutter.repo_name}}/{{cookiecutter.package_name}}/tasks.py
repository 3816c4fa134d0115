"""An example background task: a coroutine on the adapter's service loop, started with the
application and cancelled when it stops (restarted with a back-off if it crashes).

Every ``tasks.interval`` seconds (default 60) it counts the notes and logs the number.
"""

import asyncio
import logging
{% if cookiecutter.database == "sqlalchemy" %}
from sqlalchemy import func, select

from .models import Note
{%- endif %}

log = logging.getLogger(__name__)


def count_notes_every(seconds):
    async def count_notes(state):
        while True:
{%- if cookiecutter.database == "sqlalchemy" %}
            async with state.db_sessions() as session:
                count = await session.scalar(select(func.count()).select_from(Note))
{%- else %}
            async with state.db_pool.acquire() as conn, conn.cursor() as cur:
                await cur.execute("SELECT COUNT(*) FROM notes")
                (count,) = await cur.fetchone()
{%- endif %}
            log.info("%d notes", count)
            await asyncio.sleep(seconds)

    return count_notes


def includeme(config):
    seconds = float(config.get_settings().get("tasks.interval", "60"))
    config.add_background_task(count_notes_every(seconds), name="count_notes")

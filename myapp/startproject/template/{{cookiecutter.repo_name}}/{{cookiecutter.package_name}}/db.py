"""The database: a raw aiomysql pool per event loop, SQL written by hand.

The database named in ``database.url`` (``mysql://user:password@host:3306/name``) and its
table are created when the first pool opens, if they are missing.
"""

from urllib.parse import unquote, urlsplit

import aiomysql

SCHEMA = """CREATE TABLE IF NOT EXISTS notes (
    id INT AUTO_INCREMENT PRIMARY KEY,
    text VARCHAR(500) NOT NULL,
    created_at DATETIME(6) NOT NULL
) CHARACTER SET utf8mb4"""


def connect_args(url):
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mysql+aiomysql") or not parts.path.strip("/"):
        raise ValueError(f"database.url must look like mysql://user:password@host:3306/name, not {url!r}")
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 3306, "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""), "db": parts.path.strip("/")}


def open_pool(url, size):
    """A cleanup context: each event loop gets a pool of its own, closed on that loop."""
    args = connect_args(url)

    async def pool(state):
        server = {k: v for k, v in args.items() if k != "db"}
        async with aiomysql.connect(**server, autocommit=True) as conn, conn.cursor() as cur:
            # asked first: "IF NOT EXISTS" on something that exists makes the server warn, once per loop
            await cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
                              "AND table_name = 'notes'", (args["db"],))
            if not (await cur.fetchone())[0]:
                await cur.execute(f"CREATE DATABASE IF NOT EXISTS `{args['db']}` CHARACTER SET utf8mb4")
                await cur.execute(f"USE `{args['db']}`")
                await cur.execute(SCHEMA)
        state.db_pool = await aiomysql.create_pool(**args, minsize=0, maxsize=size, pool_recycle=3600,
                                                   autocommit=True, charset="utf8mb4")
        try:
            yield
        finally:
            state.db_pool.close()
            await state.db_pool.wait_closed()

    return pool


async def query(request, sql, args=()):
    """Rows of one statement, on a connection of this thread's pool."""
    async with request.loop_state.db_pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(sql, args)
        return await cur.fetchall()


async def execute(request, sql, args=()):
    """Run one statement that writes (autocommit); returns the id it inserted."""
    async with request.loop_state.db_pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(sql, args)
        return cur.lastrowid


def includeme(config):
    settings = config.get_settings()
    config.add_cleanup_ctx(open_pool(settings["database.url"], int(settings.get("database.pool_size", 5))))

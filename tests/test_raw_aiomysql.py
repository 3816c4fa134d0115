"""Raw aiomysql from an async view: a pool opened per loop through a cleanup context."""

import aiomysql
from pyramid.config import Configurator
from sqlalchemy.engine import make_url
from webtest import TestApp


def aiomysql_pool(url):
    parts = make_url(url)

    async def pool(state):
        state.mysql = await aiomysql.create_pool(
            host=parts.host,
            port=parts.port or 3306,
            user=parts.username,
            password=parts.password or "",
            db=parts.database,
            minsize=1,
            maxsize=2,
            autocommit=True,
        )
        yield
        state.mysql.close()
        await state.mysql.wait_closed()

    return pool


async def users(request):
    async with request.loop_state.mysql.acquire() as conn:
        async with conn.cursor(aiomysql.DictCursor) as cur:
            await cur.execute("SELECT id, name FROM raw_users ORDER BY id")
            return {"users": await cur.fetchall()}


async def add_user(request):
    async with request.loop_state.mysql.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("INSERT INTO raw_users (name) VALUES (%s)", (request.json_body["name"],))
            return {"id": cur.lastrowid}


def test_raw_aiomysql_pool_from_a_view(mysql_url):
    with Configurator() as config:
        config.include("myapp.aio")
        config.add_cleanup_ctx(aiomysql_pool(mysql_url))
        config.add_route("users", "/users")
        config.add_view(users, route_name="users", request_method="GET", renderer="json")
        config.add_view(add_user, route_name="users", request_method="POST", renderer="json")

        async def schema(state):
            async with state.mysql.acquire() as conn, conn.cursor() as cur:
                await cur.execute("DROP TABLE IF EXISTS raw_users")
                await cur.execute("CREATE TABLE raw_users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50))")
            yield
            async with state.mysql.acquire() as conn, conn.cursor() as cur:
                await cur.execute("DROP TABLE IF EXISTS raw_users")

        config.add_cleanup_ctx(schema)
    app = config.make_wsgi_app()
    try:
        client = TestApp(app)
        first = client.post_json("/users", {"name": "ada"}).json["id"]
        second = client.post_json("/users", {"name": "grace"}).json["id"]
        assert client.get("/users").json == {"users": [{"id": first, "name": "ada"}, {"id": second, "name": "grace"}]}
    finally:
        app.registry.aio_runtime.shutdown()

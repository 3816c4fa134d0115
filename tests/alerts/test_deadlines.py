"""A send ends at its deadline whatever the receiver does: one that trickles a byte at a time (each read within
its timeout) holds no thread and no connection past ``alerts.attempt_seconds``, and one owner's trickling
channels never hold every Apprise thread.  Webhooks, e-mail and Apprise, against a real trickling server."""

import asyncio
import json
import threading
import time
import uuid

import pytest
from sqlalchemy import insert

from myapp.alerts.outbox import Outbox
from myapp.alerts.tables import Delivery
from myapp.models.meta import utcnow
from myapp.services import find

from ..helpers import wait_until
from ..monitors.conftest import run_sql
from .conftest import deliveries, new_channel


class Trickle:
    """A TCP server on 127.0.0.1 that answers every connection one byte at a time, a byte every 0.2 s, for ever:
    an HTTP status line, or an SMTP greeting.  ``open`` counts the connections it holds now."""

    def __init__(self, answer=b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"):
        self.answer = answer
        self.open = self.served = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _main(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        self.loop.close()

    async def _serve(self, reader, writer):
        self.open += 1
        self.served += 1
        try:
            answer = self.answer * 1000
            for n in range(len(answer)):
                writer.write(answer[n : n + 1])
                await writer.drain()
                await asyncio.sleep(0.2)
        except (OSError, asyncio.CancelledError):  # the client closed it (what a send at its deadline does)
            pass
        finally:
            self.open -= 1
            writer.close()

    def stop(self):
        async def close():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def trickle():
    server = Trickle()
    yield server
    server.stop()


def pending(channel_id):
    key = uuid.uuid4().hex
    now = utcnow()
    return {
        "key": key,
        "channel_id": channel_id,
        "event": "test",
        "document": json.dumps({"delivery": key, "event": "test", "at": "2026-12-07T00:00:00Z", "channel": "c"}),
        "status": "pending",
        "attempts": 0,
        "due_at": now,
        "created_at": now,
    }


@pytest.mark.parametrize("kind", ["webhook", "email", "apprise"])
def test_a_trickling_receiver_is_cut_off_at_the_deadline(make_myapp, owner, trickle, kind):
    smtp = Trickle(b"220 trickle.example ESMTP\r\n") if kind == "email" else None
    try:
        client = make_myapp(
            **{
                "alerts.outbox": "true",
                "alerts.attempt_seconds": "1",
                "alerts.backoff_seconds": "3600",
                **({"smtp.host": "127.0.0.1", "smtp.port": str(smtp.port)} if smtp else {}),
            }
        )
        target = {
            "webhook": f"http://127.0.0.1:{trickle.port}/hook",
            "email": "oncall@example.com",
            "apprise": f"json://127.0.0.1:{trickle.port}/hook",
        }[kind]
        channel = new_channel(client, owner[1], kind=kind, target=target)
        receiver = smtp or trickle
        started = time.monotonic()
        run_sql(client.app, insert(Delivery).values([pending(channel["id"])]))
        wait_until(lambda: receiver.served == 1)
        attempt = wait_until(lambda: deliveries(client, owner[1], channel)[0]["last_error"])
        assert attempt == "timed out after 1 s"
        wait_until(lambda: receiver.open == 0, timeout=2)  # the connection is closed: the peer sees it go
        assert time.monotonic() - started < 4
        if kind == "apprise":  # and the thread is free: its owner's share is back to nothing
            threads = find(client.app.registry, Outbox).threads
            wait_until(lambda: threads.busy(owner[0]) == 0, timeout=2)
    finally:
        if smtp:
            smtp.stop()


def test_one_owners_trickling_services_never_hold_every_thread(make_myapp, owner, make_user, make_key, trickle, target):
    """Owner A's 12 Apprise channels trickle; with 4 threads, A holds at most 2 at once and each only to its
    deadline, so owner B's alert through a working service goes out at once."""
    client = make_myapp(
        **{
            "alerts.outbox": "true",
            "alerts.attempt_seconds": "2",
            "alerts.backoff_seconds": "3600",
            "alerts.apprise_threads": "4",
            "alerts.apprise_threads_per_owner": "2",
            "alerts.max_concurrency_per_owner": "12",
        }
    )
    slow = [
        new_channel(client, owner[1], kind="apprise", target=f"json://127.0.0.1:{trickle.port}/c{n}")["id"]
        for n in range(12)
    ]
    other = {"Authorization": f"Bearer {make_key(make_user('bob@example.com'), 'write')[1]}"}
    good = new_channel(client, other, kind="apprise", target=f"json://127.0.0.1:{target.port}/hook")
    run_sql(client.app, insert(Delivery).values([pending(channel_id) for channel_id in slow]))
    wait_until(lambda: trickle.open == 2)  # A's sends hold its two slots
    sent_at = time.monotonic()
    run_sql(client.app, insert(Delivery).values([pending(good["id"])]))
    wait_until(lambda: target.hits_on("/hook"), timeout=10)
    assert time.monotonic() - sent_at < 1.5  # not after A's attempts: beside them
    assert trickle.open <= 2 and find(client.app.registry, Outbox).threads.busy(owner[0]) <= 12
    assert deliveries(client, other, good)[0]["status"] == "sent"

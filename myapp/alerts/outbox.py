"""The outbox task: on myapp.aio's service loop, in every process, it claims due deliveries (as the
scheduler claims monitors), sends them at once, and records each attempt."""

import asyncio
import logging
import os
import socket
import uuid

from sqlalchemy.exc import DBAPIError

from ..models import in_session
from . import sender, service
from .kinds import Sending

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between claims
BATCH = 50


class Outbox:
    def __init__(self, settings, site):
        self.settings = settings
        self.site = site
        self.owner = None
        self.sent = self.failed_attempts = 0

    async def run(self, state):
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        while True:
            try:
                claimed = await in_session(state, lambda s: service.claim(s, self.owner, BATCH))
            except DBAPIError as exc:
                log.warning("claiming deliveries failed: %s", str(exc.orig or exc).splitlines()[0][:200])
                claimed = []
            if claimed:
                await self.deliver(state, claimed)
            if len(claimed) < BATCH:
                await asyncio.sleep(POLL)

    def sending(self, state):
        """What sending needs on the loop whose state this is."""
        return Sending(state.http, self.settings, self.site.public_url)

    async def deliver(self, state, claimed):
        sending = self.sending(state)
        attempts = await asyncio.gather(*(sender.send(sending, c.channel, c.document) for c in claimed))
        done = list(zip(claimed, attempts))
        for c, attempt in done:
            if attempt.ok:
                self.sent += 1
            else:
                self.failed_attempts += 1
                log.info(
                    "delivery %s (%s to %s) failed, attempt %d: %s",
                    c.key,
                    c.event,
                    c.channel.name,
                    c.attempts + 1,
                    attempt.error,
                )
        try:
            await in_session(
                state,
                lambda s: service.finish(
                    s, self.owner, done, self.settings.max_attempts, self.settings.backoff_seconds
                ),
            )
        except DBAPIError as exc:  # the claims run out and the deliveries are tried again: at least once
            log.warning("recording %d deliveries failed: %s", len(done), str(exc.orig or exc).splitlines()[0][:200])

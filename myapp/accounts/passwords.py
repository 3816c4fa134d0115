"""Password hashing with argon2id (argon2-cffi), off the event loop.

Hashing is deliberately slow and memory-hungry, so it runs on a small thread pool
shared by every loop of the process: the loop keeps serving, and at most that many
hashes (each ``memory_cost`` KiB) are computed at once.
"""

import asyncio
import concurrent.futures
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, time_cost=3, memory_cost=65536, parallelism=1, threads=2):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self._threads = threads
        self._pool = None
        self._lock = threading.Lock()
        self._dummy = None

    def _executor(self):
        with self._lock:  # created on first use: nothing starts at configuration time
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self._threads, thread_name_prefix="argon2")
            return self._pool

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor(), fn, *args)

    async def hash(self, password):
        return await self._run(self.hasher.hash, password)

    async def verify(self, password_hash, password):
        """(matches, a new hash when the stored one uses weaker parameters, else None)."""

        def check():
            try:
                self.hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False, None
            if self.hasher.check_needs_rehash(password_hash):
                return True, self.hasher.hash(password)
            return True, None

        return await self._run(check)

    async def waste_time(self, password):
        """Verify against a throwaway hash, so an unknown address takes as long as a wrong password."""
        if self._dummy is None:
            self._dummy = await self.hash("not the password of anyone")
        await self.verify(self._dummy, password)

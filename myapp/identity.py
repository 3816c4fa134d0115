"""What names a secret and a process without giving either away: one module every area uses.

- ``token_hash``: a token (an API key, a sign-in, a ping URL, an e-mail confirmation link) is stored as its
  SHA-256 only, so the database never holds what would let someone act with it; tokens are random, so
  a plain hash (no salt, no work factor) is enough, and a lookup by it is one index probe.
- ``process_owner``: what this process writes in the ``claimed_by`` of the rows it claims (due monitors,
  deliveries): its host and PID, which an operator can read, and a random part, which two processes never
  share (a PID is reused after a restart).
"""

import hashlib
import os
import socket
import uuid


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def process_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

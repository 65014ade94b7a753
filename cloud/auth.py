"""Who may call the control API: bearer tokens kept hashed, short-lived feed tokens, and a
limit on failed attempts per client. Pure: time is passed in (ns since the Unix epoch).

- ``TokenBook``: the configured tokens, kept only as SHA-256 digests; a presented token is
  hashed and compared with every digest in constant time (``hmac.compare_digest``), so neither
  the store nor the comparison tells an attacker how close a guess came.
- ``FeedTokens``: the dashboard's live feed is an ``EventSource``, which cannot send an
  ``Authorization`` header; it asks (with its bearer token) for a feed token that is valid for
  ``ttl_s`` on ``GET /api/v1/feed`` only, carries the holder's name and role, and is signed
  (HMAC-SHA256) with a key the service holds. A leaked feed URL is worth a minute, not the
  bearer token.
- ``FailureLimit``: at most ``max_failures`` failed authentications per client address in a
  sliding ``window_s``; past it the client is answered 429 until the window has moved on.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from vicoop.signing import b64url, unb64url

__all__ = ["FailureLimit", "FeedTokens", "Holder", "Role", "TokenBook", "token_digest"]

NS_PER_S = 1_000_000_000

Role = Literal["viewer", "operator", "admin"]


def token_digest(token: str) -> str:
    """The SHA-256 hex digest a token is kept as (``vicoop cloud token-digest`` prints it)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a token: a name (the audit log's actor) and a role."""

    name: str
    role: Role


class TokenBook:
    """Tokens by their SHA-256 digest (hex); ``find`` a presented token's holder or None."""

    def __init__(self, entries: Iterable[tuple[str, Holder]]) -> None:
        self._entries = [(bytes.fromhex(digest), holder) for digest, holder in entries]

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, token: str) -> Holder | None:
        if not token:
            return None
        presented = bytes.fromhex(token_digest(token))
        found = None
        for digest, holder in self._entries:  # every entry compared: no early exit
            if hmac.compare_digest(presented, digest):
                found = holder
        return found


class FeedTokens:
    """Issues and checks feed tokens (see the module); ``key`` signs them (random per process
    when not given: workers behind one load balancer need a shared key)."""

    def __init__(self, ttl_s: float = 60.0, key: bytes | None = None) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s: {ttl_s} is not positive")
        self.ttl_ns = int(ttl_s * NS_PER_S)
        self._key = key or secrets.token_bytes(32)

    def issue(self, holder: Holder, now_ns: int) -> tuple[str, int]:
        """A feed token for ``holder`` and when it expires (ns)."""
        expires = now_ns + self.ttl_ns
        body = json.dumps([holder.name, holder.role, expires], separators=(",", ":")).encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()
        return f"{b64url(body)}.{b64url(mac)}", expires

    def check(self, token: str, now_ns: int) -> Holder | None:
        """The holder of a valid, unexpired feed token; None for anything else."""
        body_b64, dot, mac_b64 = token.partition(".")
        if not dot or len(token) > 512:
            return None
        try:
            body, mac = unb64url(body_b64), unb64url(mac_b64)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, hmac.new(self._key, body, hashlib.sha256).digest()):
            return None
        name, role, expires = json.loads(body)  # ours: it is signed
        if now_ns >= expires:
            return None
        return Holder(name, role)


@dataclass
class FailureLimit:
    """Failed authentications per client address in a sliding window (see the module)."""

    max_failures: int = 10
    window_s: float = 60.0
    max_clients: int = 10_000  # addresses remembered; the quietest are forgotten first
    _failures: dict[str, collections.deque[int]] = field(default_factory=dict)

    def blocked(self, client: str, now_ns: int) -> bool:
        """Whether ``client`` has used up its failures in the window ending at ``now_ns``."""
        times = self._failures.get(client)
        if times is None:
            return False
        self._expire(times, now_ns)
        if not times:
            del self._failures[client]
            return False
        return len(times) >= self.max_failures

    def failed(self, client: str, now_ns: int) -> int:
        """Count a failure of ``client``; the failures in the window, this one included."""
        times = self._failures.pop(client, None) or collections.deque()
        self._expire(times, now_ns)
        times.append(now_ns)
        while len(times) > self.max_failures:
            times.popleft()
        self._failures[client] = times  # (re)inserted last: the dict is oldest-first
        while len(self._failures) > self.max_clients:
            del self._failures[next(iter(self._failures))]
        return len(times)

    def _expire(self, times: collections.deque[int], now_ns: int) -> None:
        horizon = now_ns - int(self.window_s * NS_PER_S)
        while times and times[0] <= horizon:
            times.popleft()

"""A bounded cache of seen ``(sender, nonce)`` pairs, to refuse replayed requests.

Pure logic (the caller passes the time); a lock makes it safe across threads, and since it never awaits
it is atomic between coroutines as well.
"""

import threading
from collections import OrderedDict

from offchain.agents.errors import ReplayCacheFullError


class ReplayCache:
    """Remembers each ``(sender, nonce)`` for ``ttl`` seconds, holding at most ``max_entries`` at once.

    For envelopes accepted within ``±max_skew`` seconds of their timestamp, ``ttl = 2 * max_skew`` keeps
    every nonce until its envelope is refused as stale anyway, so no replay is ever accepted. When the
    cache is full of unexpired entries it fails closed (:class:`ReplayCacheFullError`) rather than forget
    a nonce that could then be replayed.
    """

    def __init__(self, ttl: float, max_entries: int = 100_000) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self.ttl = ttl
        self.max_entries = max_entries
        self._expiries: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiries)

    def _purge(self, now: float) -> None:
        while self._expiries:
            key, expiry = next(iter(self._expiries.items()))
            if expiry >= now:
                break
            del self._expiries[key]

    def check_and_store(self, sender: str, nonce: str, now: float) -> bool:
        """Record ``(sender, nonce)`` at time ``now``; return False if it was already recorded (a replay).

        Raises :class:`ReplayCacheFullError` when the pair is new but there is no room for it.
        """
        key = (sender, nonce)
        with self._lock:
            self._purge(now)
            if key in self._expiries:
                return False
            if len(self._expiries) >= self.max_entries:
                raise ReplayCacheFullError(f"replay cache holds {self.max_entries} unexpired nonces")
            self._expiries[key] = now + self.ttl
            return True

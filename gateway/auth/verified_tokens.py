"""A small LRU of tokens whose signature was verified, so that a client's burst of requests pays
for one RS256 check. An entry never outlives the token's `exp` nor `max_age` seconds (which bounds
how long a JWKS key rotation takes to reach tokens already seen)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from backend_proto.v1 import common_pb2


class VerifiedTokens:
    def __init__(self, max_entries: int = 4096, max_age: float = 60.0, clock: Callable[[], float] = time.time):
        self.max_entries = max_entries
        self.max_age = max_age
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, token: str) -> common_pb2.User | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        valid_until, user = entry
        if self.clock() >= valid_until:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        # a copy: callers may modify the message they get
        return common_pb2.User.FromString(user)

    def put(self, token: str, user: common_pb2.User, expires_at: float) -> None:
        if self.max_entries <= 0:
            return
        valid_until = min(float(expires_at), self.clock() + self.max_age)
        if valid_until <= self.clock():
            return
        self._entries[token] = (valid_until, user.SerializeToString())
        self._entries.move_to_end(token)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

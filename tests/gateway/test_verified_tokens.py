"""The verified-token LRU: entries end at the token's exp or after max_age, LRU eviction, copies."""

from __future__ import annotations

from backend_proto.v1 import common_pb2
from gateway.auth.verified_tokens import VerifiedTokens


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def user(name: str) -> common_pb2.User:
    return common_pb2.User(user_id=f"basic~{name}", auth_method="basic", sh_access_token="t-" + name)


def test_entry_ends_at_token_expiry():
    clock = Clock()
    cache = VerifiedTokens(max_age=60, clock=clock)
    cache.put("a", user("a"), expires_at=1010)
    assert cache.get("a").user_id == "basic~a"
    clock.now = 1009.9
    assert cache.get("a") is not None
    clock.now = 1010
    assert cache.get("a") is None
    clock.now = 1000
    assert cache.get("a") is None  # removed, not just hidden


def test_entry_ends_after_max_age_even_for_long_lived_tokens():
    clock = Clock()
    cache = VerifiedTokens(max_age=60, clock=clock)
    cache.put("a", user("a"), expires_at=10_000)
    clock.now = 1059
    assert cache.get("a") is not None
    clock.now = 1060
    assert cache.get("a") is None


def test_expired_tokens_are_not_stored_and_lru_evicts_the_oldest():
    clock = Clock()
    cache = VerifiedTokens(max_entries=2, clock=clock)
    cache.put("old", user("old"), expires_at=999)
    assert cache.get("old") is None
    cache.put("a", user("a"), expires_at=2000)
    cache.put("b", user("b"), expires_at=2000)
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", user("c"), expires_at=2000)
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_callers_get_copies():
    cache = VerifiedTokens(clock=Clock())
    cache.put("a", user("a"), expires_at=2000)
    first = cache.get("a")
    first.user_id = "changed"
    assert cache.get("a").user_id == "basic~a"

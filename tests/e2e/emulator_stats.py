"""Counting Sentinel Hub calls at the emulator from a clean start: requests an earlier test left in
flight (e.g. a delayed one whose executor was killed) would otherwise be counted when they end."""

from __future__ import annotations

import time

import requests


def stats(stack) -> dict:
    return requests.get(stack.emulator_url + "/_emulator/stats", timeout=5).json()


def reset_when_idle(stack, timeout: float = 40.0) -> None:
    deadline = time.time() + timeout
    while stats(stack)["api_in_flight"] and time.time() < deadline:
        time.sleep(0.2)
    assert stats(stack)["api_in_flight"] == 0, "the emulator is still answering an earlier test's request"
    requests.delete(stack.emulator_url + "/_emulator/stats", timeout=5).raise_for_status()

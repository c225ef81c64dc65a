"""Text processes: text_begins, text_contains, text_ends, text_merge."""

from __future__ import annotations

import json
from typing import Any, Callable

from .registry import process, required


def _text_test(pid: str, test: Callable[[str, str], bool]) -> None:
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        data, pattern = required(args, "data", pid), required(args, "pattern", pid)
        if data is None:
            return None
        if not args.get("case_sensitive", True):
            data, pattern = data.casefold(), pattern.casefold()
        return test(data, pattern)

    impl.__name__ = pid


_text_test("text_begins", lambda d, p: d.startswith(p))
_text_test("text_contains", lambda d, p: p in d)
_text_test("text_ends", lambda d, p: d.endswith(p))


def _to_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None or isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@process("text_merge")
def text_merge(args: dict, ctx: Any) -> str:
    data = required(args, "data", "text_merge")
    sep = _to_text(args.get("separator", ""))
    return sep.join(_to_text(v) for v in data)

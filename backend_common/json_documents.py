"""Strict reading of JSON documents users wrote (process graphs, titles, options, ...).

Standard JSON only (RFC 8259): no `NaN`/`Infinity`, valid Unicode (no unpaired UTF-16 surrogate
from an escape such as `\\ud83d`: such text cannot be encoded as UTF-8, so MongoDB, protobuf and
every JSON response would fail on it), numbers of bounded size (integers fit 64 bits, literals of
at most 100 characters, finite), and nesting of at most `max_depth` objects/arrays. Every check is
iterative and linear in the document's size.
"""

from __future__ import annotations

import json
import re

#: Integers must fit 64 bits (signed, or unsigned: no-data values of uint64 rasters).
MAX_INTEGER = 2**64 - 1
MAX_NUMBER_CHARS = 100
DEFAULT_MAX_DEPTH = 200

_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(ValueError):
    """The text is not a JSON document this backend accepts; str() is a message for the user."""


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > 20 or int(digits) > MAX_INTEGER:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise JsonRefused(f"the integer {shown} is too large (at most 64 bits)")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonRefused(f"a number is written with more than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonRefused(f"the number {text} is out of range")
    return value


def _parse_constant(name: str):
    raise JsonRefused(f"{name} is not a JSON value (JSON numbers are finite)")


def has_invalid_unicode(text: str) -> bool:
    """True when `text` holds an unpaired surrogate (it cannot be encoded as UTF-8)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def valid_unicode(text: str) -> str:
    """`text` with every unpaired surrogate replaced by U+FFFD (for reading old stored data)."""
    return _SURROGATE.sub("\ufffd", text)


def document_problem(value, max_depth: int = DEFAULT_MAX_DEPTH) -> str | None:
    """Why a parsed document is refused (too deep, invalid Unicode in a key or string), or None."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if has_invalid_unicode(item):
                return "a string holds an unpaired UTF-16 surrogate (invalid Unicode)"
        elif isinstance(item, dict):
            if depth > max_depth:
                return f"it is nested more than {max_depth} levels deep"
            for key, child in item.items():
                if has_invalid_unicode(key):
                    return "a property name holds an unpaired UTF-16 surrogate (invalid Unicode)"
                if isinstance(child, (dict, list, str)):
                    pending.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                return f"it is nested more than {max_depth} levels deep"
            pending.extend((child, depth + 1) for child in item if isinstance(child, (dict, list, str)))
    return None


def loads_strict(text: str | bytes, *, max_depth: int = DEFAULT_MAX_DEPTH):
    """The parsed document, or `JsonRefused` saying why it is not accepted."""
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused("it is nested too deeply") from None
    except (ValueError, TypeError) as err:  # includes UnicodeDecodeError
        message = str(err)
        raise JsonRefused(message if len(message) < 200 else message[:200] + "...") from None
    problem = document_problem(value, max_depth)
    if problem:
        raise JsonRefused(problem)
    return value

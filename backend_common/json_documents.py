"""Strict reading of JSON documents users wrote (process graphs, titles, options, ...).

Standard JSON only (RFC 8259): no `NaN`/`Infinity`, valid Unicode (no unpaired UTF-16 surrogate
from an escape such as `\\ud83d`: such text cannot be encoded as UTF-8, so MongoDB, protobuf and
every JSON response would fail on it), integers within 64 bits (signed or unsigned), finite
numbers (`1e999` overflows to infinity and is refused), UTF-8 bytes, and nesting of at most
`max_depth` objects/arrays. Every check is iterative and linear in the document's size.
"""

from __future__ import annotations

import json
import re

#: Integers must fit 64 bits (signed, or unsigned: no-data values of uint64 rasters).
MAX_INTEGER = 2**64 - 1
DEFAULT_MAX_DEPTH = 200

_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(ValueError):
    """The text is not a JSON document this backend accepts; str() is a message for the user."""


def _parse_constant(name: str):
    raise JsonRefused(f"{name} is not a JSON value (JSON numbers are finite)")


def has_invalid_unicode(text: str) -> bool:
    """True when `text` holds an unpaired surrogate (it cannot be encoded as UTF-8)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def valid_unicode(text: str) -> str:
    """`text` with every unpaired surrogate replaced by U+FFFD (for reading old stored data)."""
    return _SURROGATE.sub("\ufffd", text)


def _scalar_problem(value, check_strings: bool) -> str | None:
    kind = type(value)
    if kind is str:
        if check_strings and has_invalid_unicode(value):
            return "a string holds an unpaired UTF-16 surrogate (invalid Unicode)"
    elif kind is int:
        if value > MAX_INTEGER or value < -MAX_INTEGER:
            return "an integer is too large (at most 64 bits)"
    elif kind is float:
        if value != value or value == _INF or value == -_INF:
            return "a number is out of range (JSON numbers are finite)"
    return None


def document_problem(value, max_depth: int = DEFAULT_MAX_DEPTH, *, check_strings: bool = True) -> str | None:
    """Why a parsed document is refused (too deep, an integer beyond 64 bits, a number that is not
    finite, invalid Unicode in a key or string), or None. `check_strings=False` skips the Unicode
    check (the caller knows the text held no surrogate escape)."""
    if type(value) not in (dict, list):
        return _scalar_problem(value, check_strings)
    pending = [(value, 1)]
    pop, push = pending.pop, pending.append
    while pending:
        item, depth = pop()
        if depth > max_depth:
            return f"it is nested more than {max_depth} levels deep"
        if type(item) is dict:
            children = item.values()
            if check_strings:
                for key in item:
                    if has_invalid_unicode(key):
                        return "a property name holds an unpaired UTF-16 surrogate (invalid Unicode)"
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth + 1))
            elif kind is not bool and child is not None:
                problem = _scalar_problem(child, check_strings)
                if problem:
                    return problem
    return None


_INF = float("inf")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def loads_strict(text: str | bytes, *, max_depth: int = DEFAULT_MAX_DEPTH):
    """The parsed document, or `JsonRefused` saying why it is not accepted.

    The C parser does the parsing (only NaN/Infinity tokens call back); one iterative walk then
    checks depth and numbers, and strings only when the text holds a `\\uD800`-`\\uDFFF` escape
    (the only way an unpaired surrogate gets in: invalid UTF-8 bytes already fail to decode).
    """
    try:
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")  # RFC 8259: JSON between systems is UTF-8
        value = json.loads(text, parse_constant=_parse_constant)
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused("it is nested too deeply") from None
    except (ValueError, TypeError) as err:  # includes UnicodeDecodeError
        message = str(err)
        if "integer string conversion" in message:  # more than sys.get_int_max_str_digits() digits
            raise JsonRefused("an integer is too large (at most 64 bits)") from None
        raise JsonRefused(message if len(message) < 200 else message[:200] + "...") from None
    problem = document_problem(value, max_depth, check_strings=_SURROGATE_ESCAPE.search(text) is not None)
    if problem:
        raise JsonRefused(problem)
    return value

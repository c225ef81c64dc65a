"""Every log line is JSON, including those of libraries that log through the standard library
(aiohttp's server logger gets the first bytes of unparsable requests, asyncio its tracebacks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r'''
import logging
from backend_common.logging import configure_logging, get_logger, set_request_id
configure_logging("gateway", "info")
set_request_id("rid-1")
logging.getLogger("aiohttp.server").error("Error handling request from %s: b'%s'", "127.0.0.1", "x\"\nline")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("asyncio").exception("Task exception was never retrieved")
logging.getLogger("noisy").debug("not shown at info")
get_logger("ours").info("our_event", key=1)
'''


def test_standard_library_records_are_json_lines():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True).stdout
    lines = out.splitlines()
    assert len(lines) == 3, out
    records = [json.loads(line) for line in lines]  # every line parses
    aiohttp_line, asyncio_line, ours = records
    assert aiohttp_line["logger"] == "aiohttp.server" and aiohttp_line["level"] == "error"
    assert aiohttp_line["service"] == "gateway" and aiohttp_line["request_id"] == "rid-1"
    assert "ZeroDivisionError" in asyncio_line["exception"]
    assert ours["event"] == "our_event" and ours["key"] == 1

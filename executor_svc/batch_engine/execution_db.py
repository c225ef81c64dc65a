"""Reading `execution-<task id>.sqlite`, the per-tile status Sentinel Hub uploads while processing (pure)."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class TileStatus:
    name: str
    status: str  # PENDING | DONE | FATAL
    error: str | None
    delivered: bool

    @property
    def has_output(self) -> bool:
        """DONE with its files in the bucket (a tile without any data is DONE, `No data`, without files)."""
        return self.status == "DONE" and self.delivered


def parse_execution_db(payload: bytes) -> list[TileStatus]:
    fd, path = tempfile.mkstemp(suffix=".sqlite")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT name, status, error, delivered FROM features ORDER BY id").fetchall()
        except sqlite3.DatabaseError:
            return []
        finally:
            con.close()
    finally:
        os.unlink(path)
    return [TileStatus(str(name), str(status), error, bool(delivered)) for name, status, error, delivered in rows]

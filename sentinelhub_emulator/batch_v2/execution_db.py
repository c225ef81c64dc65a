"""``execution-<requestId>.sqlite``: the per-feature status table Sentinel Hub uploads while processing."""
from __future__ import annotations

import os
import sqlite3
import tempfile

from .tasks import TileState


def execution_db_bytes(tiles: list[TileState]) -> bytes:
    """Table ``features(id, name, status, error, delivered)``; status PENDING, DONE or FATAL."""
    fd, path = tempfile.mkstemp(suffix=".sqlite")
    os.close(fd)
    try:
        con = sqlite3.connect(path)
        try:
            con.execute("CREATE TABLE features (id INTEGER PRIMARY KEY, name TEXT, status TEXT, error TEXT, "
                        "delivered BOOLEAN)")
            con.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?)",
                            [(t.tile.id, t.tile.name, t.status, t.error, int(t.delivered)) for t in tiles])
            con.commit()
        finally:
            con.close()
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)

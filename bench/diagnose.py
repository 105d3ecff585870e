"""What to keep when an import fails or hangs: its status JSON, the database's running queries, the logs' ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from bench.service import Service, tail

ACTIVE_QUERIES = """
SELECT pid, now() - query_start AS running_for, wait_event_type, wait_event, left(query, 400)
FROM pg_stat_activity
WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()
ORDER BY query_start
"""


def active_queries(database_url: str) -> list[str]:
    """The service database's running statements, longest first; empty for SQLite."""
    if not database_url.startswith("postgresql"):
        return []
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(ACTIVE_QUERIES).fetchall()
    return [f"pid {pid} for {running} (wait {kind}/{event}): {query}" for pid, running, kind, event, query in rows]


def capture(service: Service, database_url: str, key: str, status: dict[str, Any]) -> str:
    """Write the evidence beside the service's logs; return a short account of it for the report."""
    queries = active_queries(database_url)
    lines = [f"status: {json.dumps(status, ensure_ascii=False)}", "running queries:", *queries]
    for log in service.logs:
        lines += [f"--- end of {log.name} ---", tail(log, 30)]
    path: Path = service.folder / f"diagnosis-{key}.txt"
    path.write_text("\n".join(lines) + "\n")
    first = queries[0] if queries else "no query running"
    return f"{first[:300]}\n(status JSON, queries and log ends in {path})"

"""Rows loaded into staging by COPY arrive as they were, whatever the connection's character encoding."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text

from app.db import Database
from app.importing.polars_runtime import pl
from app.importing.writers.staging import load_rows

TEXTS = ["café crème", "tab\there", "back\\slash", None]


@pytest.mark.parametrize("client_encoding", ["UTF8", "LATIN1"])
def test_a_frame_loaded_by_copy_reads_back_the_same(pg: Database, client_encoding: str) -> None:
    table = Table("loaded_note", MetaData(), Column("job_id", Integer), Column("note", String))
    table.create(pg.engine)
    frame = pl.DataFrame({"job_id": [1, 2, 3, 4], "note": TEXTS})
    with pg.write() as session:
        session.execute(text(f"SET client_encoding TO '{client_encoding}'"))
        load_rows(session, table, ["job_id", "note"], frame)
    with pg.read() as session:
        notes = session.execute(select(table.c.note).order_by(table.c.job_id)).scalars().all()
    assert notes == TEXTS

"""Chunks handed to workers while the plan still reads: a large CSV's first chunks are validated while
its last ones are still being cut, instead of every worker waiting for the whole file to be read.

The plan stores the header and how to read the file before the first chunk, then each chunk as it is
cut, and enqueues it. Only the finished plan sets the job's chunk count, so no finalize can start
before every chunk exists. A plan run again after its worker died publishes nothing: it checks that
the chunks it cuts are the ones already published and stores the rest (see pipeline.plan).
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import insert, update
from sqlmodel import Session, col

from app import jobs
from app.importing.chunking import ChunkLayout
from app.importing.planning import Layout
from app.jobs import ImportChunk, ImportState, ImportStatus
from app.runtime import Runtime

logger = logging.getLogger(__name__)


class PlanAbandoned(Exception):
    """The job moved on (cancelled, failed) while its plan was reading: stop reading."""


def claim_planning(session: Session, job_id: int, **values: object) -> bool:
    """Write `values` on the job (and touch it) while it is still being planned; False once it moved on
    (cancelled, failed) or another run of the plan finished it."""
    claimed = session.execute(
        update(ImportStatus)
        .where(
            col(ImportStatus.id) == job_id,
            col(ImportStatus.state) == ImportState.IN_PROCESS.value,
            col(ImportStatus.chunk_count).is_(None),
        )
        .values(updated_at=jobs.utcnow(), **values)
    ).rowcount  # type: ignore[attr-defined]
    return bool(claimed == 1)


def reading_of(layout: Layout) -> dict[str, object]:
    """How the job's rows are read back: the header, encoding, delimiter, and where normalized rows are."""
    return {
        "header": json.dumps(list(layout.header.cells), ensure_ascii=False),
        "encoding": layout.encoding,
        "delimiter": layout.delimiter,
        "rows_key": layout.rows_key,
        "files": json.dumps(layout.files) if layout.files else None,
    }


def store_chunks(session: Session, job_id: int, chunks: list[ChunkLayout], first_number: int) -> None:
    rows = [
        {
            "job_id": job_id,
            "chunk_no": first_number + offset,
            "first_row": chunk.first_row,
            "record_count": chunk.record_count,
            "start_offset": chunk.start_offset,
            "end_offset": chunk.end_offset,
            "rows_key": chunk.rows_key,
        }
        for offset, chunk in enumerate(chunks)
    ]
    if rows:
        session.execute(insert(ImportChunk), rows)


class ChunkPublisher:
    """Stores and enqueues each chunk the plan cuts; `published` counts them."""

    def __init__(self, runtime: Runtime, job_id: int) -> None:
        self._runtime = runtime
        self._job_id = job_id
        self.published = 0

    def __call__(self, layout: Layout, chunk: ChunkLayout) -> None:
        # The first chunk brings how to read the rows; each later one only checks the job is still planned.
        reading = reading_of(layout) if self.published == 0 else {}
        with self._runtime.db.write() as session:
            if not claim_planning(session, self._job_id, **reading):
                raise PlanAbandoned
            store_chunks(session, self._job_id, [chunk], self.published)
        self._runtime.queue.enqueue_chunk(self._job_id, self.published)
        if self.published == 0:
            logger.info("import.first_chunk_published job_id=%s", self._job_id)
        self.published += 1

"""JobQueue: how the service and the pipeline hand work to workers, whatever carries it."""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    def enqueue_plan(self, job_id: int) -> None: ...

    def enqueue_chunk(self, job_id: int, chunk_no: int) -> None: ...

    def enqueue_piece(self, job_id: int) -> None: ...

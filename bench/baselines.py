"""Same-run baselines on the same rows: the PostgreSQL COPY floor, and one ORM round trip per row."""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from sqlalchemy import BigInteger, Numeric, String, Text, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench.data import Col, DataSpec, generate_rows
from bench.files import DataFile

BLOCK_BYTES = 1 << 20
ROW_BY_ROW_SAMPLE = 10_000
# The floor's own time varied by a quarter between runs of one evening (1M rows: 8.4 s and 10.4 s), with
# the service's figures steady: every ratio moved with it. It is taken as the median of a few COPYs.
FLOOR_RUNS = 3

FLOOR_TABLE = """
CREATE TABLE copy_floor (
    sku_number varchar(255) PRIMARY KEY,
    sku_indicator text,
    product_title text,
    product_description text,
    default_category_id varchar(255),
    product_url text,
    retail_price numeric,
    upc varchar(255),
    available_quantity bigint,
    image_urls text,
    fulfillment_type varchar(100),
    color text,
    material text,
    size text,
    title_es text
)
"""


@dataclass(frozen=True)
class Baseline:
    rows: int  # rows actually written
    seconds: float
    runs: tuple[float, ...] = field(default=())  # every measurement `seconds` is the median of

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def seconds_for(self, rows: int) -> float:
        return rows / self.per_second if self.per_second else 0.0


def copy_floor(database_url: str, data: DataFile, runs: int = FLOOR_RUNS) -> Baseline:
    """The median of `runs` COPYs of the file, each into a new table and after a checkpoint."""
    measured = [_copy_once(database_url, data) for _ in range(runs)]
    return Baseline(data.rows, statistics.median(measured), tuple(measured))


def _copy_once(database_url: str, data: DataFile) -> float:
    """The file's bytes through `COPY ... FROM STDIN (FORMAT csv)` into a typed table keyed by SKU, committed."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS copy_floor")
        connection.execute(FLOOR_TABLE)
        connection.execute("CHECKPOINT")  # each run starts from the same state, not from the last one's WAL
    with psycopg.connect(database_url) as connection:
        began = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY copy_floor FROM STDIN (FORMAT csv, HEADER true)") as copy,
            data.path.open("rb") as file,
        ):
            while block := file.read(BLOCK_BYTES):
                copy.write(block)
        connection.commit()
        seconds = time.perf_counter() - began
        row = connection.execute("SELECT count(*) FROM copy_floor").fetchone()
    copied = int(row[0]) if row else 0
    if copied != data.rows:
        raise RuntimeError(f"COPY floor: {copied} rows in the table, expected {data.rows}")
    return seconds


class _Base(DeclarativeBase):
    pass


class RowByRowProduct(_Base):
    """The row-by-row baseline's table: what a naive ORM import writes, one merge and commit per row."""

    __tablename__ = "row_by_row_product"

    sku_number: Mapped[str] = mapped_column(String(255), primary_key=True)
    is_sku: Mapped[bool]
    product_title: Mapped[str] = mapped_column(Text)
    product_description: Mapped[str | None] = mapped_column(Text)
    default_category_id: Mapped[str | None] = mapped_column(String(255))
    product_url: Mapped[str | None] = mapped_column(Text)
    retail_price: Mapped[Decimal] = mapped_column(Numeric)
    upc: Mapped[str | None] = mapped_column(String(255))
    available_quantity: Mapped[int | None] = mapped_column(BigInteger)
    image_urls: Mapped[str | None] = mapped_column(Text)
    fulfillment_type: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[str | None] = mapped_column(Text)
    options: Mapped[str | None] = mapped_column(Text)
    title_es: Mapped[str | None] = mapped_column(Text)


def _orm_row(cells: list[str]) -> RowByRowProduct:
    return RowByRowProduct(
        sku_number=cells[Col.SKU],
        is_sku=cells[Col.INDICATOR] == "Y",
        product_title=cells[Col.TITLE],
        product_description=cells[Col.DESCRIPTION] or None,
        default_category_id=cells[Col.CATEGORY] or None,
        product_url=cells[Col.URL],
        retail_price=Decimal(cells[Col.PRICE]),
        upc=cells[Col.UPC],
        available_quantity=int(cells[Col.QUANTITY]),
        image_urls=cells[Col.IMAGES],
        fulfillment_type=cells[Col.FULFILLMENT],
        attributes=f'{{"Color":"{cells[Col.COLOR]}","Material":"{cells[Col.MATERIAL]}"}}',
        options=cells[Col.SIZE] or None,
        title_es=cells[Col.TITLE_ES],
    )


def row_by_row(database_url: str, spec: DataSpec, sample: int = ROW_BY_ROW_SAMPLE) -> Baseline:
    """The first `sample` rows, each `session.merge()`d and committed on its own (a SELECT and an INSERT)."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        _Base.metadata.create_all(engine)
        rows = list(itertools.islice(generate_rows(spec), sample))
        began = time.perf_counter()
        with Session(engine) as session:
            for cells in rows:
                session.merge(_orm_row(cells))
                session.commit()
        return Baseline(len(rows), time.perf_counter() - began)
    finally:
        engine.dispose()

"""Checking that the tables hold exactly the input: row counts and the content checksum of catalog 1."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text

from bench.checksum import PRODUCT_COLUMNS, SKU_COLUMNS, Content, ContentDigest, product_fields, sku_fields

CATALOG_ID = 1
FETCH_ROWS = 10_000


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return "PASS" if self.passed else "FAIL"


def stored_content(database_url: str, catalog_id: int = CATALOG_ID) -> Content:
    """Counts and checksum of the `product` and `sku` rows of a catalog, streamed from the database."""
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    engine = create_engine(database_url)
    digest = ContentDigest()
    try:
        with engine.connect() as connection:
            streaming = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS)
            query = f"SELECT {PRODUCT_COLUMNS} FROM product WHERE catalog_id = :catalog"
            for row in streaming.execute(text(query), {"catalog": catalog_id}):
                digest.add("product", product_fields(tuple(row)))
            query = f"SELECT {SKU_COLUMNS} FROM sku WHERE catalog_id = :catalog"
            for row in streaming.execute(text(query), {"catalog": catalog_id}):
                digest.add("sku", sku_fields(tuple(row)))
    finally:
        engine.dispose()
    return digest.result()


def judge(
    expected: Content,
    stored: Content | None,
    status: dict[str, object],
    expected_counts: dict[str, int] | None = None,
) -> Verdict:
    """PASS when the import COMPLETED, the tables match the input, and the status counts are the expected ones."""
    reasons: list[str] = []
    if status.get("status") != "COMPLETED":
        reasons.append(f"status {status.get('status')}: {status.get('details')}")
    if stored is not None:
        if (stored.products, stored.skus) != (expected.products, expected.skus):
            reasons.append(
                f"tables hold {stored.products} products + {stored.skus} skus, "
                f"expected {expected.products} + {expected.skus}"
            )
        elif stored.digest != expected.digest:
            reasons.append("content checksum differs from the generated rows")
    for name, wanted in (expected_counts or {}).items():
        if status.get(name) != wanted:
            reasons.append(f"{name} is {status.get(name)}, expected {wanted}")
    return Verdict(not reasons, tuple(reasons))

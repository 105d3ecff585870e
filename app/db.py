"""Database engines and transactions: one `Database` per process, SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect, text
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.schema import CreateIndex
from sqlmodel import Session, SQLModel, create_engine

SQLITE_BUSY_TIMEOUT_MS = 300_000
SQLITE_WAL_LIMIT_BYTES = 64 << 20  # what a write-ahead log keeps of its size once checkpointed
_SCHEMA_LOCK_ID = 7_402_113
MERGE_LOCK_ID = 7_402_114
# With an account id, the two-key advisory lock that serialises that account's new imports.
ACCOUNT_IMPORTS_LOCK_SPACE = 7_402_115


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Transactions are begun explicitly below, so that writers take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # The log grows to the largest transaction (a million rows' merge: about 1 GB) and SQLite keeps that file
        # at that size for good, reusing it: cut back once a checkpoint has emptied it.
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_LIMIT_BYTES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock
        # (SQLite answers "database is locked" at once), so writers begin IMMEDIATE.
        readonly = connection.get_execution_options().get("importer_readonly", False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 300})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    """The engine of one process, with write and read transactions."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._reader = self.engine.execution_options(importer_readonly=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that may write: committed when the block ends, rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: on SQLite it never waits for a writer."""
        with Session(self._reader, expire_on_commit=False) as session, session.begin():
            yield session

    def create_schema(self) -> None:
        """Create every table that does not exist yet (safe to run from many processes at once)."""
        import app.models  # noqa: F401  (registers every table on SQLModel.metadata)

        with self.engine.begin() as connection:
            if self.is_postgresql:
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SCHEMA_LOCK_ID})
            SQLModel.metadata.create_all(connection)
            _add_new_columns(connection)
            _add_new_indexes(connection)
            if self.is_postgresql:
                _widen_columns(connection)
                _collate_bytewise(connection)
            for index in _RETIRED_INDEXES:
                connection.execute(text(f"DROP INDEX IF EXISTS {index}"))
            if self.is_postgresql:
                for table, constraint in _RETIRED_FOREIGN_KEYS:
                    connection.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}"))
                _prefer_lz4(connection)
                _leave_room_for_updates(connection)
                _cache_record_ids(connection)
                _unlog_scratch_tables(connection)

    def dispose(self) -> None:
        self.engine.dispose()


def _add_new_columns(connection: Connection) -> None:
    """Columns added to tables since an earlier version created them (a job's `sheet_name`, `files`, `retry_of`, a
    record's `base_job_id`, a chunk's `rows_key`...), added empty: each one a later version adds is nullable."""
    inspector = inspect(connection)
    for table in SQLModel.metadata.sorted_tables:
        present = {found["name"] for found in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                sql_type = column.type.compile(dialect=connection.dialect)
                connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {sql_type}'))


def _add_new_indexes(connection: Connection) -> None:
    """Indexes added to tables since an earlier version created them (a customer's lowered Email Address), built
    once as the service starts: on a large table that takes a while, and holds off its writes meanwhile. Only the
    missing ones are created: PostgreSQL locks a table against writes even to find an index it has, and a worker
    started beside a running merge would wait for that merge."""
    listed = (
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        if connection.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'index'"
    )  # by name, expression indexes included (SQLAlchemy's inspector leaves those out on SQLite)
    present = set(connection.execute(text(listed)).scalars())
    for table in SQLModel.metadata.sorted_tables:
        for index in table.indexes:
            if index.name not in present:
                connection.execute(CreateIndex(index, if_not_exists=True))


# Whole-number columns earlier versions made in 32 bits, where an import's value may take 64 (see
# cells.read_integer). SQLite's integers are 64 bits already.
_WIDENED_COLUMNS = (("category", "display_order"), ("category_staging", "display_order"))


def _column_as_made(connection: Connection, table: str, column: str) -> tuple[str, str | None] | None:
    """(data type, collation) of a column as the database holds it; None where it has no such column."""
    found = connection.execute(
        text(
            "SELECT data_type, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = :table AND column_name = :column"
        ),
        {"table": table, "column": column},
    ).first()
    return None if found is None else (str(found[0]), found[1])


def _widen_columns(connection: Connection) -> None:
    for table, column in _WIDENED_COLUMNS:
        made = _column_as_made(connection, table, column)
        if made is not None and made[0] == "integer":
            connection.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT"))


def _collate_bytewise(connection: Connection) -> None:
    """Columns an earlier version made with the database's collation that now compare byte by byte (see
    app.commerce.types.RecordNumber). PostgreSQL rebuilds the indexes that hold them, once."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            collation = getattr(column.type.dialect_impl(connection.dialect), "collation", None)
            if collation is None:
                continue
            made = _column_as_made(connection, table.name, column.name)
            if made is not None and made[1] != collation:
                sql_type = column.type.compile(dialect=connection.dialect)
                connection.execute(text(f'ALTER TABLE "{table.name}" ALTER COLUMN "{column.name}" TYPE {sql_type}'))


# Indexes earlier versions made and nothing reads any more: each cost every staged row an index entry.
_RETIRED_INDEXES = tuple(
    f"ix_{table}_staging_chunk" for table in ("product", "order", "category", "asset", "customer", "customer_address")
)


# Foreign keys earlier versions made on tables written in bulk (see ImportProblem.job_id). On SQLite a
# table made by an earlier version keeps its key: dropping one means rebuilding the table.
_RETIRED_FOREIGN_KEYS = (("import_problem", "import_problem_job_id_fkey"),)


# Large values that PostgreSQL would compress with pglz: upload blocks (1 MiB of text each). lz4 compresses
# CSV as well (0.34 against 0.32 of the size) at a quarter of the cost: 3.7 ms a block against 15 ms,
# which was most of the time a large upload took.
_LZ4_COLUMNS = (("upload_block", "data"),)


def _prefer_lz4(connection: Connection) -> None:
    available = connection.execute(
        text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    if not available:  # PostgreSQL before 14, or built without lz4: pglz stays
        return
    for table, column in _LZ4_COLUMNS:
        method = connection.execute(
            text("SELECT attcompression FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attname = :c"),
            {"t": table, "c": column},
        ).scalar()
        if method != "l":  # 'l' is lz4; altering takes a lock, so only once
            connection.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4"))


# Tables whose rows a re-import rewrites in place: each page is half filled by inserts, so that the new
# version of a changed row fits beside the old one. PostgreSQL then updates it without touching its
# indexes (a heap-only tuple), and prunes the old version when it next needs the room. 900,000
# products, every one changed: the update took 16.7-18.3 s at the default fillfactor (100) and
# 8.8-9.2 s at 50; a first import took about as long either way (7.6-10.2 s); the table is twice
# as large until the first such re-import, after which a fully packed table is as large with its
# dead versions. An operator's own fillfactor on these tables is left as it is.
_UPDATED_IN_PLACE = (("product", 50), ("sku", 50))


def _leave_room_for_updates(connection: Connection) -> None:
    for table, fillfactor in _UPDATED_IN_PLACE:
        options = connection.execute(
            text("SELECT reloptions FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
        ).scalar()
        if not any(option.startswith("fillfactor=") for option in options or ()):
            connection.execute(text(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})"))


# Tables a merge inserts rows into by the million, each taking its id from its sequence. A backend hands out ids
# one by one from the sequence's page, and writes it to the log every 32, unless it holds a few of its own: a
# million rows inserted under a unique key took 6.1 s with 1,000 held against 6.7 s with one (the mean of three
# runs each). Ids stay unique, but a connection that closes leaves the rest of its ids unused, and two
# connections' ids interleave: no reading orders these records by id. An operator's own cache is left as it is.
_BULK_INSERTED = ("product", "sku", "category", "customer", "customer_address", "customer_order", "order_item", "asset")
_IDS_HELD = 1000


def _cache_record_ids(connection: Connection) -> None:
    # PostgreSQL's default cache is 1; altering takes a lock, so only the sequences still at it.
    at_default = connection.execute(
        text(
            "SELECT seqrelid::regclass::text FROM unnest(CAST(:tables AS text[])) AS bulk(name)"
            " JOIN pg_sequence ON seqrelid = to_regclass(pg_get_serial_sequence(name, 'id')) WHERE seqcache = 1"
        ),
        {"tables": list(_BULK_INSERTED)},
    ).scalars()
    for sequence in list(at_default):
        connection.execute(text(f"ALTER SEQUENCE {sequence} CACHE {_IDS_HELD}"))


def _unlog_scratch_tables(connection: Connection) -> None:
    """Staging tables hold a job's rows from its chunks to its merge, nothing longer: unlogged, they cost
    no write-ahead log (1M staged rows, COPY in 5,000-row chunks: 3.1 s unlogged against 3.6-4.0 s, the
    DELETE after the merge 0.5 s against 0.6-0.75 s) and are not sent to replicas. A table made by an
    earlier version is converted once (ALTER TABLE rewrites it, rows and all).

    The imports in process when that happens were planned without a staging guard (see
    app.importing.staging_guard); their staged rows are intact, so they get one now, in the same
    transaction. Only then: on any later start a missing guard means a crash."""
    scratch = [table.name for table in SQLModel.metadata.sorted_tables if table.info.get("unlogged")]
    logged = (
        connection.execute(
            text(
                "SELECT name FROM unnest(CAST(:names AS text[])) AS scratch(name)"
                " JOIN pg_class ON pg_class.oid = to_regclass(name) WHERE relpersistence = 'p'"
            ),
            {"names": scratch},
        )
        .scalars()
        .all()
    )
    for name in logged:
        connection.execute(text(f"ALTER TABLE {name} SET UNLOGGED"))
    if logged:
        connection.execute(
            text(
                "INSERT INTO staging_guard (job_id) SELECT id FROM import_status WHERE state = 'IN_PROCESS'"
                " ON CONFLICT DO NOTHING"
            )
        )


def lock_merges(session: Session) -> None:
    """Serialise whatever writes production from staging or a sandbox, until the transaction ends.

    SQLite's writers are serial already (BEGIN IMMEDIATE); PostgreSQL takes an advisory lock, so
    that a promote's check and its copy see no import's merge land in between.
    """
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MERGE_LOCK_ID})


def lock_account_imports(session: Session, account_id: int) -> None:
    """Serialise the recording of one account's new imports, until the transaction ends.

    SQLite's writers are serial already (BEGIN IMMEDIATE); PostgreSQL takes an advisory lock on the
    account, so that the running-imports count and the insert after it are one step for that account.
    """
    if session.connection().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:account AS integer))"),
            {"space": ACCOUNT_IMPORTS_LOCK_SPACE, "account": account_id},
        )

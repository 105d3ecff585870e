"""OrderWriter: an order spans consecutive rows; it lands whole, with every SKU known, or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from itertools import groupby

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, or_, select
from sqlmodel import Session

from app.commerce.customers import CUSTOMER_TABLE
from app.commerce.orders import ITEM_FIELDS, ORDER_FIELDS, ORDER_ITEM_TABLE, ORDER_STAGING, ORDER_TABLE
from app.commerce.overlay import visible_in
from app.commerce.products import Product, Sku
from app.importing.problems import ValidationProblem
from app.importing.validation import Record
from app.importing.writers.base import RowOutcome, StagedWriter
from app.importing.writers.checks import missing_references
from app.importing.writers.merge import MergeCounts, MergePlan, merge
from app.importing.writers.staging import StagingRow
from app.jobs import ImportStatus
from specifications.order import DEFAULT_ORDER

_HEADER_FIELDS = ("customer_id", "email_address", "status", "submit_date", "currency")
# What a merge writes of an order and of its lines: their fields and the catalog whose SKUs the lines name, so
# that an order imported again with another catalogId moves there.
_ORDER_VALUES = ("catalog_id", *ORDER_FIELDS)
_ITEM_VALUES = ("catalog_id", *ITEM_FIELDS)


def _order_problems(lines: list[RowOutcome]) -> list[ValidationProblem]:
    """What is wrong with an order as a whole (an invalid line, a total that does not add up, two values of
    one of its own fields), and then every other line of it: an order lands whole or not at all."""
    order = lines[0].key
    invalid = [line.row for line in lines if line.record is None]
    found = [] if invalid else _whole_order_problems(lines)
    if not invalid and not found:
        return []
    if invalid:
        message = f"this row belongs to order '{order}', which has an invalid row ({invalid[0]})"
    else:
        message = f"this row belongs to order '{order}', which has a problem in row {found[0].row}"
    named = {*invalid, *(problem.row for problem in found)}
    return found + [
        ValidationProblem(line.row, None, "Order Number", order, message) for line in lines if line.row not in named
    ]


def _whole_order_problems(lines: list[RowOutcome]) -> list[ValidationProblem]:
    """Problems of an order whose every line is valid: its total, and its own fields given two values."""
    order = lines[0].key
    records = [line.record for line in lines if line.record is not None]
    total = sum((Decimal(str(r.values["item_price"])) * int(str(r.values["quantity"])) for r in records), Decimal())
    given = next((r.values.get("order_total") for r in records if r.values.get("order_total")), None)
    if given is not None and Decimal(str(given)) != total:
        message = f"Order Total {given} of order '{order}' does not match its items' total {total}"
        return [ValidationProblem(lines[0].row, None, "Order Total", str(given), message)]
    problems = []
    for name in (*_HEADER_FIELDS, "order_total"):
        first: Record | None = None
        for record in records:
            value = record.values.get(name)
            if value is None:
                continue
            if first is None:
                first = record
            elif _differs(name, value, first.values[name]):
                header = DEFAULT_ORDER.column(name).header
                message = (
                    f"{header} '{_shown(value)}' differs from '{_shown(first.values[name])}' in row {first.row}, "
                    f"the first of order '{order}' to give it"
                )
                problems.append(ValidationProblem(record.row, None, header, _shown(value), message))
                break
    return sorted(problems, key=lambda problem: problem.row or 0)


def _differs(name: str, value: object, first: object) -> bool:
    """Two values of one of an order's own fields differ (an Order Total by its amount: 7.98 is 7.980; an Email
    Address whatever its case, as a customer's)."""
    if name == "order_total":
        return Decimal(str(value)) != Decimal(str(first))
    if name == "email_address":
        return str(value).lower() != str(first).lower()
    return value != first


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class OrderWriter(StagedWriter):
    staging = ORDER_STAGING
    staging_columns: tuple[str, ...] = (
        "job_id",
        "row_no",
        "chunk_no",
        "order_number",
        "line_no",
        *ORDER_FIELDS,
        *ITEM_FIELDS,
    )

    def stage(
        self, job_id: int, chunk_no: int, outcomes: Sequence[RowOutcome]
    ) -> tuple[list[StagingRow], list[ValidationProblem]]:
        rows: list[StagingRow] = []
        problems: list[ValidationProblem] = []
        for _, group in groupby(outcomes, key=lambda outcome: outcome.key or f"\x00{outcome.row}"):
            lines = list(group)
            found = _order_problems(lines)
            problems += found
            if found or any(line.record is None for line in lines):  # an order of invalid rows alone: found is []
                continue
            records = [line.record for line in lines if line.record is not None]
            total = sum(
                (Decimal(str(r.values["item_price"])) * int(str(r.values["quantity"])) for r in records), Decimal()
            )
            head = {
                name: next((r.values.get(name) for r in records if r.values.get(name)), None) for name in _HEADER_FIELDS
            }
            for line_no, (line, record) in enumerate(zip(lines, records, strict=True), start=1):
                rows.append(
                    (job_id, line.row, chunk_no, line.key, line_no, *(head[name] for name in _HEADER_FIELDS),
                     format(total, "f"), len(records), *(record.values.get(name) for name in ITEM_FIELDS))
                )  # fmt: skip
        return rows, problems

    def set_problems(self, session: Session, job: ImportStatus, keys_unique: bool = False) -> list[ValidationProblem]:
        """An order's lines share its number, so its repeats are looked for whatever `keys_unique` says
        (orders have no plain merge plans)."""
        assert job.id is not None
        found = self._repeated_orders(session, job.id) + self._unknown_skus(session, job)
        found += self._unknown_customers(session, job)
        return found + self._rest_of_spoiled_orders(session, job.id, found)

    def _repeated_orders(self, session: Session, job_id: int) -> list[ValidationProblem]:
        staging = self.staging
        starts = select(staging.c.order_number, staging.c.row_no).where(
            staging.c.job_id == job_id, staging.c.line_no == 1
        )
        seen: dict[str, int] = {}
        problems = []
        for order, row in session.execute(starts.order_by(staging.c.row_no)):
            if order in seen:
                message = (
                    f"Order Number '{order}' appears again after another order (its first rows start at {seen[order]})"
                )
                problems.append(ValidationProblem(row, None, "Order Number", order, message))
            seen.setdefault(order, row)
        return problems

    def _unknown_skus(self, session: Session, job: ImportStatus) -> list[ValidationProblem]:
        assert job.id is not None
        staging, sandboxes = self.staging, {0, job.sandbox_id}
        known = []
        for table in (Product.__table__, Sku.__table__):  # type: ignore[attr-defined]
            known.append(
                exists().where(
                    table.c.catalog_id == job.catalog_id, table.c.sandbox_id.in_(sandboxes),
                    table.c.sku_number == staging.c.sku_number,
                )
            )  # fmt: skip
        query = select(staging.c.row_no, staging.c.sku_number).where(staging.c.job_id == job.id, ~known[0], ~known[1])
        return [
            ValidationProblem(row, None, "SKU Number", sku, f"unknown SKU Number '{sku}' in catalog {job.catalog_id}")
            for row, sku in session.execute(query.order_by(staging.c.row_no))
        ]

    def _unknown_customers(self, session: Session, job: ImportStatus) -> list[ValidationProblem]:
        assert job.id is not None
        scope = {"site_id": job.site_id, "sandbox_id": {0, job.sandbox_id}}
        missing = missing_references(session, self.staging, job.id, "customer_id", CUSTOMER_TABLE, "customer_id", scope)
        message = "Customer Id '{}' names no customer of site " + str(job.site_id)
        return [ValidationProblem(row, None, "Customer Id", value, message.format(value)) for row, value in missing]

    def _rest_of_spoiled_orders(
        self, session: Session, job_id: int, found: list[ValidationProblem]
    ) -> list[ValidationProblem]:
        """The other rows of every order that has a problem: an order lands whole or not at all."""
        spoiled_rows = {problem.row for problem in found}
        if not spoiled_rows:
            return []
        staging = self.staging
        orders = session.execute(
            select(staging.c.order_number, func.min(staging.c.row_no))
            .where(staging.c.job_id == job_id, staging.c.row_no.in_(sorted(spoiled_rows)))
            .group_by(staging.c.order_number)
        ).all()
        problems = []
        for order, first_bad in orders:
            rows = session.execute(
                select(staging.c.row_no).where(staging.c.job_id == job_id, staging.c.order_number == order)
            ).scalars()
            message = f"this row belongs to order '{order}', which has a problem in row {first_bad}"
            problems += [
                ValidationProblem(row, None, "Order Number", order, message) for row in rows if row not in spoiled_rows
            ]
        return problems

    def _apply(self, session: Session, job: ImportStatus, write: bool) -> MergeCounts:
        assert job.id is not None
        staging = self.staging
        scope = {"site_id": job.site_id, "sandbox_id": job.sandbox_id, "catalog_id": job.catalog_id}
        # An order is read with the lines of its own sandbox: a sandbox holds an order imported into it whole,
        # its lines identical to production's too; only an order wholly as production has it is left out.
        in_job = and_(staging.c.job_id == job.id, ~self._left_to_production(job))
        heads = MergePlan(ORDER_TABLE, staging, in_job & (staging.c.line_no == 1),
                          ("site_id", "sandbox_id", "order_number"), _ORDER_VALUES, scope, {}, True)  # fmt: skip
        items = MergePlan(ORDER_ITEM_TABLE, staging, in_job, ("site_id", "sandbox_id", "order_number", "line_no"),
                          _ITEM_VALUES, scope, {}, True)  # fmt: skip
        orders = int(
            session.execute(
                select(func.count()).select_from(staging).where(in_job, staging.c.line_no == 1)
            ).scalar_one()
        )
        lines = int(session.execute(select(func.count()).select_from(staging).where(in_job)).scalar_one())
        every_line = select(func.count()).select_from(staging).where(staging.c.job_id == job.id)
        left_out = int(session.execute(every_line).scalar_one()) - lines
        moved = self._same_lines_of_changed_orders(session, job)
        merge(session, heads, job.id, orders, write)
        counts = merge(session, items, job.id, lines, write)
        if write:
            self._drop_lines_no_longer_there(session, job)
        # A row is an order's line: one whose item is as stored still updates its order when the order's own
        # fields (status, total, item count...) change.
        return MergeCounts(counts.created, counts.updated + moved, counts.unchanged - moved + left_out)

    def _left_to_production(self, job: ImportStatus) -> ColumnElement[bool]:
        """A staged row of an order the sandbox does not hold and production holds exactly as staged: its own
        fields (the item count among them) and every line. The sandbox goes on showing production's order,
        which may change meanwhile without making the sandbox's promote a conflict."""
        if not job.sandbox_id:
            return false()
        # aliases: the merge's statements write the order tables, which these must never stand for
        staging, held, orders = self.staging, ORDER_TABLE.alias("held"), ORDER_TABLE.alias("production_order")
        head, line, items = staging.alias("head"), staging.alias("line"), ORDER_ITEM_TABLE.alias("production_item")
        held_here = exists().where(
            held.c.site_id == job.site_id, held.c.sandbox_id == job.sandbox_id,
            held.c.order_number == staging.c.order_number,
        )  # fmt: skip
        same_order = exists().where(
            head.c.job_id == job.id, head.c.order_number == staging.c.order_number, head.c.line_no == 1,
            orders.c.site_id == job.site_id, orders.c.sandbox_id == 0, orders.c.order_number == head.c.order_number,
            orders.c.catalog_id == job.catalog_id,
            *(orders.c[name].is_not_distinct_from(head.c[name]) for name in ORDER_FIELDS),
        )  # fmt: skip
        same_item = exists().where(
            items.c.site_id == job.site_id, items.c.sandbox_id == 0, items.c.order_number == line.c.order_number,
            items.c.line_no == line.c.line_no, items.c.catalog_id == job.catalog_id,
            *(items.c[name].is_not_distinct_from(line.c[name]) for name in ITEM_FIELDS),
        )  # fmt: skip
        other_line = exists().where(line.c.job_id == job.id, line.c.order_number == staging.c.order_number, ~same_item)
        return and_(~held_here, same_order, ~other_line)

    def _same_lines_of_changed_orders(self, session: Session, job: ImportStatus) -> int:
        """Staged lines identical to the item the import's scope shows (which the item merge counts
        unchanged) whose order's own fields differ from the order it shows: in a sandbox, its rows over
        production's."""
        staging, orders, items = self.staging, ORDER_TABLE, ORDER_ITEM_TABLE
        same_item = [
            items.c.site_id == job.site_id, visible_in(items, job.sandbox_id, ("site_id", "order_number", "line_no")),
            items.c.order_number == staging.c.order_number, items.c.line_no == staging.c.line_no,
            items.c.catalog_id == job.catalog_id,
            *(items.c[name].is_not_distinct_from(staging.c[name]) for name in ITEM_FIELDS),
        ]  # fmt: skip
        if job.sandbox_id:  # the item merge rewrites a sandbox line whose production line changed since
            production = items.alias("production")
            # The staged line is the outermost query's: named, since a subquery two levels down is not
            # correlated with it by itself (it would read every staged line: more than one version).
            version = select(production.c.updated_job_id).where(
                production.c.sandbox_id == 0, production.c.site_id == job.site_id,
                production.c.order_number == staging.c.order_number, production.c.line_no == staging.c.line_no,
            ).correlate(staging)  # fmt: skip
            same_item.append(
                or_(items.c.sandbox_id == 0, items.c.base_job_id.is_not_distinct_from(version.scalar_subquery()))
            )
        order_changed = exists().where(
            orders.c.site_id == job.site_id, visible_in(orders, job.sandbox_id, ("site_id", "order_number")),
            orders.c.order_number == staging.c.order_number,
            or_(
                orders.c.catalog_id != job.catalog_id,
                *(orders.c[name].is_distinct_from(staging.c[name]) for name in ORDER_FIELDS),
            ),
        )  # fmt: skip
        query = select(func.count()).where(staging.c.job_id == job.id, exists().where(*same_item), order_changed)
        return int(session.execute(query).scalar_one())

    def _drop_lines_no_longer_there(self, session: Session, job: ImportStatus) -> None:
        """An order imported again with fewer items loses the items past its new count."""
        items, staging = ORDER_ITEM_TABLE, self.staging
        shorter = exists().where(
            staging.c.job_id == job.id, staging.c.line_no == 1, staging.c.order_number == items.c.order_number,
            items.c.line_no > staging.c.item_count,
        )  # fmt: skip
        session.execute(
            delete(items).where(and_(items.c.site_id == job.site_id, items.c.sandbox_id == job.sandbox_id), shorter)
        )


ORDER_WRITER = OrderWriter()

"""Imports whose rows name records of other imports: addresses and orders their customers, orders their SKUs,
categories their parents, an asset manifest's lines the SKUs and categories they link. Such an import waits for
the imports of those types submitted before it into the same site or catalog to finish, so that a script that
posts customers and then their addresses, without waiting, gets both: the addresses were checked while the
customers were still being written, and failed."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.jobs import ImportState, ImportStatus
from specifications import ImportType

DEPENDS_ON: dict[ImportType, tuple[ImportType, ...]] = {
    ImportType.ADDRESS: (ImportType.CUSTOMER,),
    ImportType.ORDER: (ImportType.CUSTOMER, ImportType.PRODUCT),
    ImportType.CATEGORY: (ImportType.CATEGORY,),
    ImportType.ASSET: (ImportType.PRODUCT, ImportType.CATEGORY),
}
_BY_SITE = frozenset({ImportType.CUSTOMER, ImportType.ADDRESS, ImportType.ORDER})
_UNFINISHED = (ImportState.START_REQUESTED.value, ImportState.IN_PROCESS.value)


def earlier_import_depended_on(session: Session, job: ImportStatus) -> ImportStatus | None:
    """The first import submitted before `job`, not finished yet, that writes records `job`'s rows may name: of a
    type it depends on, into its site or catalog, in production or its own sandbox (a dry run writes nothing)."""
    kinds = DEPENDS_ON.get(ImportType(job.import_type), ())
    if not kinds:
        return None
    writes_into_scope = [
        and_(
            col(ImportStatus.import_type) == kind.value,
            col(ImportStatus.site_id) == job.site_id
            if kind in _BY_SITE
            else col(ImportStatus.catalog_id) == job.catalog_id,
        )
        for kind in kinds
    ]
    return session.exec(
        select(ImportStatus)
        .where(
            col(ImportStatus.id) < job.id,
            col(ImportStatus.state).in_(_UNFINISHED),
            col(ImportStatus.sandbox_id).in_({0, job.sandbox_id}),
            col(ImportStatus.dry_run).is_(False),
            or_(*writes_into_scope),
        )
        .order_by(col(ImportStatus.id))
        .limit(1)
    ).first()


def waiting_message(earlier: ImportStatus) -> str:
    return (
        f"waiting for import {earlier.id} ({earlier.import_type}) to finish: the rows of this import name records "
        "that import writes"
    )

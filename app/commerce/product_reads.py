"""Reading imported products back, as plain data with the specification's field names."""

from __future__ import annotations

import json

from sqlalchemy import Table, func
from sqlmodel import Session, col, select

from app.commerce.categories import category_exists
from app.commerce.overlay import visible_in
from app.commerce.products import Product, Sku


def _loads(text: str | None) -> object:
    return json.loads(text) if text else None


def _common(row: Product | Sku) -> dict[str, object]:
    return {
        "sku_number": row.sku_number,
        "catalog_id": row.catalog_id,
        "site_id": row.site_id,
        "sandbox_id": row.sandbox_id,
        "product_title": row.product_title,
        "product_description": row.product_description,
        "product_url": row.product_url,
        "retail_price": row.retail_price,
        "upc": row.upc,
        "available_quantity": row.available_quantity,
        "image_urls": _loads(row.image_urls) or [],
        "fulfillment_type": row.fulfillment_type,
        "attributes": _loads(row.attributes) or {},
        "translations": _loads(row.translations) or {},
        "created_job_id": row.created_job_id,
        "updated_job_id": row.updated_job_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _product_data(
    session: Session,
    product: Product,
    skus: list[Sku],
    sandbox_id: int,
    known: dict[tuple[int, str], bool] | None = None,
) -> dict[str, object]:
    """A product as data, read in `sandbox_id` (0: production), whose categories it sees whatever sandbox
    the product row itself is in; `known` remembers, across a page of products, which categories exist."""
    data = _common(product)
    category = product.default_category_id
    data["default_category_id"] = category
    if category is None:
        data["default_category"] = None
    else:
        known = {} if known is None else known
        if (sandbox_id, category) not in known:
            known[(sandbox_id, category)] = category_exists(session, product.catalog_id, sandbox_id, category)
        data["default_category"] = {"id": category, "pending": not known[(sandbox_id, category)]}
    data["skus"] = [_common(sku) | {"options": _loads(sku.options) or {}} for sku in skus]
    return data


_PRODUCTS: Table = Product.__table__  # type: ignore[attr-defined]
_SKUS: Table = Sku.__table__  # type: ignore[attr-defined]
_KEY = ("catalog_id", "sku_number")


def _skus_of(session: Session, product: Product, sandbox_id: int) -> list[Sku]:
    return list(
        session.exec(
            select(Sku)
            .where(
                Sku.catalog_id == product.catalog_id,
                Sku.product_sku_number == product.sku_number,
                visible_in(_SKUS, sandbox_id, _KEY),
            )
            .order_by(col(Sku.sku_number))
        )
    )


def find_product(session: Session, catalog_id: int, sandbox_id: int, sku_number: str) -> dict[str, object] | None:
    product = session.exec(
        select(Product).where(
            Product.catalog_id == catalog_id,
            Product.sku_number == sku_number.strip(),
            visible_in(_PRODUCTS, sandbox_id, _KEY),
        )
    ).first()
    if product is None:
        return None
    return _product_data(session, product, _skus_of(session, product, sandbox_id), sandbox_id)


def product_of_sku(session: Session, catalog_id: int, sandbox_id: int, sku_number: str) -> str | None:
    """The product whose SKU row this SKU Number is, if it is one."""
    return session.exec(
        select(Sku.product_sku_number).where(
            Sku.catalog_id == catalog_id, Sku.sku_number == sku_number.strip(), visible_in(_SKUS, sandbox_id, _KEY)
        )
    ).first()


def list_products(
    session: Session, catalog_id: int, sandbox_id: int, page: int, page_size: int
) -> tuple[list[dict[str, object]], int]:
    scope = (Product.catalog_id == catalog_id, visible_in(_PRODUCTS, sandbox_id, _KEY))
    total = session.exec(select(func.count()).select_from(Product).where(*scope)).one()
    products = session.exec(
        select(Product).where(*scope).order_by(col(Product.sku_number)).offset((page - 1) * page_size).limit(page_size)
    ).all()
    skus = _skus_by_product(session, catalog_id, sandbox_id, [product.sku_number for product in products])
    known: dict[tuple[int, str], bool] = {}
    found = [_product_data(session, product, skus[product.sku_number], sandbox_id, known) for product in products]
    return found, int(total)


def _skus_by_product(session: Session, catalog_id: int, sandbox_id: int, products: list[str]) -> dict[str, list[Sku]]:
    """The SKUs of a page of products, in one query (one a product made a page of 1,000 take seconds)."""
    found: dict[str, list[Sku]] = {product: [] for product in products}
    if products:
        skus = session.exec(
            select(Sku)
            .where(
                Sku.catalog_id == catalog_id,
                col(Sku.product_sku_number).in_(products),
                visible_in(_SKUS, sandbox_id, _KEY),
            )
            .order_by(col(Sku.sku_number))
        )
        for sku in skus:
            found[sku.product_sku_number].append(sku)
    return found

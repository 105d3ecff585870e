"""The writer of each import type."""

from __future__ import annotations

from app.importing.writers.assets import ASSET_WRITER
from app.importing.writers.base import ImportWriter
from app.importing.writers.categories import CATEGORY_WRITER
from app.importing.writers.customers import ADDRESS_WRITER, CUSTOMER_WRITER
from app.importing.writers.orders import ORDER_WRITER
from app.importing.writers.products import ProductWriter
from specifications import ImportType

WRITERS: dict[ImportType, ImportWriter] = {
    ImportType.PRODUCT: ProductWriter(),
    ImportType.CATEGORY: CATEGORY_WRITER,
    ImportType.CUSTOMER: CUSTOMER_WRITER,
    ImportType.ADDRESS: ADDRESS_WRITER,
    ImportType.ORDER: ORDER_WRITER,
    ImportType.ASSET: ASSET_WRITER,
}

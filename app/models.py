"""Imports every module that defines tables, so that SQLModel.metadata knows them all."""

import app.tokens  # noqa: F401  (the api_token table)
from app import accounts, jobs, storage
from app.commerce import assets, categories, customers, orders, products, sandboxes
from app.importing import sheet_pieces

__all__ = [
    "accounts", "assets", "categories", "customers", "jobs", "orders", "products", "sandboxes", "sheet_pieces",
    "storage",
]  # fmt: skip

"""Imports every module that defines tables, so that SQLModel.metadata knows them all."""

from app import accounts, jobs, storage
from app.commerce import categories, customers, products

__all__ = ["accounts", "categories", "customers", "jobs", "products", "storage"]

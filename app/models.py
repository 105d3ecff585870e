"""Imports every module that defines tables, so that SQLModel.metadata knows them all."""

from app import accounts, jobs, storage
from app.commerce import categories, products

__all__ = ["accounts", "categories", "jobs", "products", "storage"]

"""Import specifications as data: every known specification, found by name and import type."""

from specifications.asset import DEFAULT_ASSET
from specifications.category import DEFAULT_CATEGORY
from specifications.customer import DEFAULT_ADDRESS, DEFAULT_CUSTOMER
from specifications.model import (
    Column,
    ColumnFamily,
    ColumnKind,
    ImportType,
    Requirement,
    Specification,
)
from specifications.order import DEFAULT_ORDER
from specifications.product import DEFAULT_PRODUCT

SPECIFICATIONS: tuple[Specification, ...] = (
    DEFAULT_PRODUCT,
    DEFAULT_CATEGORY,
    DEFAULT_CUSTOMER,
    DEFAULT_ADDRESS,
    DEFAULT_ORDER,
    DEFAULT_ASSET,
)

# Specifications a deployment adds at start-up (IMPORTER_SPECIFICATIONS_DIR), after the built-in ones.
_added: list[Specification] = []


def all_specifications() -> tuple[Specification, ...]:
    return (*SPECIFICATIONS, *_added)


def register(spec: Specification) -> None:
    if any(known.name.lower() == spec.name.lower() for known in all_specifications()):
        raise ValueError(f"a specification named '{spec.name}' already exists")
    _added.append(spec)


def forget_added() -> None:
    _added.clear()


def specifications_for(import_type: ImportType) -> tuple[Specification, ...]:
    return tuple(spec for spec in all_specifications() if spec.import_type is import_type)


def find_specification(import_type: ImportType, name: str) -> Specification | None:
    wanted = name.strip().lower()
    for spec in specifications_for(import_type):
        if spec.name.lower() == wanted:
            return spec
    return None


__all__ = [
    "SPECIFICATIONS",
    "Column",
    "ColumnFamily",
    "ColumnKind",
    "ImportType",
    "Requirement",
    "Specification",
    "all_specifications",
    "find_specification",
    "forget_added",
    "register",
    "specifications_for",
]

"""DefaultOrderImportSpecification: orders with their items, one item per row.

An order spans the consecutive rows that share its Order Number; its total is computed from
the items and checked against Order Total when that column is given.
"""

from specifications.model import Column, ColumnKind, ImportType, Requirement, Specification

DEFAULT_ORDER = Specification(
    name="DefaultOrderImportSpecification",
    import_type=ImportType.ORDER,
    description="Orders of a site keyed by Order Number; one row per item, an order's rows consecutive.",
    columns=(
        Column("Order Number", "order_number", ColumnKind.IDENTIFIER, Requirement.REQUIRED, "External id.", key=True),
        Column("Customer Id", "customer_id", ColumnKind.IDENTIFIER, description="A customer of the same site."),
        Column("Email Address", "email_address", ColumnKind.EMAIL),
        Column("Status", "status", ColumnKind.TEXT, description="e.g. SUBMITTED.", max_length=100),
        Column("Submit Date", "submit_date", ColumnKind.DATE),
        Column("Currency", "currency", ColumnKind.CURRENCY, description="ISO 4217 code."),
        Column("Order Total", "order_total", ColumnKind.DECIMAL, description="Checked against the items' total."),
        Column("SKU Number", "sku_number", ColumnKind.IDENTIFIER, Requirement.REQUIRED, "A SKU of the catalog."),
        Column("Quantity", "quantity", ColumnKind.INTEGER, Requirement.REQUIRED, "1 or more.", minimum=1),
        Column("Item Price", "item_price", ColumnKind.DECIMAL, Requirement.REQUIRED, "0 or more.", minimum=0),
    ),
    group_by="order_number",
    example={
        "Order Number": "SO-1001",
        "Customer Id": "C-1001",
        "Email Address": "ana@example.com",
        "Status": "SUBMITTED",
        "Submit Date": "2024-03-01T10:00:00Z",
        "Currency": "EUR",
        "Order Total": "7.98",
        "SKU Number": "2011",
        "Quantity": "2",
        "Item Price": "3.99",
    },
)

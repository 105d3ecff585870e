"""DefaultCustomerImportSpecification and DefaultCustomerAddressImportSpecification."""

from specifications.model import Column, ColumnFamily, ColumnKind, ImportType, Requirement, Specification

CLEAR_TEXT_REFUSAL = (
    "passwords cannot be imported: they would travel and be kept in clear text; customers set their own"
)

DEFAULT_CUSTOMER = Specification(
    name="DefaultCustomerImportSpecification",
    import_type=ImportType.CUSTOMER,
    description="Customers of a site, keyed by Customer Id.",
    columns=(
        Column("Customer Id", "customer_id", ColumnKind.IDENTIFIER, Requirement.REQUIRED, "External id.", key=True),
        Column("Username", "username", ColumnKind.TEXT, description="Login name.", max_length=255),
        Column("Email Address", "email_address", ColumnKind.EMAIL, Requirement.REQUIRED, "A valid email address."),
        Column("First Name", "first_name", ColumnKind.TEXT),
        Column("Last Name", "last_name", ColumnKind.TEXT),
        Column(
            "Active",
            "active",
            ColumnKind.FLAG,
            default=True,
            description="Y/N (or Yes/No, True/False, 1/0). Left out or empty: a new customer is active, an "
            "existing one keeps its flag; N deactivates.",
        ),
        Column(
            "Tax Exempt",
            "tax_exempt",
            ColumnKind.FLAG,
            default=False,
            description="Y/N (or Yes/No, True/False, 1/0). Left out or empty: a new customer is not exempt, an "
            "existing one keeps its flag.",
        ),
    ),
    families=(ColumnFamily("CustomerAttribute", "attributes", "A customer attribute; the name may be new."),),
    refused_headers={"password": CLEAR_TEXT_REFUSAL, "customer password": CLEAR_TEXT_REFUSAL},
    example={
        "Customer Id": "C-1001",
        "Username": "ana",
        "Email Address": "ana@example.com",
        "First Name": "Ana",
        "Last Name": "García",
        "Active": "Y",
        "Tax Exempt": "N",
    },
)

DEFAULT_ADDRESS = Specification(
    name="DefaultCustomerAddressImportSpecification",
    import_type=ImportType.ADDRESS,
    description="Customer addresses, keyed by Customer Id and Address Name; the customer must exist.",
    columns=(
        Column(
            "Customer Id", "customer_id", ColumnKind.IDENTIFIER, Requirement.REQUIRED, "An existing customer.", key=True
        ),
        Column("Address Name", "address_name", ColumnKind.IDENTIFIER, Requirement.REQUIRED, "e.g. Home.", key=True),
        Column("First Name", "first_name", ColumnKind.TEXT),
        Column("Last Name", "last_name", ColumnKind.TEXT),
        Column("Address Line 1", "address_line1", ColumnKind.TEXT, Requirement.REQUIRED),
        Column("Address Line 2", "address_line2", ColumnKind.TEXT),
        Column("Address Line 3", "address_line3", ColumnKind.TEXT),
        Column("City", "city", ColumnKind.TEXT, Requirement.REQUIRED),
        Column("State/Province", "state_province", ColumnKind.TEXT),
        Column("Postal Code", "postal_code", ColumnKind.CODE, description="Leading zeros kept.", max_length=40),
        Column("Country", "country", ColumnKind.COUNTRY, description="ISO 3166 two-letter code."),
        Column("Phone", "phone", ColumnKind.CODE, max_length=60),
        Column("Default Shipping", "default_shipping", ColumnKind.FLAG),
        Column("Default Billing", "default_billing", ColumnKind.FLAG),
    ),
    example={
        "Customer Id": "C-1001",
        "Address Name": "Home",
        "Address Line 1": "Calle Mayor 1",
        "City": "Madrid",
        "Postal Code": "28013",
        "Country": "ES",
        "Default Shipping": "Y",
    },
)

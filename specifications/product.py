"""DefaultProductImportSpecification: the columns of Broadleaf's default product import."""

from specifications.model import (
    Column,
    ColumnFamily,
    ColumnKind,
    ImportType,
    Requirement,
    Specification,
)

DEFAULT_PRODUCT = Specification(
    name="DefaultProductImportSpecification",
    import_type=ImportType.PRODUCT,
    description="Products and their additional SKUs, keyed by SKU Number within a catalog.",
    columns=(
        Column(
            "SKU Number",
            "sku_number",
            ColumnKind.IDENTIFIER,
            Requirement.REQUIRED,
            "External id of the product (or of the SKU on a SKU row); importing it again updates it.",
            key=True,
        ),
        Column(
            "SKU Indicator",
            "sku_indicator",
            ColumnKind.FLAG,
            description="Y, Yes, True or 1 marks an additional SKU of the product row above it.",
        ),
        Column("Product URL", "product_url", ColumnKind.URL, description="The product's URL path."),
        Column(
            "Product Title",
            "product_title",
            ColumnKind.TEXT,
            Requirement.REQUIRED,
            "The product's name.",
            translatable=True,
        ),
        Column(
            "Product Description",
            "product_description",
            ColumnKind.TEXT,
            Requirement.REQUIRED_ON_PARENT_ROWS,
            "Long description; required on product rows, not on SKU rows.",
            translatable=True,
        ),
        Column(
            "Default Category Id",
            "default_category_id",
            ColumnKind.IDENTIFIER,
            description="Category of the same catalog; one not imported yet is kept as a pending reference.",
        ),
        Column("Retail Price", "retail_price", ColumnKind.DECIMAL, Requirement.REQUIRED, "Price, a decimal."),
        Column(
            "UPC", "upc", ColumnKind.CODE, description="Universal Product Code; leading zeros kept.", max_length=255
        ),
        Column("Available Quantity", "available_quantity", ColumnKind.INTEGER, description="Units in stock."),
        Column(
            "Image Url(s)",
            "image_urls",
            ColumnKind.URL_LIST,
            description="One or more `|`-separated images, each `url` or `key:url`.",
        ),
        Column(
            "Fulfillment Type", "fulfillment_type", ColumnKind.TEXT, description="e.g. PHYSICAL_SHIP.", max_length=100
        ),
    ),
    families=(
        ColumnFamily("ProductAttribute", "attributes", "A product attribute; the name may be new."),
        ColumnFamily(
            "options",
            "options",
            "An option value that tells SKUs apart; at least one is required on SKU rows.",
            Requirement.REQUIRED_ON_CHILD_ROWS,
        ),
    ),
    child_flag="sku_indicator",
    example={
        "SKU Number": "2011",
        "SKU Indicator": "",
        "Product Title": "ProductB2011",
        "Product Description": "ProductB2011 is awesome!!!",
        "Default Category Id": "2007",
        "Product URL": "/mens/ProductB2011",
        "Retail Price": "3.99",
        "UPC": "02822011",
        "Available Quantity": "300",
    },
)

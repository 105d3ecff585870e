"""DefaultAssetImportSpecification: a ZIP of media files, with an optional manifest.csv linking them.

The service reads the archive itself; these columns are what each asset record holds, and the
manifest's columns (File Name, SKU Number or Category Id, Alt Text) are those it reads.
"""

from specifications.model import Column, ColumnKind, ImportType, Requirement, Specification

MANIFEST = "manifest.csv"

DEFAULT_ASSET = Specification(
    name="DefaultAssetImportSpecification",
    import_type=ImportType.ASSET,
    description="A ZIP of media files (images, PDFs, any media), stored once per content; manifest.csv links them.",
    columns=(
        Column("File Name", "file_name", ColumnKind.TEXT, Requirement.REQUIRED, "Its path in the ZIP.", key=True),
        Column("Content Type", "content_type", ColumnKind.TEXT, Requirement.REQUIRED, "Detected from its bytes."),
        Column("Size", "size", ColumnKind.INTEGER, Requirement.REQUIRED, "Bytes."),
        Column("SHA256", "sha256", ColumnKind.CODE, Requirement.REQUIRED, "The content's SHA-256, hex."),
        Column("Storage Key", "storage_key", ColumnKind.CODE, Requirement.REQUIRED, "Where the bytes are kept."),
        Column("SKU Number", "sku_number", ColumnKind.IDENTIFIER, description="manifest.csv: a product or SKU."),
        Column("Category Id", "category_id", ColumnKind.IDENTIFIER, description="manifest.csv: a category."),
        Column("Alt Text", "alt_text", ColumnKind.TEXT, description="manifest.csv: the text shown in its place."),
    ),
    example={"File Name": "images/2011.jpg", "SKU Number": "2011", "Alt Text": "ProductB2011, front"},
)

"""DefaultCategoryImportSpecification: categories of a catalog, keyed by Category Id."""

from specifications.model import Column, ColumnKind, ImportType, Requirement, Specification

DEFAULT_CATEGORY = Specification(
    name="DefaultCategoryImportSpecification",
    import_type=ImportType.CATEGORY,
    description="Categories keyed by Category Id within a catalog; a parent may come later in the same file.",
    columns=(
        Column("Category Id", "category_id", ColumnKind.IDENTIFIER, Requirement.REQUIRED, "External id.", key=True),
        Column("Category Name", "category_name", ColumnKind.TEXT, Requirement.REQUIRED, "Name.", translatable=True),
        Column(
            "Parent Category Id",
            "parent_category_id",
            ColumnKind.IDENTIFIER,
            description="A category of the same catalog, in this file or already imported; cycles are refused.",
        ),
        Column("Category URL", "category_url", ColumnKind.URL, description="The category's URL path."),
        Column("Description", "description", ColumnKind.TEXT, description="Long description.", translatable=True),
        Column("Display Order", "display_order", ColumnKind.INTEGER, description="Position among its siblings."),
        Column("Active Start Date", "active_start_date", ColumnKind.DATE, description="Shown from this date."),
        Column(
            "Active End Date",
            "active_end_date",
            ColumnKind.DATE,
            description="Shown until this date; not before Active Start Date.",
        ),
    ),
    date_ranges=(("active_start_date", "active_end_date", "the category would never be shown"),),
    example={
        "Category Id": "2007",
        "Category Name": "Mens",
        "Parent Category Id": "2001",
        "Category URL": "/mens",
        "Description": "Everything for men",
        "Display Order": "1",
        "Active Start Date": "2024-01-01",
    },
)

"""The commerce tables that imports write, one module per entity family."""

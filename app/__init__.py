"""Importer: bulk data import for a commerce back office."""

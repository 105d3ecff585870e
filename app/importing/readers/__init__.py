"""Readers turn an upload's bytes into header cells and numbered rows."""

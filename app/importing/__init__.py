"""The import pipeline: readers, validation, writers and the plan/chunk/finalize steps."""

"""Benchmarks of the import service against baselines measured in the same run (`python -m bench`)."""

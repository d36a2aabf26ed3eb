"""Operator tooling for a deployed stack: `python -m ops backup|verify|smoke|preflight|job` (docs/operations.md)."""

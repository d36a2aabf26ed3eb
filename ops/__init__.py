"""Operator tooling for a deployed stack: `python -m ops backup|verify|smoke` (docs/operations.md)."""

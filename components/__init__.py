"""Reusable ComponentResources, one tier per module."""

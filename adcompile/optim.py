"""Compiled optimizer loops (placeholder)."""

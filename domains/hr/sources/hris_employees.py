"""Synthetic HR system extract: deterministic for a given scale and seed."""

"""Deterministic stand-ins for tests, examples and demos (no network, no weights)."""

"""Casebook: logs online abuse of school staff as cases and follows them up."""

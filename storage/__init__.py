"""Casebook's storage: the domain model, its repositories, and the stores that hold them."""

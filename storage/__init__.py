"""Casebook's storage: SQLite through aiosqlite, behind small repository protocols."""

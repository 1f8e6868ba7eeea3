"""Savepoints: one piece of work inside a larger transaction that can fail on its own.

The worker handles several inbox items in one transaction (one commit, one sync to disk, for
all of them); each item runs inside a savepoint, so an item that fails undoes only its own
writes and the items before it are still committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.sql import SqlConnection


class SqlSavepoints:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    @asynccontextmanager
    async def around(self) -> AsyncIterator[None]:
        """Undo everything written inside the block if it raises (the error goes on)."""
        await self._db.execute("SAVEPOINT piece")
        try:
            yield
        except BaseException:
            await self._db.execute("ROLLBACK TO piece")
            await self._db.execute("RELEASE piece")
            raise
        await self._db.execute("RELEASE piece")

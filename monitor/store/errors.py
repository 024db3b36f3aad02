"""The store's one error for users: a database that cannot be used, said in one line."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be used; str() is one line naming the file and what to do."""

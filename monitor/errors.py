"""User-facing errors: problems with a file (one line each, naming file, line and key), and a database
that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a config or rule file."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class InvalidFiles(Exception):
    """Raised with every problem found; str() is one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class StoreError(Exception):
    """The database cannot be used; str() is one line naming the file and what to do."""


class Refused(Exception):
    """monitor will not go on as asked (a start, a command); str() is one line saying why and what to do."""

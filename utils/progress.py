"""Progress and status callbacks: how library code reports progress without printing.

Library functions take an optional ``reporter`` (anything with the :class:`Reporter` methods); the CLI
passes one that draws on the terminal, everyone else gets :data:`SILENT`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol


class Task(Protocol):
    """A running task's handle: advance or relabel it."""

    def advance(self, amount: float = 1) -> None:
        """Advance the task by ``amount`` units."""

    def update(self, **kwargs: Any) -> None:
        """Change the task's fields (``description``, ``total``, ...)."""


class Reporter(Protocol):
    """Where library code sends status lines and progress."""

    def info(self, message: str) -> None:
        """One status line."""

    def progress(self, description: str, total: float | None = None) -> AbstractContextManager[Task]:
        """A context manager around a task of ``total`` units (``None``: unknown)."""


class NullTask:
    """A task handle that does nothing."""

    def advance(self, amount: float = 1) -> None:
        """Do nothing."""

    def update(self, **kwargs: Any) -> None:
        """Do nothing."""


class SilentReporter:
    """A reporter that reports nothing (the default of every library function)."""

    def info(self, message: str) -> None:
        """Do nothing."""

    @contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[Task]:
        """Yield a :class:`NullTask`."""
        yield NullTask()


#: The reporter used when none is passed.
SILENT = SilentReporter()

"""Terminal output shared by the CLI commands: quiet/progress handling and tables (JSON: :mod:`migravity.utils.jsonio`).

Library code never prints; only CLI command functions use these helpers. Rich is imported when a
console, table or progress bar is first needed, so ``import migravity.cli`` (and ``--help``) stay fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migravity.utils.progress import NullTask

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


@dataclass
class AppState:
    """Options common to every subcommand, set by the root callback."""

    data_dir: Path | None = None
    quiet: bool = False
    debug: bool = False
    out: Console = field(default_factory=_console)
    err: Console = field(default_factory=lambda: _console(stderr=True))

    def __post_init__(self) -> None:
        if self.quiet:
            self.set_quiet()

    def set_quiet(self) -> None:
        """``--quiet``: nothing printed but errors (tables, reports and status lines included)."""
        self.quiet = True
        self.out.quiet = self.err.quiet = True

    def json_on_stdout(self) -> None:
        """``--json -``: stdout carries the JSON alone; what would be printed there goes to stderr."""
        self.out = self.err

    @property
    def interactive(self) -> bool:
        """True when progress should be shown: a terminal on stderr and not ``--quiet``."""
        return not self.quiet and self.err.is_terminal

    @contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[Any]:
        """A progress bar on stderr on a terminal; a no-op object when piped or quiet."""
        if not self.interactive:
            yield NullTask()
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        columns = [TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=self.err, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield _TaskHandle(bar, task)

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Print a table on stdout (stderr under ``--json -``), no cell ever cut short with "…".

        On a terminal long cells wrap within their column; piped or redirected the table is printed at
        its natural width (one line per row, whatever the console width), so scripts read every value.
        """
        print_table(self.out, title, columns, rows)

    def text(self, text: str) -> None:
        """Print plain text on stdout (stderr under ``--json -``, nowhere under ``--quiet``)."""
        self.out.print(text, markup=False, highlight=False, soft_wrap=True)

    def report(self, text: str, json_out: str | None = None) -> None:
        """Print a plain-text report: on stdout, or on stderr (nowhere when quiet) when ``--json -``
        makes stdout carry the JSON alone (``json_out`` is kept for callers; the routing is the state's)."""
        if json_out == "-" and self.out is not self.err:
            self.json_on_stdout()
        self.text(text)

    def info(self, message: str) -> None:
        """Print a status line on stderr unless quiet."""
        if not self.quiet:
            self.err.print(message)


class _TaskHandle:
    def __init__(self, bar: Progress, task: Any) -> None:
        self._bar = bar
        self._task = task

    def advance(self, amount: float = 1) -> None:
        self._bar.advance(self._task, amount)

    def update(self, **kwargs: Any) -> None:
        self._bar.update(self._task, **kwargs)


def print_table(console: Console, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a rich table on ``console``: cells fold instead of being cut with "…"; off a terminal,
    at the table's natural width (never narrower than the console)."""
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[_fmt(v) for v in r])
    if not console.is_terminal:
        from rich.console import Console
        from rich.measure import Measurement

        natural = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
        if natural > console.width:  # a console as wide as the table, on the same file
            console = Console(file=console.file, width=natural, quiet=console.quiet, force_terminal=False,
                              no_color=console.no_color)
    console.print(table)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "" if v is None else str(v)

"""Helpers shared by the CLI tests (importable because pytest puts ``tests/`` on ``sys.path``).

The commands run in the test process (:func:`run`, :func:`invoke`): a subprocess would pay Python's
start-up and the library imports again for every call. ``tests/cli/test_console_script.py`` keeps
the real ``migravity`` console script covered.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer

import migravity.cli as cli


@dataclass(frozen=True)
class CliResult:
    """What ``migravity ARGS`` did: exit code and output, like :class:`subprocess.CompletedProcess`."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class MainJob:
    """``migravity report --json`` (the README's main job) run once: what it printed, wrote and computed."""

    returncode: int
    stdout: str
    stderr: str
    payload: dict[str, Any]
    returned: dict[str, Any] = field(default_factory=dict)  # the analysis functions' results, by name
    html: Path | None = None  # the report page written with --html


def run(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> CliResult:
    """Run ``migravity ARGS`` (the whole app) in this process, capturing stdout and stderr.

    ``env`` sets environment variables for the call (``None`` removes one); exit codes are those of
    :func:`migravity.cli.main`, the console script's entry point.
    """
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        for key, value in (env or {}).items():
            if value is None:
                mp.delenv(key, raising=False)
            else:
                mp.setenv(key, value)
        try:
            cli.main(list(args))
        except SystemExit as e:
            code = e.code
        else:  # pragma: no cover - main always exits
            code = 0
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return CliResult(returncode, out.getvalue(), err.getvalue())


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, register: Callable[[typer.Typer], None]) -> int:
    """Run ``migravity ARGS`` through :func:`migravity.cli.main` on an app holding ``register``'s commands."""
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.callback()(cli.root)
    register(app)
    monkeypatch.setattr(cli, "app", app)
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    return int(exc.value.code or 0)

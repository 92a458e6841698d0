"""Helpers shared by the CLI tests (importable because pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import typer

import migravity.cli as cli


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, register: Callable[[typer.Typer], None]) -> int:
    """Run ``migravity ARGS`` through :func:`migravity.cli.main` on an app holding ``register``'s commands."""
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.callback()(cli.root)
    register(app)
    monkeypatch.setattr(cli, "app", app)
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    return int(exc.value.code or 0)

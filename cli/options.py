"""What every command of the ``migravity`` app gets on top of its own options.

:func:`finish` is applied to the click command tree built from the typer app (by
:func:`migravity.cli.main`, before parsing):

* the global flags (``--quiet``, ``--data-dir``, ``--debug``, ``--accept-changed-data``) are also
  accepted after the subcommand (``migravity run baseline --quiet``), unless the command has an
  option of that name itself (``validate --data-dir``);
* ``--json -`` sends everything the command would print on stdout (tables, reports) to stderr, so
  stdout carries the JSON alone;
* flags show no ``<bool>`` type in the help;
* ``run --help`` lists the library scenarios.

The command tree is typer's (its own copy of click), so parameters are recognised by their
attributes and the global options are copies of the root command's own. Nothing heavy is imported:
``import migravity.cli`` stays free of NumPy & co.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migravity.cli.console import AppState

__all__ = ["GLOBAL_FLAGS", "finish", "library_names", "state_of"]

#: The root's options also accepted after the subcommand.
GLOBAL_FLAGS = ("--quiet", "--data-dir", "--debug", "--accept-changed-data")

_LIBRARY = Path(__file__).resolve().parents[1] / "scenarios" / "library"


def library_names() -> tuple[str, ...]:
    """The library scenarios' names, read from the package directory without importing the scenario
    code (the same as :func:`migravity.scenarios.spec.library_names`)."""
    try:
        return tuple(sorted(p.name[:-5] for p in _LIBRARY.iterdir() if p.name.endswith(".toml")))
    except OSError:  # pragma: no cover - an installed package always carries its library
        return ()


def state_of(ctx: Any) -> AppState:
    """The :class:`AppState` of the invocation (made, and stored on ``ctx``, when there is none)."""
    state = ctx.find_object(AppState)
    if state is None:
        state = AppState()
        ctx.obj = state
    return state


def _set_global(name: str) -> Callable[[Any, Any, Any], Any]:
    def callback(ctx: Any, param: Any, value: Any) -> Any:
        if value is None or value is False:
            return value
        state = state_of(ctx)
        if name == "--quiet":
            state.set_quiet()
        elif name == "--debug":
            state.debug = True
        elif name == "--data-dir":
            from migravity.cli import _data_dir

            state.data_dir = _data_dir(value)
        elif name == "--accept-changed-data":
            import os

            from migravity.geodata.datadir import ACCEPT_CHANGED_ENV

            os.environ[ACCEPT_CHANGED_ENV] = "1"
        return value

    return callback


def _json_callback(previous: Any) -> Callable[[Any, Any, Any], Any]:
    def callback(ctx: Any, param: Any, value: Any) -> Any:
        if previous is not None:
            value = previous(ctx, param, value)
        if value == "-":
            state_of(ctx).json_on_stdout()
        return value

    return callback


def _hide_flag_type(option: Any) -> None:
    if getattr(option, "is_flag", False) and option.metavar is None:
        option.metavar = ""  # typer's rich help shows the metavar instead of "<bool>"


def _finish_command(command: Any, globals_from: list[Any]) -> None:
    if not hasattr(command, "params"):  # not a click command (a test's stand-in)
        return
    names = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for param in command.params:
        _hide_flag_type(param)
        if "--json" in param.opts:
            param.callback = _json_callback(param.callback)
    for option in globals_from:
        if names.intersection(option.opts):
            continue  # the command's own option of that name wins (validate --data-dir)
        extra = copy.copy(option)
        extra.expose_value = False
        extra.callback = _set_global(option.opts[0])
        extra.help = (option.help or "").rstrip(".") + " (also after the subcommand)."
        command.params.append(extra)
    original = command.get_help_option

    def get_help_option(ctx: Any) -> Any | None:
        option = original(ctx)
        if option is not None:
            _hide_flag_type(option)
        return option

    command.get_help_option = get_help_option
    if command.name == "run":
        names_list = ", ".join(library_names())
        command.help = (command.help or "").rstrip() + f"\n\nLibrary scenarios: {names_list}."


def finish(command: Any, globals_from: list[Any] | None = None) -> Any:
    """Apply the module's additions to ``command`` (the root app) and every subcommand, in place; returns it."""
    if globals_from is None:  # the root: it has the global options itself
        _finish_command(command, [])
        globals_from = [p for p in getattr(command, "params", []) if set(p.opts).intersection(GLOBAL_FLAGS)]
    else:
        _finish_command(command, globals_from)
    for sub in getattr(command, "commands", {}).values():
        finish(sub, globals_from)
    return command

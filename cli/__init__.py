"""The ``migravity`` command line: ``data``, ``calibrate`` and (as they land) ``run``, ``export``, ``plot``.

Errors print one line on stderr and exit with code 2 for bad input (:class:`InputError`) and 1
for any other failure; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from migravity.cli.console import AppState
from migravity.errors import ConfigError, InputError, MigravityError

app = typer.Typer(
    name="migravity",
    help="Spatial-interaction models of UK internal migration, WFH and housing-cost scenarios.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from migravity.utils.version import __version__

        typer.echo(f"migravity {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        str | None,
        typer.Option("--data-dir", help="Data directory (default: $MIGRAVITY_DATA, else a per-user cache)."),
    ] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No output but errors (no tables, reports, progress or status lines).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on error.")] = False,
    accept_changed_data: Annotated[bool, typer.Option(
        "--accept-changed-data",
        help="Use data files whose checksum differs from the registry (recorded in JSON outputs); "
             "same as MIGRAVITY_ACCEPT_CHANGED_DATA=1.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Spatial-interaction models of UK internal migration, WFH and housing-cost scenarios."""
    if accept_changed_data:
        import os

        from migravity.geodata.datadir import ACCEPT_CHANGED_ENV

        os.environ[ACCEPT_CHANGED_ENV] = "1"  # seen by every load, also in worker processes
    ctx.obj = AppState(data_dir=_data_dir(data_dir), quiet=quiet, debug=debug)


def _data_dir(value: str | None) -> Path | None:
    """``--data-dir`` checked: an empty value (which would mean the current directory) or a file is refused."""
    if value is None:
        return None
    if value.strip() == "":
        raise ConfigError("--data-dir", value, "give a directory; an empty value would mean the current directory "
                                               "(write --data-dir . for that)")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError("--data-dir", value, "is a file: give the data directory")
    return path


def _register() -> None:
    from migravity.cli.calibrate import register as register_engine
    from migravity.cli.data import register as register_geodata
    from migravity.cli.export import register as register_export
    from migravity.cli.identify import register as register_identify
    from migravity.cli.places import register as register_places
    from migravity.cli.report import register as register_report
    from migravity.cli.scenarios import register as register_scenarios
    from migravity.cli.validate import register as register_validate

    register_geodata(app)
    register_engine(app)
    register_report(app)
    register_scenarios(app)
    register_export(app)
    register_places(app)
    register_identify(app)
    register_validate(app)


_register()


#: Argument of the KeyboardInterrupt raised on SIGTERM (tells the exit code 143 from Ctrl-C's 130).
_SIGTERM_MESSAGE = "SIGTERM"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`KeyboardInterrupt` as SIGINT does.

    So ``finally`` blocks (temporaries removed, locks released) run when the process is asked to
    stop. The previous handler is restored on exit. Outside the main thread (where handlers cannot
    be set) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(_SIGTERM_MESSAGE)

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; maps errors to exit codes.

    Ctrl-C (SIGINT) and SIGTERM both stop the command cleanly: one line on stderr (``interrupted``)
    and exit code 130 (SIGINT) or 143 (SIGTERM), after the command's cleanup has run.
    """
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    from migravity.cli.options import finish

    command = finish(typer.main.get_command(app))
    try:
        with sigterm_as_interrupt():
            rc = command.main(args=args, prog_name="migravity", standalone_mode=False)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    except typer.TyperException as e:  # usage errors: unknown option, bad value, missing argument
        show = getattr(e, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"migravity: error: {e}\n")
        sys.exit(2)
    except MigravityError as e:
        if debug:  # the traceback, then the same line and exit code as without --debug
            import traceback

            traceback.print_exc(file=sys.stderr)
        sys.stderr.write(f"migravity: error: {e}\n")
        sys.exit(2 if isinstance(e, InputError) else 1)
    except KeyboardInterrupt as e:
        sys.stderr.write("interrupted\n")
        sys.exit(143 if e.args == (_SIGTERM_MESSAGE,) else 130)
    sys.exit(rc if isinstance(rc, int) else 0)

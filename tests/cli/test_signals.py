"""SIGTERM stops the command line as Ctrl-C does: cleanup runs, one line, exit 143."""

from __future__ import annotations

import os
import signal

import pytest

from migravity import cli


def test_sigterm_raises_keyboard_interrupt_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(KeyboardInterrupt), cli.sigterm_as_interrupt():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) == before


def test_main_exits_143_on_sigterm(monkeypatch, capsys):
    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("not interrupted")

    monkeypatch.setattr(cli.typer.main, "get_command", lambda app: type("C", (), {"main": terminated})())
    with pytest.raises(SystemExit) as exc:
        cli.main(["data", "status"])
    assert exc.value.code == 143
    assert capsys.readouterr().err == "interrupted\n"


def test_signals_held_back_during_the_renames_are_delivered_after():
    from migravity.utils.atomic import signals_held

    reached = []
    with pytest.raises(KeyboardInterrupt), cli.sigterm_as_interrupt():
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("end of the block")
        reached.append("after")
    assert reached == ["end of the block"]

"""Atomic writes: write to a temporary file (or directory) beside the target, then rename over it.

:func:`atomic_path` and :func:`atomic_write` replace one file (or one directory store);
:func:`atomic_dir` writes a whole directory of files as one unit, under a lock against concurrent
writers (:func:`locked`); :func:`atomic_files` puts a set of files in place together.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The writer may create a file or a directory (a Zarr store) there. On any exception the
    temporary file or directory is removed and ``target`` is left untouched, so no
    half-written file is ever visible under the final name.

    Parameters
    ----------
    target : path-like
        The final file name. Its directory must exist (it is created if missing).
    suffix : str, optional
        Suffix of the temporary file (defaults to the target's suffix, which some writers
        use to choose a format).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.part-", suffix=target.suffix if suffix is None else suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers that refuse to overwrite (e.g. GDAL) get a free name
    try:
        yield tmp_path
        if tmp_path.is_dir() and target.is_dir():
            # a directory store (e.g. Zarr) cannot be renamed over a non-empty one: move the old aside
            old = tmp_path.with_name(tmp_path.name + ".old")
            os.replace(target, old)
            os.replace(tmp_path, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_path, target)
    except BaseException:
        _remove(tmp_path)
        raise


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and rename the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)


# --- whole directories ---------------------------------------------------------------------------------

#: Marks of the hidden siblings :func:`atomic_dir` makes beside a target ``NAME``: ``.NAME.tmp-PID-RANDOM``
#: (the directory being written), ``.NAME.old-PID-RANDOM`` (the replaced one, being removed) and
#: ``.NAME.lock`` (the writer's lock, holding its pid).
_TMP_MARK, _OLD_MARK, _LOCK_MARK = ".tmp-", ".old-", ".lock"


def pid_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists on this machine (``False`` for pids <= 0)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def lock_path(target: str | os.PathLike[str]) -> Path:
    """The lock file of ``target`` used by :func:`atomic_dir`: ``.NAME.lock`` beside it."""
    target = Path(target)
    return target.with_name(f".{target.name}{_LOCK_MARK}")


def _lock_owner(lock: Path) -> int | None:
    """The pid written in ``lock``; ``None`` when it cannot be read (gone, or still being written)."""
    try:
        text = lock.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


#: Age (seconds) after which a lock file without a pid (its writer stopped between creating and
#: filling it) counts as stale.
_UNREADABLE_LOCK_S = 60.0


def _older_than(path: Path, seconds: float) -> bool:
    import time

    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _acquire(lock: Path, target: Path) -> None:
    from migravity.errors import ConfigError

    for _ in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _lock_owner(lock)
            if (not pid_alive(owner)) if owner is not None else _older_than(lock, _UNREADABLE_LOCK_S):
                # stale: its writer died without cleaning up; move it aside (one taker wins) and retry
                try:
                    os.replace(lock, lock.with_name(f"{lock.name}.stale-{os.getpid()}-{secrets.token_hex(4)}"))
                except FileNotFoundError:
                    continue
                for stale in lock.parent.glob(f"{glob.escape(lock.name)}.stale-{os.getpid()}-*"):
                    stale.unlink(missing_ok=True)
                continue
            who = f"process {owner}" if owner is not None else "another process"
            raise ConfigError(
                "--out", str(target),
                f"{who} is writing it (lock {lock}); wait for it to finish, choose another directory, or "
                f"remove {lock} if no migravity process is running",
            ) from None
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()}\n")
        return
    raise ConfigError("--out", str(target), f"cannot take the lock {lock}; remove it if no migravity process runs")


def _owner_pid(name: str, prefix: str) -> int | None:
    rest = name[len(prefix):]
    pid = rest.split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def remove_stale(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of :func:`atomic_dir` left beside ``target`` by processes that are gone.

    Parameters
    ----------
    target : path-like
        The final directory.

    Returns
    -------
    list of pathlib.Path
        The temporaries removed.
    """
    target = Path(target)
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for mark in (_TMP_MARK, _OLD_MARK):
        prefix = f".{target.name}{mark}"
        for path in target.parent.glob(f"{glob.escape(prefix)}*"):
            pid = _owner_pid(path.name, prefix)
            if pid is not None and pid != os.getpid() and not pid_alive(pid):
                _remove(path)
                removed.append(path)
    return removed


@contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``target``; swap it into place on success.

    The writer fills the temporary directory (``.NAME.tmp-PID-RANDOM``); when the block ends
    without an exception it becomes ``target`` in one rename. An existing ``target`` is first
    renamed aside (``.NAME.old-PID-RANDOM``) and removed after the swap: between those two
    renames (two system calls) ``target`` is briefly absent, never a mix of two writes. On any
    exception, ``KeyboardInterrupt`` included, the temporary is removed and ``target`` is left as
    it was; SIGINT and SIGTERM are held back during the two renames (:func:`signals_held`).

    Concurrent writers of one ``target`` are refused: a lock file ``.NAME.lock`` holding the
    writer's pid is created exclusively beside it and removed at the end. A lock whose pid is no
    longer running (a killed writer) is taken over, and temporaries of dead writers are removed.

    Parameters
    ----------
    target : path-like
        The final directory (its parent is created if missing).

    Yields
    ------
    pathlib.Path
        The temporary directory, empty.

    Raises
    ------
    ConfigError
        Another live process holds the lock of ``target`` (the message names its pid).
    """
    target = Path(target)
    tmp = target.with_name(f".{target.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
    with locked(target):
        try:
            remove_stale(target)
            tmp.mkdir()
            yield tmp
            old = None
            with signals_held():
                if target.is_dir() and not target.is_symlink():
                    old = target.with_name(f".{target.name}{_OLD_MARK}{os.getpid()}-{secrets.token_hex(4)}")
                    os.replace(target, old)
                os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.exists():
                _remove(tmp)


@contextmanager
def locked(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the lock file ``.NAME.lock`` beside ``target`` (created exclusively, holding this pid).

    Parameters
    ----------
    target : path-like
        The file or directory to be written (its parent is created if missing).

    Yields
    ------
    pathlib.Path
        The lock file, removed on exit.

    Raises
    ------
    ConfigError
        Another live process holds the lock (the message names its pid). A lock whose pid is no
        longer running on this machine is taken over, as is one without a pid older than a minute.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_path(target)
    _acquire(lock, target)
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back during the block (a few renames); they are delivered after it.

    So an interruption cannot fall between the renames that put a set of files in place. The
    Python-level handlers are swapped for ones that only record the signal, and the recorded
    signals are raised again, to the restored handlers, when the block ends. (A thread signal mask
    would not do: a process-directed signal goes to any thread that does not block it, and Python
    then runs its handler in the main thread at once.) Outside the main thread, where handlers
    cannot be set, it does nothing.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: object) -> None:
        pending.append(signum)

    held = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, hold) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


@contextmanager
def atomic_files(targets: Sequence[str | os.PathLike[str]]) -> Iterator[list[Path]]:
    """Yield a temporary path beside each of ``targets``; rename them all into place on success.

    Every file is written first (to ``.NAME.part-PID-RANDOM.SUFFIX``); only when the block ends
    without an exception are they renamed onto their targets, one after the other with SIGINT and
    SIGTERM held back (:func:`signals_held`), so an error or an interruption while writing leaves
    every target as it was, and no temporary. Other files beside the targets are not touched.

    Parameters
    ----------
    targets : sequence of path-like
        The final file names (their directories are created if missing).

    Yields
    ------
    list of pathlib.Path
        The temporary paths, in the order of ``targets`` (none exists yet).
    """
    paths = [Path(t) for t in targets]
    staged: list[Path] = []
    try:
        for t in paths:
            t.parent.mkdir(parents=True, exist_ok=True)
            staged.append(t.with_name(f".{t.name}.part-{os.getpid()}-{secrets.token_hex(4)}{t.suffix}"))
        yield list(staged)
        with signals_held():
            for tmp, t in zip(staged, paths, strict=True):
                os.replace(tmp, t)
    finally:
        for tmp in staged:
            if tmp.exists() or tmp.is_symlink():
                _remove(tmp)

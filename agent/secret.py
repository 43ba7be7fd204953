"""Secrets (passwords, communities, tokens): read only from a file or an environment variable, never shown.

A :class:`Secret` prints as where it lives, never what it is; a file is read with bounds (a FIFO or /dev/zero
where the secret should be must not hang start-up).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("farmwatch.config")


class SecretError(Exception):
    """A secret that cannot be read; the message names where it lives, never what it is."""


class Secret:
    """A password or community read from a file or environment variable; ``repr``/``str`` show only the source.

    Deliberately not a dataclass, so ``dataclasses.asdict(config)`` cannot copy the value out into a dict.
    """

    __slots__ = ("_path", "_env", "_value", "_hide_name")

    def __init__(self, *, path: Path | None = None, env: str | None = None, value: str | None = None,
                 hide_name: bool = False) -> None:
        """``hide_name``: the file's name as written might be the password itself (a bare word pasted into a
        ``*_file`` key), so it is never shown in a message, a log or a repr."""
        if (path is None) == (env is None):
            raise ValueError("a secret comes from exactly one of a file or an environment variable")
        self._path, self._env, self._value, self._hide_name = path, env, value, hide_name

    @property
    def source(self) -> str:
        if self._path is not None:
            return "file <name not shown>" if self._hide_name else f"file {self._path}"
        return f"environment variable {self._env}"

    def reveal(self) -> str:
        """The value, read on first use when it was not read at start-up. Raises :class:`SecretError`."""
        if self._value is None:
            self._value = (
                _read_secret_file(self._path, self._hide_name) if self._path is not None
                else _read_secret_env(self._env)
            )
        return self._value

    def reveal_fresh(self) -> str:
        """The value read again now (a token rotated on disk takes effect without a reload)."""
        self._value = None
        return self.reveal()

    def __repr__(self) -> str:
        return f"Secret(<{self.source}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self._path, self._env) == (other._path, other._env)

    def __hash__(self) -> int:
        return hash((self._path, self._env))


MAX_SECRET_BYTES = 64 * 1024


def _read_secret_file(path: Path, hide_name: bool = False) -> str:
    try:
        # O_NONBLOCK: a FIFO placed where the secret should be must not hang start-up or check-config.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except IsADirectoryError:
        raise SecretError(f"secret file {path} is a directory") from None
    except FileNotFoundError:
        if hide_name:
            # A bare word where a file's path belongs is most often the password itself, pasted: it is not
            # repeated into logs and terminals. The key and line say which setting it is.
            raise SecretError("secret file does not exist (the name is not shown in case it is the password "
                              "itself: put the password in a file and give that file's path)") from None
        raise SecretError(f"secret file {path} does not exist") from None
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode) and mode & stat.S_IWOTH:
            # Anyone on the host can replace the password (or a community) the agent sends to devices.
            log.warning("secret file %s is world-writable: anyone on this host can change it (chmod o-w)", path)
        if not stat.S_ISREG(mode):  # /dev/zero, a FIFO, a socket: endless or blocking
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise SecretError(f"secret file {path} is a directory")
            raise SecretError(f"secret file {path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_BYTES:
        raise SecretError(f"secret file {path} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        # Only the line ending an editor adds is stripped: spaces can be part of a password.
        value = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise SecretError(f"secret file {path} is not UTF-8 text") from None
    if not value:
        raise SecretError(f"secret file {path} is empty")
    return value


def _read_secret_env(name: str | None) -> str:
    value = os.environ.get(name or "")
    if not value:
        raise SecretError(f"environment variable {name} is not set or empty")
    return value

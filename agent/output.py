"""Terminal output of the CLI commands: stdout that tolerates a reader going away, and device errors worded for a
person at a terminal (flags rather than site.yaml keys)."""

from __future__ import annotations

import os
import sys

from collectors.errors import DeviceError, LoginNeeded


def emit(text: str) -> None:
    """Print to stdout; a reader that went away (``| head``) ends the output quietly instead of a
    BrokenPipeError traceback and exit 1 (which says "device unreadable"): the command carries on (``scan`` still
    writes its files) and exits with its own status."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        quiet_stdout()


def quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


LOGIN_FLAGS = "pass --web-password-file FILE or --web-password-env VAR (or --use-default-password for the firmware's default)"


def cli_message(e: DeviceError) -> str:
    """The error as a person at a terminal should read it: a missing web login names the flags, not the
    site.yaml keys the daemon's message names."""
    if isinstance(e, LoginNeeded):
        return f"{e.what}: {LOGIN_FLAGS}"
    return e.message

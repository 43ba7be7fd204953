"""Typed errors raised while reading a device.

Every failure to read one device is a :class:`DeviceError` whose ``reason`` is one of the fixed set exported on
``farmwatch_miner_error_info{reason}`` (docs/architecture.md, "Failure reasons")::

    DeviceError                    (reason)
    ├── DeviceTimeout              timeout      deadline passed, connect or read hung
    ├── DeviceRefused              refused      TCP connection refused / host unreachable
    ├── DeviceUnresolved           resolve      the host name does not resolve (DNS): nothing was sent
    ├── DeviceReset                reset        connection reset or closed mid-reply
    ├── ProtocolError              protocol     bytes that are not this protocol (HTML on 4028, oversize reply, E status)
    ├── ParseError                 parse        a reply of the right protocol whose content cannot be read
    ├── AuthError                  auth         login refused / access denied
    ├── UnsupportedDevice          unsupported  no driver recognises the device
    └── ResourceExhausted          resource     this agent ran out of file descriptors (or socket buffers):
                                                the device was not even tried, nothing is known about it

Anything else escaping a parser is a bug; the scheduler still contains it to the one device (reason ``parse``).
"""

from __future__ import annotations

import errno

# ``resolve`` was added after the first seven (issue 12): a name that does not resolve is a DNS or config
# problem, not a miner refusing connections, and the two need different people. ``resource`` (issue 11): the
# agent itself ran out of file descriptors or socket memory; the device was never tried.
REASONS = ("timeout", "refused", "reset", "protocol", "parse", "auth", "unsupported", "resolve", "resource")

# errno values that mean the agent itself is out of a resource, not that the device failed.
_RESOURCE_ERRNOS = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))


class DeviceError(Exception):
    reason = "protocol"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DeviceTimeout(DeviceError):
    reason = "timeout"


class DeviceRefused(DeviceError):
    reason = "refused"


class DeviceUnresolved(DeviceError):
    reason = "resolve"


class DeviceReset(DeviceError):
    reason = "reset"


class ProtocolError(DeviceError):
    reason = "protocol"


class ParseError(DeviceError):
    reason = "parse"


class AuthError(DeviceError):
    reason = "auth"


class LoginNeeded(AuthError):
    """The device's web API asks for a login and none is configured. ``what`` says so without saying how to give
    one: the daemon's message names the config keys; the CLI names its flags instead (agent.cli)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: set credentials.web_password_file "
                         "(or credentials.use_default_password: true for the firmware's default)")
        self.what = what


class UnsupportedDevice(DeviceError):
    reason = "unsupported"


class ResourceExhausted(DeviceError):
    reason = "resource"


def resource_error(e: BaseException | None, where: str) -> ResourceExhausted | None:
    """A ResourceExhausted for an OSError that says the agent is out of descriptors (EMFILE, ENFILE) or
    socket memory, else None. Before issue 11 these were reported as ``refused``: a dead miner's reason."""
    if isinstance(e, OSError) and e.errno in _RESOURCE_ERRNOS:
        return ResourceExhausted(f"{where}: the agent is out of {_what(e.errno)} ({e.strerror})")
    return None


def _what(code: int | None) -> str:
    return "file descriptors" if code in (errno.EMFILE, errno.ENFILE) else "socket memory"

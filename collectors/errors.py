"""Typed errors raised while reading a device.

Every failure to read one device is a :class:`DeviceError` whose ``reason`` is one of the fixed set exported on
``farmwatch_miner_error_info{reason}`` (DESIGN.md contract)::

    DeviceError                    (reason)
    ├── DeviceTimeout              timeout      deadline passed, connect or read hung
    ├── DeviceRefused              refused      TCP connection refused / host unreachable
    ├── DeviceReset                reset        connection reset or closed mid-reply
    ├── ProtocolError              protocol     bytes that are not this protocol (HTML on 4028, oversize reply, E status)
    ├── ParseError                 parse        a reply of the right protocol whose content cannot be read
    ├── AuthError                  auth         login refused / access denied
    └── UnsupportedDevice          unsupported  no driver recognises the device

Anything else escaping a parser is a bug; the scheduler still contains it to the one device (reason ``parse``).
"""

from __future__ import annotations

REASONS = ("timeout", "refused", "reset", "protocol", "parse", "auth", "unsupported")


class DeviceError(Exception):
    reason = "protocol"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DeviceTimeout(DeviceError):
    reason = "timeout"


class DeviceRefused(DeviceError):
    reason = "refused"


class DeviceReset(DeviceError):
    reason = "reset"


class ProtocolError(DeviceError):
    reason = "protocol"


class ParseError(DeviceError):
    reason = "parse"


class AuthError(DeviceError):
    reason = "auth"


class UnsupportedDevice(DeviceError):
    reason = "unsupported"

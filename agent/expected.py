"""Moved to ``collectors/asic/expected.py`` (scope finds are the miner collector's); this old import path stays
for the agent's modules and tests that still use it (docs/architecture.md, "Decisions")."""

from collectors.asic.expected import (
    FILE_NAME,
    SCOPE_STATES,
    UNREACHED,
    Expected,
    Find,
    StorageError,
    write_atomic,
)

__all__ = ["FILE_NAME", "SCOPE_STATES", "UNREACHED", "Expected", "Find", "StorageError", "write_atomic"]

"""Registry of firmware drivers: every module in this package that defines ``DRIVER`` is one driver."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from ..driver import Driver


@cache
def registry() -> dict[str, Driver]:
    found: dict[str, Driver] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        driver = getattr(module, "DRIVER", None)
        if isinstance(driver, Driver):
            found[driver.name] = driver
    return found


def get(name: str) -> Driver:
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(f"unknown driver {name!r}; known: {', '.join(sorted(registry()))}") from None


@cache
def custom_signatures() -> tuple[str, ...]:
    """The signatures of every custom firmware (checked on every poll of a stock one: re-flashed since?)."""
    return tuple(sig for d in identification_order() if d.custom for sig in d.signatures)


def identification_order() -> list[Driver]:
    """Custom firmware first (its replies also carry the stock strings), then by priority."""
    return sorted(registry().values(), key=lambda d: (not d.custom, d.priority, d.name))

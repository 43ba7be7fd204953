"""VNish on Antminer hardware, RPC on 4028 (bmminer-style replies with numbers where stock has strings).

Per cycle ``summary+stats+pools``; ``version`` is identity (cached). Same keys as stock (see :mod:`._bmminer`);
the differences:

- model: ``Type`` is "Antminer S17 (vnish 0.9.2-alpha)": the model is the part before the parenthesis and the
  firmware version the part inside it (else stats ``build_version``).
- fans: ``fan_num`` 0 with every slot 0 (immersion, fans not reported) gives [] (unknown), not dead fans.
- power: the RPC has no watts (the REST API's ``power_consumption`` belongs to the web driver).
"""

from __future__ import annotations

import re

from ..driver import Driver, Replies
from ..reading import MinerReading
from ..units import text
from . import _bmminer as bm

_SUFFIX = re.compile(r"\s*\(\s*vnish\s*([^)]*)\)\s*", re.IGNORECASE)


def split_type(raw: str | None) -> tuple[str | None, str | None]:
    """("S17", "0.9.2-alpha") from "Antminer S17 (vnish 0.9.2-alpha)"."""
    if not raw:
        return None, None
    m = _SUFFIX.search(raw)
    if m is None:
        return bm.strip_vendor(raw), None
    return bm.strip_vendor(_SUFFIX.sub(" ", raw).strip()), text(m.group(1))


def parse(replies: Replies, device: str) -> MinerReading:
    sec = bm.sections(replies)
    model, version = split_type(bm.raw_type(sec))
    version = version or text(sec.data.get("build_version")) or text(sec.version.get("VNish"))
    return bm.build(sec, device, driver=DRIVER.name, firmware="vnish", model=model, firmware_version=version)


DRIVER = Driver(
    name="vnish",
    signatures=("VNISH",),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    custom=True,
    priority=10,
)

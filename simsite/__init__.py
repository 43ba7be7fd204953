"""Simulated mining site: thousands of ASIC miners on loopback IPs, byte-faithful to real firmwares.

site = SimSite.build(count=1000, seed=1)
await site.start()
...  # poll site.target_list(); compare with site.miners[i].truth()
await site.stop()
"""

from .faults import DATA_FAULTS, FAULTS, TRANSPORT_FAULTS
from .firmwares import names as firmware_names
from .fleet import DEFAULT_MIX
from .miner import SimMiner, Snapshot
from .models import MODELS, ModelSpec
from .site import Request, SimSite

__all__ = [
    "DATA_FAULTS",
    "DEFAULT_MIX",
    "FAULTS",
    "MODELS",
    "TRANSPORT_FAULTS",
    "ModelSpec",
    "Request",
    "SimMiner",
    "SimSite",
    "Snapshot",
    "firmware_names",
]

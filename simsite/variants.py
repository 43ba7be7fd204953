"""Firmware variants a simulated miner can show (issue 13: what other units of the same vendor send), set with
:meth:`simsite.site.SimSite.set_variant`. Each is what real replies of some model or firmware build do; the
miner's truth (``SimMiner.truth()``) says what a correct reader makes of it.

Stock Antminer (bmminer RPC):

- ``fan_gap``: the second fan slot's key is absent while the slots around it report (a fan header the firmware
  does not list): that slot is unknown (null) and keeps its place; the others are read.
- ``odd_type``: ``Type`` with doubled spaces, a trailing space and a line break ("Antminer  S19  Pro \\n").
- ``old_keys``: per-chain keys of older builds: board temperatures only in ``tempN``/``temp2_N`` (no
  ``temp_pcbN``/``temp_chipN``) and chips only as the ``chain_acsN`` status string (no ``chain_acnN``).
- ``scrypt``: an L-series (Scrypt) unit: ``Type`` "Antminer L7", rates under the "GHS" labels in MH/s and no
  ``rate_unit`` (old bmminer): the reader takes the unit from the model's algorithm.
- ``no_pools``: ``pools`` answers "Access denied" (an API group without it): pools unknown, the rest read, a note.
- ``rpc_closed`` (``antminer_web`` only): port 4028 refuses while the web CGI on port 80 answers (firmware
  shipped with the API off): read over the web with a login, else "RPC refused; the web API needs a login".

Every firmware:

- ``no_join``: the RPC answers a joined request (``summary+stats``) with "Invalid command", as some stock
  S19j Pro bmminer builds do: every command is asked on its own connection.

- ``no_optional``: each part the firmware's driver treats as optional (``Firmware.optional_parts``: a command
  answered "Invalid command", a web path answered 404) is missing, as on a release without it. The reading
  keeps everything else, with one note per missing part.
"""

from __future__ import annotations

from .noise import exact_shares

VARIANTS = frozenset(("fan_gap", "odd_type", "old_keys", "scrypt", "no_pools", "rpc_closed", "no_optional",
                      "no_join"))


def check(variant: str | None) -> None:
    if variant is not None and variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {sorted(VARIANTS)}")


def assign(count: int, seed: int, fractions: dict[str, float] | None) -> list[str | None]:
    """Exactly ``round(fraction * count)`` miners per variant, chosen by a seeded shuffle (the same miners for the
    same seed, whatever the shard); one variant per miner."""
    return exact_shares(count, seed * 104729 + 29, fractions, check, "variant")

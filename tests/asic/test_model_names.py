"""Issue 13, class 2: model and family names. The reported type string decides the model facts (boards, chips,
fans), so whitespace, line breaks, firmware names and version tags inside it must not reach the model."""

from __future__ import annotations

import pytest

from collectors.asic.drivers import _bmminer as bm
from collectors.asic.drivers import antminer, goldshell
from collectors.asic.models import lookup


@pytest.mark.parametrize(("type_", "bmminer", "want"), [
    ("Antminer S19 Pro", "1.0.0", ("S19 Pro", "stock", None)),
    ("Antminer  S19j  Pro \n", "1.0.0", ("S19j Pro", "stock", None)),
    ("Antminer S9 Hiveon", "2.0.0 rwglr", ("S9", "hiveon", None)),
    ("Antminer D3 Blissz v2.06 beta", "", ("D3", "blissz", "2.06 beta")),
    ("Antminer L3+ Blissz v1.02", "", ("L3+", "blissz", "1.02")),
    ("S19-88 v.2.6.0.39 ", "4.11.1 rwglr", ("S19-88", "mskminer", "2.6.0.39")),
    ("Antminer S9 Pro (v5.1) ", "2.0.0 rwglr", ("S9 Pro", "mskminer", "5.1")),
    ("Antminer S9", "2.4.0-asicseer-1.1.9-f7b7", ("S9", "asicseer", "1.1.9-f7b7")),
])
def test_antminer_type_strings(type_: str, bmminer: str, want: tuple[str, str, str | None]) -> None:
    sec = bm.Sections(info={"BMMiner": bmminer, "Type": type_})
    assert antminer.model_and_firmware(type_, sec) == want
    assert lookup(want[0]) is not None  # the cleaned model finds its row (and so its boards, chips and fans)


@pytest.mark.parametrize(("model", "algorithm"), [
    ("CK5", "eaglesong"), ("LT6", "scrypt"), ("Mini-DOGE", "scrypt"), ("E-DG1M", "scrypt"), ("DG Max", "scrypt"),
    ("KD-Max", "blake2s"), ("E-KA1M", "kheavyhash"), ("HS-Box", "blake2b"), ("LB-Box", "lbry"),
])
def test_goldshell_algorithm_from_the_model(model: str, algorithm: str) -> None:
    assert goldshell.algorithm_of(model) == algorithm

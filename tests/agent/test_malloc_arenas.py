"""glibc's malloc arenas are capped in the agent's process (agent/runtime.py, ``limit_malloc_arenas``): threads
that allocate at once (the loop, render and floor-view threads) share two arenas instead of growing one each,
which at 20,000 miners kept resident memory flat across cycles. Seen from glibc itself: ``malloc_info`` lists one
``<heap>`` per arena. The control run, without the cap, shows the same workload growing more, so the test can
fail. An operator's own MALLOC_ARENA_MAX is left to glibc."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")

WORKLOAD = r"""
import ctypes, os, sys, tempfile, threading
sys.path.insert(0, sys.argv[1])
from agent.runtime import limit_malloc_arenas
applied = limit_malloc_arenas() if sys.argv[2] == "capped" else None
barrier = threading.Barrier(8)
def churn():
    barrier.wait()
    for _ in range(300):
        blocks = [bytearray(4096 + i) for i in range(200)]  # above pymalloc's 512 B: glibc's malloc
        del blocks
threads = [threading.Thread(target=churn) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
f = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(f))
libc.fclose(ctypes.c_void_p(f))
print(applied, open(path).read().count("<heap nr="))
os.unlink(path)
"""


def arenas(mode: str, **extra: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | extra
    out = subprocess.run([sys.executable, "-c", WORKLOAD, str(ROOT), mode], capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout.split()
    return out[0], int(out[1])


def test_the_agent_process_keeps_to_two_malloc_arenas() -> None:
    applied, capped = arenas("capped")
    _none, free = arenas("uncapped")
    assert applied == "True"
    assert capped <= 2
    assert free > capped  # the same threads without the cap: more arenas (else this test could not fail)


def test_an_operators_malloc_arena_max_is_left_to_glibc() -> None:
    applied, count = arenas("capped", MALLOC_ARENA_MAX="4")
    assert applied == "False"
    assert count <= 4

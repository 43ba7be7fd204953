"""Coverage-guided fuzzing (atheris/libFuzzer) of the parsers; `make fuzz` runs every target for a while.

    python -m tests.support.fuzz_atheris TARGET [libFuzzer flags]     e.g. -max_total_time=120 -rss_limit_mb=2048
    python -m tests.support.fuzz_atheris all SECONDS                  every target, SECONDS each, a summary at the end

Targets: ``decode`` (raw reply bytes -> ``rpc.decode_reply``), ``parse`` (bytes spliced into real replies, decoded,
then every driver's ``parse`` + ``finalize``), ``text`` (the cgminer text format), ``config`` (``check_config`` on
the bytes as site.yaml), ``sitemap`` (the bytes as a CSV and as a YAML site map). Seeds are the simulated site's
real replies. A crash is any exception other than the project's own errors (tests/support/fuzz_support.py properties).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["collectors", "agent"]):
    from agent.config import check_config
    from agent.sitemap import read_sitemap
    from collectors.asic.drivers import registry
    from tests.support.fuzz_support import check_decode, check_parse, valid_raw_replies

TARGETS = ("decode", "parse", "text", "config", "sitemap")
_TMP = Path(tempfile.mkdtemp(prefix="farmwatch-fuzz-"))


def _decode(data: bytes) -> None:
    check_decode(data)


def _parse(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    seeds = valid_raw_replies()
    driver, command, raw = seeds[fdp.ConsumeIntInRange(0, len(seeds) - 1)]
    at = fdp.ConsumeIntInRange(0, len(raw))
    cut = fdp.ConsumeIntInRange(0, 64)
    raw = raw[:at] + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 256)) + raw[at + cut :]
    reply = check_decode(raw)
    if reply is None:
        return
    names = sorted(registry())
    parser = driver if fdp.ConsumeBool() else names[fdp.ConsumeIntInRange(0, len(names) - 1)]
    replies = {c: reply for c in command.split("+")} if "+" in command else {command: reply}
    if "+" in command:  # a joined reply: each command's part, as rpc.fetch splits it
        replies = {c: (p[0] if isinstance(p, list) and p else p) for c in command.split("+")
                   if isinstance(p := reply.get(c), dict | list)}
    check_parse(parser, replies)


def _text(data: bytes) -> None:
    check_decode(b"STATUS=" + data)


def _config(data: bytes) -> None:
    path = _TMP / "site.yaml"
    path.write_bytes(data)
    (_TMP / "sitemap.csv").write_bytes(data)
    for p in check_config(path):
        str(p)


def _sitemap(data: bytes) -> None:
    for name in ("map.csv", "map.yaml"):
        path = _TMP / name
        path.write_bytes(data)
        read_sitemap(path)


_FUNCS = {"decode": _decode, "parse": _parse, "text": _text, "config": _config, "sitemap": _sitemap}


def _seed_corpus(target: str) -> Path:
    corpus = _TMP / f"corpus-{target}"
    corpus.mkdir(exist_ok=True)
    if target in ("decode", "parse"):
        for i, (_d, _c, raw) in enumerate(valid_raw_replies()[:200]):
            (corpus / f"seed{i}").write_bytes(raw)
    elif target == "text":
        (corpus / "seed").write_bytes(b"S,When=1,Code=11,Msg=Summary,Description=cgminer 4.9|SUMMARY,Elapsed=5|")
    elif target == "config":
        (corpus / "seed").write_bytes(
            b'site: a\nlisten: ":10428"\nminers:\n  - targets: ["10.0.0.0/30", "10.0.1.1-10.0.1.3"]\n'
            b"    driver: auto\n    interval: 60s\n    credentials: {web_password_file: pw}\n"
            b"snmp:\n  - targets: [10.0.20.1]\n    community_env: SNMP\ngpus: {enabled: auto}\nsitemap: sitemap.csv\n"
        )
    else:
        (corpus / "seed").write_bytes(b"mac,container,rack,shelf,slot\nAA:BB:CC:DD:EE:FF,C1,R1,1,2\n")
    return corpus


def run_all(seconds: int) -> int:
    """Each target in its own process for ``seconds``; prints runs per target; non-zero if any crashed."""
    failed = 0
    for target in TARGETS:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.support.fuzz_atheris", target, f"-max_total_time={seconds}",
             "-rss_limit_mb=2048", "-timeout=20", f"-artifact_prefix={_TMP}/", str(_seed_corpus(target))],
            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
        )
        runs = re.findall(r"Done (\d+) runs", proc.stderr)
        print(f"{target:8} {'ok' if proc.returncode == 0 else 'CRASH'}  {runs[-1] if runs else '?'} inputs "
              f"in {seconds}s", flush=True)
        if proc.returncode != 0:
            failed += 1
            print(proc.stderr[-4000:], file=sys.stderr)  # the crashing input is kept under the temp dir shown
    return 1 if failed else 0


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "all":
        sys.exit(run_all(int(sys.argv[2]) if len(sys.argv) > 2 else 60))
    if len(sys.argv) < 2 or sys.argv[1] not in _FUNCS:
        sys.exit(f"usage: python -m tests.support.fuzz_atheris {{{'|'.join(TARGETS)}|all}} [libFuzzer flags]")
    target = sys.argv[1]
    os.environ.setdefault("FARMWATCH_FUZZ", target)
    atheris.Setup([sys.argv[0], *sys.argv[2:]], _FUNCS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()

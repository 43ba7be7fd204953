"""Prometheus exposition rendered once per cycle from the latest readings, served from a cache.

Families are built fresh from the store each time (never gauges mutated in place). Sample lines are the same
in the Prometheus text format 0.0.4 and in OpenMetrics 1.0 — only the ``# TYPE``/``# HELP`` lines differ for
counters and info — so each family's samples are rendered once and both documents are joined from them.
prometheus_client's own generate_latest is several times slower at fleet sizes (issue: 20,000 miners), and is
used here only for the process collector's few series.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

# The families themselves are built by the collectors too, so they live in collectors/ (imports point one way).
from collectors.families import CHUNK_LINES, Families, Family, add_health, escape, fmt, labels

__all__ = ["CHUNK_LINES", "OPENMETRICS_CONTENT_TYPE", "TEXT_CONTENT_TYPE", "Families", "Family", "ProcessMetrics",
           "Rendered", "add_health", "escape", "fmt", "labels", "render"]

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# The body of a family (its sample lines) is the same in both formats; only the # HELP/# TYPE lines differ for
# counters and info. Each body is deflated once into a byte-aligned raw-deflate segment (a fresh compressor,
# ended with a full flush) and both gzip documents are assembled from the shared segments plus their own small
# header segments: one standard single-member gzip stream each, for the cost of compressing one document. Only
# the two compressed documents stay resident (~7 % of the text at fleet sizes); a client that does not accept
# gzip (a person with curl) gets the text decompressed on demand.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0, OS unknown
GZIP_LEVEL = 1  # at fleet sizes level 9 costs seconds for a few percent smaller body


def _segment(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


_FINAL_BLOCK = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)


class _GzipBuilder:
    __slots__ = ("crc", "parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = [_GZIP_HEADER]
        self.crc = 0
        self.size = 0

    def add(self, raw: bytes, segment: bytes) -> None:
        self.parts.append(segment)
        self.crc = zlib.crc32(raw, self.crc)
        self.size += len(raw)

    def finish(self) -> bytes:
        self.parts.append(_FINAL_BLOCK)
        self.parts.append(struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF))
        out = b"".join(self.parts)
        self.parts = []
        return out


@dataclass(slots=True)
class Rendered:
    """Both formats of one exposition, gzip-compressed; ``text``/``openmetrics`` decompress on demand."""

    gz_text: bytes
    gz_openmetrics: bytes
    size_text: int = 0
    size_openmetrics: int = 0

    def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        gz = self.gz_openmetrics if openmetrics else self.gz_text
        return gz if gzipped else gzip.decompress(gz)

    @property
    def text(self) -> bytes:
        return gzip.decompress(self.gz_text)

    @property
    def openmetrics(self) -> bytes:
        return gzip.decompress(self.gz_openmetrics)


def render(families: Iterable[Family]) -> Rendered:
    """Both documents from the families. Pure and thread-safe (the agent runs it in a worker thread: zlib and
    crc32 release the GIL, so most of the work overlaps the event loop's polling)."""
    text = _GzipBuilder()
    om = _GzipBuilder()
    for fam in families:
        if not fam:
            continue
        # "replace": a device can send a lone surrogate escape ("\ud800") in any string it reports; one such
        # label value must not stop the exposition for every device (UnicodeEncodeError).
        body = fam.body().encode("utf-8", "replace")
        fam.chunks.clear()
        help_line = f"# HELP {{}} {fam.help}\n"
        if fam.type == "gauge":
            head = (help_line.format(fam.name) + f"# TYPE {fam.name} gauge\n").encode()
            text_head = om_head = head
        else:
            sample = fam.sample_name
            text_head = (help_line.format(sample)
                         + f"# TYPE {sample} {'counter' if fam.type == 'counter' else 'gauge'}\n").encode()
            om_head = (help_line.format(fam.name) + f"# TYPE {fam.name} {fam.type}\n").encode()
        shared = _segment(body)
        head_seg = _segment(text_head)
        text.add(text_head, head_seg)
        om.add(om_head, head_seg if om_head is text_head else _segment(om_head))
        text.add(body, shared)
        om.add(body, shared)
        del body, shared
    eof = b"# EOF\n"
    om.add(eof, _segment(eof))
    size_text, size_om = text.size, om.size
    return Rendered(gz_text=text.finish(), gz_openmetrics=om.finish(), size_text=size_text,
                    size_openmetrics=size_om)


class ProcessMetrics:
    """The agent's own process series (CPU, memory, open files) from prometheus_client's collectors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def families(self) -> list[Family]:
        out: list[Family] = []
        for metric in self.registry.collect():
            type_ = metric.type if metric.type in ("gauge", "counter", "info") else "gauge"
            fam = Family(metric.name, type_, metric.documentation)
            for s in metric.samples:
                if s.name.endswith("_created"):
                    continue
                fam.lines.append(f"{s.name}{labels(sorted(s.labels.items()))} {fmt(s.value)}\n")
            out.append(fam)
        return out

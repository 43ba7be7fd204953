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
from concurrent.futures import Executor
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

# The families themselves are built by the collectors too, so they live in collectors/ (imports point one way).
from collectors.families import Family, fmt, labels

__all__ = ["OPENMETRICS_CONTENT_TYPE", "TEXT_CONTENT_TYPE", "ProcessMetrics", "Rendered", "StreamingRender",
           "crc32_combine", "render"]

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


def _gf2_times(mat: list[int], vec: int) -> int:
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, row) for row in mat]


def _zero_operators() -> list[list[int]]:
    """The CRC-32 operators for appending 2**k zero bytes, k = 0..63 (zlib's crc32_combine, precomputed)."""
    one_bit = [0xEDB88320] + [1 << n for n in range(31)]
    op = _gf2_square(_gf2_square(_gf2_square(one_bit)))  # 8 zero bits: one byte
    ops = [op]
    for _ in range(63):
        op = _gf2_square(op)
        ops.append(op)
    return ops


_ZERO_OPS = _zero_operators()


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc32(A), crc32(B) and len(B) (Python's zlib does not expose zlib's own): a family's
    body is checksummed while it is streamed, before its place in the document is known."""
    k = 0
    while len2:
        if len2 & 1:
            crc1 = _gf2_times(_ZERO_OPS[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


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

    def add_checked(self, segment: bytes, crc: int, size: int) -> None:
        """A segment whose text is gone, by the CRC and length it had."""
        self.parts.append(segment)
        self.crc = crc32_combine(self.crc, crc, size)
        self.size += size

    def finish(self) -> bytes:
        self.parts.append(_FINAL_BLOCK)
        self.parts.append(struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF))
        out = b"".join(self.parts)
        self.parts = []
        return out


class _BodyStream:
    """One family's sample lines, compressed as they come: one raw-deflate segment ended by a full flush."""

    __slots__ = ("comp", "crc", "error", "fed", "parts", "size")

    def __init__(self) -> None:
        self.comp = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
        self.parts: list[bytes] = []
        self.crc = 0
        self.size = 0
        self.fed = 0
        self.error: BaseException | None = None

    def feed(self, chunk: str) -> None:
        try:
            raw = chunk.encode("utf-8", "replace")  # "replace": see render()
            self.crc = zlib.crc32(raw, self.crc)
            self.size += len(raw)
            out = self.comp.compress(raw)
            if out:
                self.parts.append(out)
        except BaseException as e:  # kept for finish(): a future nobody reads would swallow it
            self.error = e
        self.fed += 1

    def finish(self) -> bytes:
        if self.error is not None:
            raise self.error
        self.parts.append(self.comp.flush(zlib.Z_FULL_FLUSH))
        segment = b"".join(self.parts)
        self.parts = []
        return segment


class StreamingRender:
    """The sink of one render (``Families(sink=...)``): each chunk of sample lines is compressed in ``pool`` as
    soon as a family has joined it, while the event loop goes on building the other families, so the exposition
    is never held as text all at once. ``pool`` must have one worker, and render(families, this) must be
    submitted to it after the families are built: a family's chunks are then compressed in order, and all of
    them before the render reads them."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self.streams: dict[int, _BodyStream] = {}  # by id(family): the families outlive the render

    def __call__(self, fam: Family, chunk: str) -> None:
        stream = self.streams.get(id(fam))
        if stream is None:
            stream = self.streams[id(fam)] = _BodyStream()
        self.pool.submit(stream.feed, chunk)


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


def render(families: Iterable[Family], streams: StreamingRender | None = None) -> Rendered:
    """Both documents from the families (and what ``streams`` compressed of them while they were built). Pure
    and thread-safe (the agent runs it in a worker thread: zlib and crc32 release the GIL, so most of the work
    overlaps the event loop's polling)."""
    text = _GzipBuilder()
    om = _GzipBuilder()
    for fam in families:
        if not fam:
            continue
        stream = streams.streams.get(id(fam)) if streams is not None else None
        if stream is not None:
            if stream.fed != fam.sunk:
                raise RuntimeError(f"render ran before {fam.sunk - stream.fed} chunks of {fam.name} were compressed "
                                   "(StreamingRender needs a one-worker pool, and the render submitted after them)")
            rest = fam.body()  # the lines after its last full chunk
            fam.chunks.clear()
            if rest:
                stream.feed(rest)
            shared = stream.finish()
            body_crc, body_size = stream.crc, stream.size
        else:
            # "replace": a device can send a lone surrogate escape ("\ud800") in any string it reports; one such
            # label value must not stop the exposition for every device (UnicodeEncodeError).
            body = fam.body().encode("utf-8", "replace")
            fam.chunks.clear()
            shared = _segment(body)
            body_crc, body_size = zlib.crc32(body), len(body)
            del body
        # Not str.format: a help text may hold braces ("curtailment: {infer_share}"), which format() took for a
        # field and raised on, stopping every render.
        help_text = fam.help
        if fam.type == "gauge":
            head = (f"# HELP {fam.name} {help_text}\n# TYPE {fam.name} gauge\n").encode()
            text_head = om_head = head
        else:
            sample = fam.sample_name
            text_head = (f"# HELP {sample} {help_text}\n"
                         f"# TYPE {sample} {'counter' if fam.type == 'counter' else 'gauge'}\n").encode()
            om_head = (f"# HELP {fam.name} {help_text}\n# TYPE {fam.name} {fam.type}\n").encode()
        head_seg = _segment(text_head)
        text.add(text_head, head_seg)
        om.add(om_head, head_seg if om_head is text_head else _segment(om_head))
        text.add_checked(shared, body_crc, body_size)
        om.add_checked(shared, body_crc, body_size)
        del shared
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

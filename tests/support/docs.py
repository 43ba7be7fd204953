"""The README and docs/*.md as a new site engineer reads them: every fenced block with its file, line and
language, and the inline code spans outside them. The docs tests (tests/project/test_docs*.py, the live walk in
tests/integration/test_docs_walk.py) follow what these return, so a new example in the docs is tested at once."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("collectors/*/README.md"))]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str  # "" for a bare fence
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of a markdown file, fences paired in order (a regex over the whole text pairs a
    block's closing fence with the next block's opening one when languages differ)."""
    found: list[Block] = []
    opened: tuple[int, str] | None = None
    body: list[str] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        fence = re.match(r"^\s*```\s*([\w+-]*)\s*$", line)
        if fence is None:
            if opened is not None:
                body.append(line)
            continue
        if opened is None:
            opened, body = (n, fence.group(1)), []
        else:
            found.append(Block(path, opened[0], opened[1], "\n".join(body) + "\n"))
            opened = None
    assert opened is None, f"{path.name}:{opened[0]}: a fenced block is never closed"
    return found


def prose(path: Path) -> str:
    """The file's text outside fenced blocks."""
    return re.sub(r"^\s*```.*?^\s*```[ \t]*$", "", path.read_text(), flags=re.DOTALL | re.MULTILINE)


def inline_spans(path: Path) -> list[str]:
    return re.findall(r"`([^`\n]+)`", prose(path))


def all_blocks() -> list[Block]:
    return [b for path in DOC_FILES for b in fenced_blocks(path)]


def shell_lines(block: Block) -> list[str]:
    """The commands of a shell block: continuations joined, a quoted argument that spans lines (a JSON body) kept
    whole, blank lines dropped."""
    out: list[str] = []
    pending = ""
    for line in re.sub(r"\\\n\s*", " ", block.text).splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # "No closing quotation": the argument goes on on the next line
            continue
        if pending.strip():
            out.append(pending.strip())
        pending = ""
    if pending.strip():  # not shell (a tree or a log in a bare block): its lines as they are
        out += [ln.strip() for ln in pending.splitlines() if ln.strip()]
    return out

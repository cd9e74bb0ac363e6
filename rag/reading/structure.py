"""Recover the structure of a flattened plain-text guide: headings and their nesting, paragraphs,
bullets, tables (each row with its header) and question/answer pairs, all as exact character spans.

The guide was exported from a web page, so heading markup is gone. Headings are recognised by
shape (a short line without closing punctuation) and nested by how they are laid out:

* a heading directly followed by another heading is its parent (`Compensation Guide` /
  `Salary Information`);
* a heading that ends in a colon is a label for the list that follows it and holds nothing else;
* a heading parallel to one on the current path (same head noun: `Behavioral Questions` next to
  `Technical/Functional Questions`, `Mid-Level (3-5 years)` next to `Entry Level (0-2 years)`)
  becomes its sibling;
* a heading that opens a chain of headings starts a new top-level section;
* any other heading is a sibling of the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["paragraph", "bullet", "table_row", "qa"]

BULLET = re.compile(r"^[ \t]*(?:[•●▪◦‣·*\-–]|\d+[.)])[ \t]+")
CLOSING_PUNCTUATION = (".", "!", "?", ";", ",")
MAX_HEADING_WORDS = 12
LABELLED_VALUE = re.compile(r":\s+\S")


@dataclass(frozen=True)
class Block:
    """A structural unit: `source_text[start:end]` is its verbatim text."""

    kind: BlockKind
    section: tuple[str, ...]
    start: int
    end: int
    context: str = ""


@dataclass(frozen=True)
class Line:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def stripped(self) -> str:
        return self.text.strip()


def split_groups(text: str) -> list[list[Line]]:
    """Runs of non-blank lines, separated by blank lines, with their offsets."""
    groups: list[list[Line]] = []
    current: list[Line] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        line = Line(raw.rstrip("\r\n"), offset)
        offset += len(raw)
        if line.stripped:
            current.append(line)
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def trimmed_span(line: Line) -> tuple[int, int]:
    """The span of a line without surrounding whitespace and without its bullet marker."""
    marker = BULLET.match(line.text)
    lead = marker.end() if marker else len(line.text) - len(line.text.lstrip())
    body = line.text[lead:].rstrip()
    return line.start + lead, line.start + lead + len(body)


def is_bullet_group(group: list[Line]) -> bool:
    return all(BULLET.match(line.text) for line in group)


def looks_like_heading(line: str) -> bool:
    words = line.split()
    if not words or len(words) > MAX_HEADING_WORDS or line.endswith(CLOSING_PUNCTUATION):
        return False
    if LABELLED_VALUE.search(line):  # "National Average Range: $130,000 ..." is a fact, not a heading
        return False
    return line[0].isupper() or line[0].isdigit()


def is_label(line: str) -> bool:
    """`Must-Have Qualifications:` — a heading that names the list under it."""
    return line.endswith(":") and looks_like_heading(line[:-1]) and len(line.split()) <= 8


def heading_text(line: str) -> str:
    return line.strip().rstrip(":").strip()


def head_noun(heading: str) -> str:
    words = re.findall(r"[A-Za-z]+", heading.lower())
    return words[-1] if words else ""


def is_table(group: list[Line]) -> bool:
    """Several short lines with no prose punctuation: a flattened table, header first."""
    if len(group) < 3 or is_bullet_group(group):
        return False
    return all(not line.stripped.endswith((".", ":")) for line in group)


@dataclass
class Heading:
    title: str
    depth: int


class Outline:
    """The current heading path while walking the document."""

    def __init__(self, title: str | None) -> None:
        self.path: list[Heading] = [Heading(title, 0)] if title else []
        self.label: str | None = None

    def section(self) -> tuple[str, ...]:
        titles = [h.title for h in self.path if h.depth > 0]
        if self.label:
            titles.append(self.label)
        if not titles and self.path:
            titles = [self.path[0].title]
        return tuple(titles)

    @property
    def depth(self) -> int:
        return self.path[-1].depth if self.path else 0

    def parallel_depth(self, heading: str) -> int | None:
        noun = head_noun(heading)
        for node in reversed(self.path):
            if node.depth > 0 and noun and head_noun(node.title) == noun:
                return node.depth
        return None

    def enter(self, title: str, depth: int) -> None:
        depth = max(depth, 1)
        self.path = [h for h in self.path if h.depth < depth]
        self.path.append(Heading(title, depth))
        self.label = None


def parse_plain_text(text: str) -> list[Block]:
    """Blocks of a plain-text document, in reading order."""
    groups = split_groups(text)
    if not groups:
        return []
    first = groups[0]
    title = None
    if len(first) == 1 and first[0].stripped and not first[0].stripped.endswith(CLOSING_PUNCTUATION):
        title = first[0].stripped
        groups = groups[1:]
    outline = Outline(title)
    blocks: list[Block] = []
    previous_was_heading = False
    for i, group in enumerate(groups):
        line = group[0].stripped
        single = len(group) == 1
        if single and is_label(line):
            outline.label = heading_text(line)
            previous_was_heading = False
            continue
        if single and looks_like_heading(line):
            next_group = groups[i + 1] if i + 1 < len(groups) else None
            opens_chain = bool(
                next_group
                and len(next_group) == 1
                and looks_like_heading(next_group[0].stripped)
                and not is_label(next_group[0].stripped)
            )
            if previous_was_heading:
                depth = outline.depth + 1
            else:
                parallel = outline.parallel_depth(line)
                if parallel is not None:
                    depth = parallel
                elif opens_chain:
                    depth = 1
                else:
                    depth = outline.depth or 1
            outline.enter(heading_text(line), depth)
            previous_was_heading = True
            continue
        previous_was_heading = False
        if is_bullet_group(group):
            for bullet in group:
                start, end = trimmed_span(bullet)
                blocks.append(Block("bullet", outline.section(), start, end))
            continue
        # A paragraph after a labelled list is no longer part of that list.
        outline.label = None
        if is_table(group):
            header = group[0].stripped
            for row in group[1:]:
                start, end = trimmed_span(row)
                blocks.append(Block("table_row", outline.section(), start, end, context=header))
            continue
        blocks.extend(paragraph_blocks(group, outline.section()))
    return merge_questions_with_answers(blocks, text)


def paragraph_blocks(group: list[Line], section: tuple[str, ...]) -> list[Block]:
    start, _ = trimmed_span(group[0])
    _, end = trimmed_span(group[-1])
    if len(group) == 1 and len(group[0].text.split()) < 2:
        return []  # a stray slug or page artefact, not something anyone asks about
    return [Block("paragraph", section, start, end)]


def merge_questions_with_answers(blocks: list[Block], text: str) -> list[Block]:
    """A one-line question followed by its answer paragraph becomes one `qa` block."""
    merged: list[Block] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        question = text[block.start : block.end]
        if (
            block.kind == "paragraph"
            and question.endswith("?")
            and "\n" not in question
            and nxt is not None
            and nxt.kind == "paragraph"
            and nxt.section == block.section
            and not text[nxt.start : nxt.end].endswith("?")
        ):
            merged.append(Block("qa", block.section, block.start, nxt.end))
            i += 2
            continue
        merged.append(block)
        i += 1
    return merged

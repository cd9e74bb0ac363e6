"""Structure of Markdown and HTML documents, which carry their own heading markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.structure import Block, Line, is_bullet_group, split_groups, trimmed_span

MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
MD_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")


def parse_markdown(text: str) -> list[Block]:
    """ATX headings give the nesting; bullets, `|` tables and paragraphs become blocks."""
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    for group in split_groups(text):
        body: list[Line] = []
        for line in group:
            heading = MD_HEADING.match(line.text)
            if heading:
                if body:
                    blocks.extend(_markdown_body(body, path))
                    body = []
                level = len(heading.group(1))
                path = [(lvl, title) for lvl, title in path if lvl < level]
                path.append((level, heading.group(2).strip()))
            else:
                body.append(line)
        if body:
            blocks.extend(_markdown_body(body, path))
    return blocks


def _markdown_body(lines: list[Line], path: list[tuple[int, str]]) -> list[Block]:
    section = tuple(title for _, title in path)
    if is_bullet_group(lines):
        return [Block("bullet", section, *trimmed_span(line)) for line in lines]
    if all(line.stripped.startswith("|") for line in lines):
        header = lines[0].stripped
        rows = [line for line in lines[1:] if not MD_TABLE_RULE.match(line.text)]
        return [Block("table_row", section, *trimmed_span(row), context=header) for row in rows]
    start, _ = trimmed_span(lines[0])
    _, end = trimmed_span(lines[-1])
    return [Block("paragraph", section, start, end)]


class _HtmlBlocks(HTMLParser):
    """Collects the text of block elements with the offsets of their raw text in the source."""

    HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
    BLOCKS = {"p": "paragraph", "li": "bullet", "tr": "table_row", "dd": "paragraph", "blockquote": "paragraph"}
    SKIPPED = {"script", "style", "head", "title", "nav", "footer"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.path: list[tuple[int, str]] = []
        self.blocks: list[Block] = []
        self.open_block: str | None = None
        self.heading_level: int | None = None
        self.spans: list[tuple[int, int]] = []
        self.skip_depth = 0

    def source_offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skip_depth += 1
        elif tag in self.HEADINGS:
            self.flush()
            self.heading_level = self.HEADINGS[tag]
        elif tag in self.BLOCKS:
            self.flush()
            self.open_block = self.BLOCKS[tag]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self.HEADINGS and self.heading_level is not None:
            title = " ".join(self.text[s:e] for s, e in self.spans).strip()
            level = self.heading_level
            self.path = [(lvl, t) for lvl, t in self.path if lvl < level]
            if title:
                self.path.append((level, " ".join(title.split())))
            self.spans, self.heading_level = [], None
        elif tag in self.BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.skip_depth or not data.strip() or (self.open_block is None and self.heading_level is None):
            return
        start = self.source_offset() + (len(data) - len(data.lstrip()))
        self.spans.append((start, start + len(data.strip())))

    def flush(self) -> None:
        if self.open_block and self.spans:
            section = tuple(title for _, title in self.path)
            start, end = self.spans[0][0], self.spans[-1][1]
            # Inline markup inside the block would break a verbatim quote: then each text run is a unit.
            pieces = [(start, end)] if "<" not in self.text[start:end] else self.spans
            for s, e in pieces:
                self.blocks.append(Block(self.open_block, section, s, e))  # type: ignore[arg-type]
        self.open_block, self.spans = None, []


def parse_html(text: str) -> list[Block]:
    parser = _HtmlBlocks(text)
    parser.feed(text)
    parser.close()
    parser.flush()
    return parser.blocks

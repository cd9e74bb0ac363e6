"""Structure of Markdown and HTML documents, which carry their own markup. Markdown is read with a
CommonMark parser (markdown-it, with GitHub's tables); every block is an exact span of the source, and
`plain` gives a span's text as a reader sees it, without its markup, for indexing and quoting."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from rag.reading.sentences import split_sentences
from rag.reading.structure import Block, BlockKind

MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")

# Adjacent text is left unjoined, so that an emphasis marker without its partner stays a token of its own.
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable(["text_join", "fragments_join"])
DELIMITERS = frozenset("*_~")

# markdown-it counts lines after turning every \r\n and \r into \n; offsets are counted the same way.
NEWLINE = re.compile(r"\r\n?|\n")
FRONT_MATTER_OPEN = re.compile(r"---[ \t]*")
FRONT_MATTER_CLOSE = re.compile(r"(?:---|\.\.\.)[ \t]*")
FRONT_MATTER_TITLE = re.compile(r"title:[ \t]*(.+?)[ \t]*")
LISTS = ("bullet_list", "ordered_list")
# A paragraph that ends with one of these is a whole statement; one that ends otherwise leads on.
CLOSED = (".", "!", "?", ")", '"', "”", "’")
LEAD_IN_WORDS = 25

# What CommonMark leaves as text but an author meant as a link: an escaped or spaced bracket
# (`\[Promotions page]({% page "/promotions" %})`, `[Merit Principles] (https://…)`), a destination
# with spaces (a template tag), or a reference link whose definition lies outside the span.
LITERAL_LINK = re.compile(
    r"(!?)\[([^\[\]]*)\]"
    r"(?:\([^()]*\)|[ \t]\((?=https?://|mailto:|/|#|\{%)[^()]*\)|\[[^\[\]]*\])"
)
# Template tags of static site generators (Jekyll, Eleventy): `{% slack_channel "parents" %}`.
TEMPLATE_TAG = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}|\{\{.*?\}\}", re.DOTALL)
QUOTED_ARGUMENT = re.compile(r"\"([^\"]*)\"|'([^']*)'")
PICTURE_TAGS = frozenset({"image", "img", "figure", "picture", "video"})
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


# -- plain text ------------------------------------------------------------------------------------
def plain(source_text: str) -> str:
    """`source_text` (a span of a Markdown document) as a reader sees it: emphasis, code backticks,
    link targets, images, HTML tags, table pipes, list markers, heading hashes and backslash escapes
    removed, whitespace collapsed. Links keep their text, autolinks their URL."""
    row = _table_row_cells(source_text)
    if row is not None:
        return " ".join(" ".join(cell for cell in row if cell).split())
    pieces: list[str] = []
    for token in _MARKDOWN.parse(source_text):
        if token.type == "inline":
            pieces.append(inline_plain(token.children or []))
        elif token.type == "code_block":
            # A span's later lines keep their list item's indentation, which alone reads as indented
            # code: it is text of the item (code blocks are never blocks of their own).
            pieces.append(plain(token.content))
        elif token.type == "fence":
            pieces.append(token.content)
        elif token.type == "html_block":
            pieces.append(plain_html(token.content))
    return " ".join(" ".join(pieces).split())


def inline_plain(children: Sequence[Token]) -> str:
    """The text of an inline token's children: what the markup wraps, without the markup."""
    segments: list[list[str]] = []  # [kind, text]: "text", "code" (kept verbatim) or "delimiter"

    def push(kind: str, text: str) -> None:
        if segments and segments[-1][0] == kind and kind != "code":
            segments[-1][1] += text
        else:
            segments.append([kind, text])

    for token in children:
        if token.type == "text" and token.content and set(token.content) <= DELIMITERS:
            push("delimiter", token.content)  # an emphasis marker that found no partner
        elif token.type in ("text", "text_special"):  # text_special: an escaped character or an entity
            push("text", token.content)
        elif token.type in ("softbreak", "hardbreak"):
            push("text", " ")
        elif token.type == "code_inline":
            push("code", token.content)
        elif token.type == "html_inline" and token.content.lower().startswith("<br"):
            push("text", " ")
        # Images, other inline HTML and the open/close tokens of emphasis and links add no text.
    out: list[list[str]] = []
    for at, (kind, text) in enumerate(segments):
        if kind == "delimiter":
            # A stray `*` or `_` that clings to a word on one side only is markup whose partner lies
            # outside the span (a quote cut inside `_…_`); between words or spaces ("snake_case",
            # "5 * 3") it is text.
            before = out[-1][1][-1:] if out else ""
            after = segments[at + 1][1][:1] if at + 1 < len(segments) else ""
            if bool(before.strip()) != bool(after.strip()):
                continue
            kind = "text"
        if out and out[-1][0] == kind == "text":
            out[-1][1] += text
        else:
            out.append([kind, text])
    text = "".join(piece if kind == "code" else _literal_markup(piece) for kind, piece in out)
    return " ".join(text.split())


def _literal_markup(text: str) -> str:
    text = LITERAL_LINK.sub(lambda m: "" if m.group(1) else m.group(2), text)
    return TEMPLATE_TAG.sub(_template_text, text)


def _template_text(match: re.Match[str]) -> str:
    """A template tag reads as its last quoted argument (`{% slack_channel "people-ops" "People Ops" %}`:
    "People Ops"), unless that is a path or the tag shows a picture; otherwise as nothing."""
    name, arguments = match.group(1), match.group(2) or ""
    if not name or name.lower() in PICTURE_TAGS:
        return ""
    quoted = [a or b for a, b in QUOTED_ARGUMENT.findall(arguments)]
    if not quoted or re.fullmatch(r"\S*[/#]\S*", quoted[-1]):
        return ""
    return quoted[-1]


def _table_row_cells(source_text: str) -> list[str] | None:
    """The plain cells of a span that is one table row (`| a | b |`), read as a table by giving it a
    delimiter row; None when the span is not a row."""
    line = source_text.strip()
    if not line or "\n" in line or "\r" in line or not (line.startswith("|") or line.endswith("|")):
        return None
    inner = line.removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    count = len(UNESCAPED_PIPE.split(inner))
    # markdown-it and this count may disagree on a pipe inside a code span: try the neighbours too.
    for columns in (count, count - 1, count + 1):
        if columns < 1:
            continue
        tokens = _MARKDOWN.parse(f"{line}\n|{'---|' * columns}\n")
        if tokens and tokens[0].type == "table_open":
            return [inline_plain(t.children or []) for t in tokens if t.type == "inline"]
    return None


class _HtmlText(HTMLParser):
    """The text of an HTML fragment: tags, comments, scripts and styles out, entities decoded."""

    SKIPPED = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skip_depth += 1
        elif tag == "br":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)


def plain_html(source_text: str) -> str:
    """`source_text` (a span of an HTML document) without its tags, entities decoded, whitespace collapsed."""
    parser = _HtmlText()
    parser.feed(source_text)
    parser.close()
    return " ".join("".join(parser.parts).split())


def has_markup(source: str) -> bool:
    """Whether a document (by its path) is Markdown or HTML, whose quotes are given without markup."""
    return PurePosixPath(source).suffix.lower() in (*MARKDOWN_SUFFIXES, *HTML_SUFFIXES)


def plain_text(source: str, span: str) -> str:
    """What a reader sees of `span`, a span of the document `source`: plain for Markdown and HTML,
    the span itself for plain text."""
    suffix = PurePosixPath(source).suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return plain(span)
    if suffix in HTML_SUFFIXES:
        return plain_html(span)
    return span


# -- Markdown structure ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _SourceLines:
    """Where each line of the source starts and ends (before its newline), as markdown-it numbers them."""

    text: str
    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, text: str) -> _SourceLines:
        starts, ends = [0], []
        for newline in NEWLINE.finditer(text):
            ends.append(newline.start())
            starts.append(newline.end())
        ends.append(len(text))
        return cls(text, starts, ends)

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, number: int) -> str:
        return self.text[self.starts[number] : self.ends[number]]

    def body_start(self, number: int) -> int:
        """Where a line's content starts, past indentation and block-quote markers."""
        line = self.line(number)
        return self.starts[number] + len(line) - len(line.lstrip(" \t>"))

    def last_end(self, first: int, stop: int) -> int:
        """The end of the last non-blank line in `first..stop-1`, without trailing whitespace."""
        for number in range(min(stop, len(self)) - 1, first - 1, -1):
            line = self.line(number)
            if line.strip(" \t>"):
                return self.starts[number] + len(line.rstrip())
        return self.body_start(first)


def front_matter(lines: _SourceLines) -> tuple[int, str]:
    """How many lines a leading `---` … `---` YAML block takes (0 without one), and its `title`."""
    if len(lines) < 2 or not FRONT_MATTER_OPEN.fullmatch(lines.line(0)):
        return 0, ""
    for number in range(1, len(lines)):
        if FRONT_MATTER_CLOSE.fullmatch(lines.line(number)):
            title = ""
            for inside in range(1, number):
                found = FRONT_MATTER_TITLE.fullmatch(lines.line(inside))
                if found:
                    title = found.group(1).strip().strip("\"'").strip()
            return number + 1, title
    return 0, ""


class _MarkdownBlocks:
    """Walks the parsed document, keeping the heading path, and collects blocks with exact spans."""

    def __init__(self, text: str) -> None:
        self.lines = _SourceLines.of(text)
        skipped, self.title = front_matter(self.lines)
        # The front matter's lines are blanked, so that markdown-it's line numbers stay the source's.
        self.parsed = "\n".join("" if n < skipped else self.lines.line(n) for n in range(len(self.lines)))
        # The page's title (from its front matter) is its outermost heading, as the rendered page shows it.
        self.path: list[tuple[int, str]] = [(0, self.title)] if self.title else []
        self.blocks: list[Block] = []

    def read(self) -> list[Block]:
        self.walk(SyntaxTreeNode(_MARKDOWN.parse(self.parsed)).children)
        return self.blocks

    def section(self) -> tuple[str, ...]:
        return tuple(title for _, title in self.path)

    def add(self, kind: BlockKind, span: tuple[int, int], context: str = "") -> str:
        """Adds a block unless it has no text a reader would see; returns that text."""
        start, end = span
        text = plain(self.lines.text[start:end]) if end > start else ""
        if text:
            self.blocks.append(Block(kind, self.section(), start, end, context))
        return text

    def walk(self, nodes: Sequence[SyntaxTreeNode]) -> None:
        previous: SyntaxTreeNode | None = None
        for node in nodes:
            if node.type == "heading":
                self.enter(int(node.tag[1:]), self.inline_text(node))
            elif node.type == "paragraph":
                self.add("paragraph", self.paragraph_span(node))
            elif node.type in LISTS:
                self.read_list(node, self.lead_in(previous))
            elif node.type == "table":
                self.read_table(node)
            elif node.type == "blockquote":
                self.walk(node.children)
            # Code blocks, raw HTML (comments included) and rules are not text to quote.
            previous = node

    def enter(self, level: int, title: str) -> None:
        if not title or (level == 1 and self.title and title.casefold() == self.title.casefold()):
            return  # the page's own title again, as its first heading
        self.path = [(lvl, t) for lvl, t in self.path if lvl < level]
        self.path.append((level, title))

    def inline_text(self, node: SyntaxTreeNode) -> str:
        inline = next((c for c in node.children if c.type == "inline"), None)
        return inline_plain(inline.token.children or []) if inline is not None and inline.token else ""

    def paragraph_span(self, node: SyntaxTreeNode) -> tuple[int, int]:
        """From the paragraph's first character (past list markers and `>`) to its last."""
        inline = next((c for c in node.children if c.type == "inline"), None)
        first, stop = node.map or (0, 0)
        line = self.lines.line(first)
        head = inline.token.content.split("\n", 1)[0].rstrip() if inline is not None and inline.token else ""
        at = line.rfind(head) if head else -1
        start = self.lines.starts[first] + at if at >= 0 else self.lines.body_start(first)
        return start, self.lines.last_end(first, stop)

    def lead_in(self, previous: SyntaxTreeNode | None) -> str:
        """The paragraph right before a list leads into it ("Tech leads are responsible for:"), and gives
        every item its meaning out of context: when it ends in a colon or mid-sentence, its last sentence;
        when it is short, all of it; a long paragraph that ends in a full stop is not a lead-in."""
        if previous is None or previous.type != "paragraph":
            return ""
        text = self.inline_text(previous)
        if text.endswith(":") or not text.endswith(CLOSED):
            return last_sentence(text)
        return text if len(text.split()) <= LEAD_IN_WORDS else ""

    def read_list(self, node: SyntaxTreeNode, context: str) -> None:
        """Each item is a bullet: its own paragraphs, not its nested lists, which are read in turn with
        the item's first sentence as their context."""
        for item in node.children:
            own: list[SyntaxTreeNode] = []
            item_text = ""
            for child in [*item.children, None]:
                if child is not None and child.type == "paragraph":
                    own.append(child)
                    continue
                if own:
                    span = (self.paragraph_span(own[0])[0], self.paragraph_span(own[-1])[1])
                    text = self.add("bullet", span, context)
                    item_text = item_text or text
                    own = []
                if child is None:
                    continue
                if child.type in LISTS:
                    self.read_list(child, first_sentence(item_text) or context)
                else:
                    self.walk([child])

    def read_table(self, node: SyntaxTreeNode) -> None:
        """One block per body row, with the header's cells as its context; the header is not a block."""
        header = ""
        for part in node.children:
            for row in part.children:
                cells = [self.inline_text(cell) for cell in row.children]
                if part.type == "thead":
                    header = " | ".join(cell for cell in cells if cell)
                elif row.map is not None:
                    number = row.map[0]
                    self.add(
                        "table_row", (self.lines.body_start(number), self.lines.last_end(number, number + 1)), header
                    )


def first_sentence(text: str) -> str:
    spans = split_sentences(text)
    return text[spans[0][0] : spans[0][1]] if spans else ""


def last_sentence(text: str) -> str:
    spans = split_sentences(text)
    return text[spans[-1][0] : spans[-1][1]] if spans else ""


def parse_markdown(text: str) -> list[Block]:
    """Blocks of a Markdown document in reading order: headings (ATX and setext) give the section path;
    paragraphs, list items (`bullet`, with the lead-in paragraph as context) and table body rows
    (`table_row`, with the header as context) are blocks. Front matter, code and raw HTML are not."""
    return _MarkdownBlocks(text).read()


# -- HTML structure --------------------------------------------------------------------------------
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
            title = plain_html(self.text[self.spans[0][0] : self.spans[-1][1]]) if self.spans else ""
            level = self.heading_level
            self.path = [(lvl, t) for lvl, t in self.path if lvl < level]
            if title:
                self.path.append((level, title))
            self.spans, self.heading_level = [], None
        elif tag in self.BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.skip_depth or not data.strip() or (self.open_block is None and self.heading_level is None):
            return
        start = self.source_offset() + (len(data) - len(data.lstrip()))
        self.spans.append((start, start + len(data.strip())))

    def flush(self) -> None:
        # The block's whole span, inline tags and all: its quote is the plain text (`plain_html`).
        if self.open_block and self.spans:
            section = tuple(title for _, title in self.path)
            self.blocks.append(Block(self.open_block, section, self.spans[0][0], self.spans[-1][1]))  # type: ignore[arg-type]
        self.open_block, self.spans = None, []


def parse_html(text: str) -> list[Block]:
    """Blocks of an HTML document: `h1`-`h6` give the section path; paragraphs, list items and table rows are blocks."""
    parser = _HtmlBlocks(text)
    parser.feed(text)
    parser.close()
    parser.flush()
    return parser.blocks

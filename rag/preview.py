"""Sections about the document rather than its subject: a preview ("What You'll Get From This Guide")
or a table of contents. Their lines name every topic the document covers ("Salary benchmarks and
compensation data across major markets") in a few words, so a question on any of those topics finds
them first — ahead of the section that holds the answer — and a question the document only promises
("Legal compliance guidelines for inclusive hiring") gets the promise quoted as if it were an answer.
Retrieval ranks them a step down (measured in evals/reports/ablation.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence

# A heading that points at the document itself ("… this guide", "In this article") or lists its parts.
ABOUT_THE_DOCUMENT = re.compile(
    r"\bthis\s+(?:guide|article|post|page|document|report|handbook|playbook|ebook|book|whitepaper)\b"
    r"|^\s*(?:table\s+of\s+)?contents\s*:?\s*$",
    re.IGNORECASE,
)


def about_the_document(section: Sequence[str]) -> bool:
    """Whether a chunk under the heading path `section` stands in a preview or a table of contents."""
    return any(ABOUT_THE_DOCUMENT.search(heading) for heading in section)

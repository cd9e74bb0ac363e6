"""Sections about the document rather than its subject: a preview ("What You'll Get From This Guide")
or a table of contents. Their lines name every topic the document covers ("Salary benchmarks and
compensation data across major markets") in a few words, so a question on any of those topics finds
them first — ahead of the section that holds the answer — and a question the document only promises
("Legal compliance guidelines for inclusive hiring") gets the promise quoted as if it were an answer.
Retrieval ranks them a step down (measured in evals/reports/ablation.md).

A summary ("Key Highlights", "At a Glance") is about the subject, but restates it in a few words per
line ("Remote Friendly: 85% of positions offer remote/hybrid options"), so it too comes first for
questions its section answers in full ("what extra requirements go in a remote JD?"). It steps down
less, and only for questions that do not ask for a figure: its lines are mostly figures, and often the
guide's only statement of them."""

from __future__ import annotations

import re
from collections.abc import Sequence

# A heading that points at the document itself ("… this guide", "In this article") or lists its parts.
ABOUT_THE_DOCUMENT = re.compile(
    r"\bthis\s+(?:guide|article|post|page|document|report|handbook|playbook|ebook|book|whitepaper)\b"
    r"|^\s*(?:table\s+of\s+)?contents\s*:?\s*$",
    re.IGNORECASE,
)


# A heading over a summary of the document's subject.
SUMMARY = re.compile(
    r"\b(?:highlights?|at\s+a\s+glance|key\s+(?:takeaways|facts|points|figures)|tl;?dr|summary|quick\s+facts)\b",
    re.IGNORECASE,
)


def about_the_document(section: Sequence[str]) -> bool:
    """Whether a chunk under the heading path `section` stands in a preview or a table of contents."""
    return any(ABOUT_THE_DOCUMENT.search(heading) for heading in section)


def sums_up_the_subject(section: Sequence[str]) -> bool:
    """Whether a chunk under the heading path `section` stands in a summary of the document's subject."""
    return any(SUMMARY.search(heading) for heading in section)

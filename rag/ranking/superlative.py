"""What a superlative asks ("the most", "the least") and the kind a "which …" question asks for.

(The rule that ranked a table's extreme row first for a superlative question was switched off on the
held-out sets of the guide, 18F and the validation corpus in issue 23 and changed no answer there;
it was deleted: evals/reports/issue23/ablation/.)"""

from __future__ import annotations

import re

MOST = re.compile(
    r"\b(?:most|highest|top|best[- ]paying|top[- ]paying|largest|biggest|greatest|maximum)\b", re.IGNORECASE
)
LEAST = re.compile(r"\b(?:least|lowest|cheapest|smallest|fewest|minimum|worst[- ]paying)\b", re.IGNORECASE)

# "Which city …", "what metro …": the word after the interrogative names the kind asked for, not a row
# ("city" is a word of "New York City").
KIND_ASKED_FOR = re.compile(r"\b(?:which|what)\s+[\w-]+", re.IGNORECASE)


def direction(question: str) -> int:
    """+1 for "the most", -1 for "the least", 0 for neither (or both)."""
    most, least = bool(MOST.search(question)), bool(LEAST.search(question))
    return 0 if most == least else (1 if most else -1)

"""What the asker sets aside: "Besides location, what moves comp up or down?" asks about everything
but location, yet "location" pulls the salary-by-city rows to the top. The set-aside phrase is taken
out of the query before retrieval."""

from __future__ import annotations

import re

# "besides X", "other than X", "apart from X" … up to the next punctuation mark.
SET_ASIDE = re.compile(
    r"\b(?:besides|beyond|other\s+than|apart\s+from|aside\s+from|except(?:\s+for)?|excluding|not\s+counting)\b"
    r"[^,;:?.!]*[,;:]?",
    re.IGNORECASE,
)


def set_aside_phrases(question: str) -> list[str]:
    """The phrases `question` sets aside ("besides San Francisco,")."""
    return [found.group(0) for found in SET_ASIDE.finditer(question)]


def without_set_aside(question: str) -> str:
    """`question` without the phrases it sets aside; the question itself if nothing else would be left."""
    rest = " ".join(SET_ASIDE.sub(" ", question).split())
    return rest if re.search(r"\w", rest) else question

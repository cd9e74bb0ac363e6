"""Years of experience to the guide's level: "a candidate with 4 yrs experience" is asked about the
level the guide labels "Mid-Level (3-5 years)". The labels and their spans are read from the guide's
own headings and rows, so another document's levels work the same way."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# "Mid-Level (3-5 years)", "Senior Level (6+ years)": a capitalised label, then its span of years.
LEVEL = re.compile(
    r"(?P<label>[A-Z][\w-]*(?:[ -][A-Z][\w-]*){0,3})\s*\(\s*(?P<low>\d+)\s*(?:[-–]\s*(?P<high>\d+)|(?P<plus>\+))\s*years?\s*\)"
)
NUMBER_WORDS = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()  # noqa: SIM905
    )
}
# "4 yrs experience", "with about four years", "6+ years in industry" — but not "3 years of PyTorch"
# (experience of one tool, not a level), "how many years" or "for 2 years" (a duration).
YEARS_ASKED = re.compile(
    r"(?<!many\s)(?<![\d-])(?P<n>\d{1,2}|" + "|".join(NUMBER_WORDS) + r")\s*\+?\s*(?:years?|yrs?)\b"
    r"(?!\s+of\s+(?!experience|exp\b|work))(?P<experience>\s+(?:of\s+)?(?:experience|exp)\b)?",
    re.IGNORECASE,
)
DURATION = re.compile(r"\b(?:for|in|within|next|over)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Level:
    label: str
    low: int
    high: int | None  # None: "6+ years"

    def holds(self, years: int) -> bool:
        return self.low <= years and (self.high is None or years <= self.high)


def levels_in(texts: Iterable[str]) -> tuple[Level, ...]:
    """Every labelled span of years in the texts, once each."""
    found: dict[tuple[str, int, int | None], Level] = {}
    for text in texts:
        for m in LEVEL.finditer(text):
            high = None if m.group("plus") else int(m.group("high"))
            level = Level(m.group("label").strip(), int(m.group("low")), high)
            found.setdefault((level.label, level.low, level.high), level)
    return tuple(found.values())


def years_asked(question: str) -> int | None:
    match = YEARS_ASKED.search(question)
    if match is None:
        return None
    if DURATION.search(question[: match.start()]) and not match.group("experience"):
        return None  # "a contract for 2 years", "in 5 years": how long, not how experienced
    n = match.group("n").lower()
    return int(n) if n.isdigit() else NUMBER_WORDS[n]


def with_level_named(question: str, levels: tuple[Level, ...]) -> str:
    """The question, followed by the label of every level whose span holds the years it mentions
    (unless it names that label already)."""
    years = years_asked(question)
    if years is None:
        return question
    lowered = question.lower()
    labels = [lv.label for lv in levels if lv.holds(years)]
    missing = [label for label in dict.fromkeys(labels) if label.lower() not in lowered]
    return f"{question} ({', '.join(missing)})" if missing else question

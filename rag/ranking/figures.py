"""Questions that ask for a figure: how many, what share, how long, how much. The answerer declines
such a question when its answer quotes no figure; retrieval keeps the guide's summary lines in reach
of it, since a summary line is mostly a figure with a label ("Remote Friendly: 85% of positions …")."""

from __future__ import annotations

import re

# How many, what share, how long, how much (money or time: "how much do they earn", not "how much
# data engineering background").
ASKS_FOR_A_FIGURE = re.compile(
    r"\b(?:how\s+many|how\s+long|how\s+often|how\s+big|what\s+(?:percentage|percent|share|proportion|ratio)"
    r"|how\s+much(?=\s+(?:do|does|did|should|would|will|can|could|is|are|was|were|money|time|extra|more|less"
    r"|pay|salary|of\s+a)\b))",
    re.IGNORECASE,
)
# ... and a question that asks for a percentage is answered by one: a salary range does not say what
# "equity percentage" is typical.
ASKS_FOR_A_PERCENTAGE = re.compile(
    r"\bpercent(?:age)?s?\b|\bwhat\s+(?:share|proportion|fraction)\s+of\b", re.IGNORECASE
)

# A figure in digits or in words ("four interviewers", "twice a year", "no bank of sick days").
FIGURE = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty"
    r"|hundred|thousand|million|dozen|half|once|twice|single|double|triple)\b",
    re.IGNORECASE,
)


def asks_for_a_figure(question: str) -> bool:
    return bool(ASKS_FOR_A_FIGURE.search(question) or ASKS_FOR_A_PERCENTAGE.search(question))


def asks_for_a_percentage(question: str) -> bool:
    return bool(ASKS_FOR_A_PERCENTAGE.search(question))

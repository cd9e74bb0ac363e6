"""Roles the guide names but never pays. The guide's salary figures are for the role it is about; it
names others in passing ("cross-functional teams including data scientists … product managers", "a
clear progression to … ML Architect"). Asked what a data scientist earns, the closest passages are the
AI engineer's salary rows, quoted confidently and wrongly. A pay question about a role the guide
names only where it says nothing about pay is declined instead.

Both sides are read from the guide: the roles it names, and the roles named where it speaks of pay
("… a 56-80% wage premium over traditional software engineering" makes software engineers a
role whose pay the guide relates to, so "how much more than a software engineer?" stays answered)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from rag.reading.text import STOPWORDS, raw_words, stem

# A person's job, as a noun: "engineers", not "engineering"; "managers", not "management".
JOB = r"(?:engineer|scientist|architect|lead|manager|analyst|developer|researcher|designer|director|recruiter)s?"
PERSON = re.compile(JOB)
NAMES_A_JOB = re.compile(rf"\b{JOB}\b", re.IGNORECASE)
# Where the guide speaks of pay: a figure in dollars, or a word for pay.
SPEAKS_OF_PAY = re.compile(
    r"\$\d|\b(?:salary|salaries|compensation|pay|paid|wages?|earn|earns|earning|premium)\b", re.IGNORECASE
)
# Where a question asks about pay. "Make" only as "how much … make": "how do we make data scientists
# and engineers work together?" asks nothing about pay.
ASKS_ABOUT_PAY = re.compile(
    r"\b(?:salary|salaries|compensation|comp|tc|pay|paid|wages?|earn|earns|earning|earnings)\b"
    r"|\bhow\s+much\b.*\bmake\b",
    re.IGNORECASE,
)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

Role = tuple[str, str]  # (the word before, the job), stemmed: ("data", "scientist")


def roles_in(text: str, people_only: bool = True) -> set[Role]:
    """The roles a text names: a job noun and the word before it ("data scientists", "ML Architect").
    With `people_only` off, also the work ("software engineering"), which stems the same."""
    words = raw_words(text)
    found: set[Role] = set()
    for before, word in itertools.pairwise(words):
        if before in STOPWORDS or not before.isalpha():
            continue  # "an engineer", "3+ engineers": no role, only the job
        if people_only and not PERSON.fullmatch(word):
            continue
        found.add((stem(before), stem(word)))
    return found


def unpaid_roles(texts: Iterable[str]) -> frozenset[Role]:
    """The roles the texts name, less those named in a sentence that speaks of pay, and less every
    role with the job of a paid person: without parts of speech, "strong engineers" reads like a role,
    and the guide that pays AI engineers has not left strong engineers unpaid."""
    named: set[Role] = set()
    paid: set[Role] = set()
    paid_jobs: set[str] = set()
    for text in texts:
        # Most chunks name no job and say nothing of pay: a regex, not a tokenizer, tells (this runs
        # for every chunk when an index loads).
        if not (NAMES_A_JOB.search(text) or SPEAKS_OF_PAY.search(text)):
            continue
        for sentence in SENTENCE.split(text):
            roles = roles_in(sentence)
            named |= roles
            if SPEAKS_OF_PAY.search(sentence):
                paid |= roles_in(sentence, people_only=False)
                paid_jobs |= {job for _, job in roles}
    return frozenset(role for role in named - paid if role[1] not in paid_jobs)


def unpaid_roles_asked(question: str, unpaid: frozenset[Role]) -> list[str]:
    """The roles a pay question asks about that the guide gives no pay for ("data scientist")."""
    if not unpaid or not ASKS_ABOUT_PAY.search(question):
        return []
    return [" ".join(role) for role in sorted(roles_in(question)) if role in unpaid]

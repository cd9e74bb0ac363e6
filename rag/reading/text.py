"""Words for lexical matching: lower-cased, stemmed, stopwords dropped."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

WORD = re.compile(r"[a-z0-9$][a-z0-9$,.+%/-]*[a-z0-9+%]|[a-z0-9$]")
WORD_PARTS = re.compile(r"[-/.,]+")
JOINERS = re.compile(r"[-/]")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "us",
        "get",
        "got",
        "give",
        "tell",
        "let",
        "lets",
        "i'd",
        "i'm",
        "what's",
        "whats",
        "us",
        "one",
        "ones",
        "much",
        "many",
        "also",
        "like",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def raw_words(text: str) -> list[str]:
    """Lower-cased words; numbers keep their inner punctuation ($160,000, 1.4x, 0-2)."""
    words: list[str] = []
    for match in WORD.finditer(text.lower().replace("’", "'")):
        word = match.group(0)
        # Split hyphenated and slashed words ("fine-tuning", "remote/hybrid") but keep numbers whole.
        # (The cheap test first: this runs for every word of every chunk when an index loads.)
        if ("-" in word or "/" in word) and any(ch.isalpha() for ch in word):
            words.extend(part for part in WORD_PARTS.split(word) if part)
            words.append(JOINERS.sub("", word))
        else:
            words.append(word.rstrip(".,"))
    return [w for w in words if w]


def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning (stopwords removed), in order, with repeats."""
    return [stem(w) for w in raw_words(text) if w not in STOPWORDS and w != "s"]

"""Names the guide never mentions. A question about Miami, a 401k or H-1B visas cannot be answered
from a guide in which those words do not occur, however close its salary rows are in meaning; such
a question is declined, naming what the guide lacks. So is a question about what the guide only
promises: "Legal compliance guidelines for inclusive hiring" in its preview, and nothing legal in its body."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.ranking.lexicon import SynonymGroup
from rag.reading.text import STOPWORDS, content_terms, raw_words, stem

# A word, hyphenated or slashed words, or a code with a bracketed letter ("401(k)", "403(b)").
NAME = re.compile(r"[\w'’]+(?:\([A-Za-z0-9]\))?(?:[-/][\w'’]+)*")
HYPHEN = re.compile(r"[-/]")  # "Industry-specific" leads with "industry"
SENTENCE_END = re.compile(r"[.?!:;—–\"“(<>]\s*$")
MIN_NAME_CHARS = 3


def corpus_vocabulary(texts: Iterable[str], synonyms: tuple[SynonymGroup, ...]) -> frozenset[str]:
    """Every word of the corpus and of the domain vocabulary, as written and as stemmed."""
    words: set[str] = set()
    for text in texts:
        for word in raw_words(text):
            words.add(word)
            words.add(stem(word))
    for group in synonyms:
        for phrase in group.phrases:
            words.update(phrase)
    return frozenset(words)


def looks_like_name(token: str) -> bool:
    """Capitalised, all capitals, or letters mixed with digits (401k, H-1B) — a proper name or code."""
    letters = re.sub(r"[^A-Za-z0-9]", "", token)
    if len(letters) < MIN_NAME_CHARS:
        return False
    has_digit = any(c.isdigit() for c in letters)
    has_alpha = any(c.isalpha() for c in letters)
    return (letters[0].isupper() and has_alpha) or (has_digit and has_alpha)


def unknown_names(question: str, vocabulary: frozenset[str]) -> list[str]:
    """Names in the question (not at the start of a sentence) of which the guide has no word."""
    unknown: list[str] = []
    for match in NAME.finditer(question):
        token = match.group(0)
        before = question[: match.start()]
        if not before.strip() or SENTENCE_END.search(before):
            continue  # a capital at the start of a sentence says nothing
        if not looks_like_name(token):
            continue
        # A bracketed code is one name ("401(k)" is "401k"), not a number and a letter the guide may well have.
        words = [re.sub(r"\W", "", token).lower()] if "(" in token else raw_words(token)
        if words and all(w not in vocabulary and stem(w) not in vocabulary and w not in STOPWORDS for w in words):
            unknown.append(token)
    return list(dict.fromkeys(unknown))


def promised_only(delivered: set[str], previews: Iterable[str], synonyms: tuple[SynonymGroup, ...]) -> frozenset[str]:
    """The topics the guide promises where it describes itself (a preview, a table of contents:
    rag/ranking/preview.py) and does not cover: the word each promise leads with ("Legal compliance
    guidelines …") when the body's words (`delivered`, stemmed) do not hold it, not even as a synonym
    of a body word ("tech" is in the body as "technology"). Only the leading word: the others are how
    a promise is phrased ("… across major markets"), and declining every question about "major" red
    flags would be wrong."""
    covered = set(delivered)
    for group in synonyms:
        if any(all(term in delivered for term in phrase) for phrase in group.phrases):
            covered.update(term for phrase in group.phrases for term in phrase)
    leading = {terms[0] for text in previews if (terms := content_terms(HYPHEN.sub(" ", text)))}
    return frozenset(term for term in leading - covered if term.isalpha())


def only_promised(question: str, promised: frozenset[str]) -> list[str]:
    """The question's words that name a topic the guide only promises."""
    return [term for term in dict.fromkeys(content_terms(question)) if term in promised]

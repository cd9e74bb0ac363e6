"""Where a question is answered: choose the sentences, bullets or rows of the guide that answer it,
quote each with exact offsets and follow it with its `[n]` — or abstain when the guide does not
cover the question. No text is generated; every word of substance is the guide's own."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answering.quoting import (
    Quote,
    QuoteGroup,
    answer_span,
    lead_in,
    list_asked,
    list_led_in,
    section_groups,
    under_shared_heading,
    unit_terms,
    whole_list,
)
from rag.answering.shapes import Asked, Outline, Shape
from rag.models import Answer, Chunk, Citation, RetrievedChunk, cite
from rag.ranking.figures import ASKS_FOR_A_FIGURE, ASKS_FOR_A_PERCENTAGE, FIGURE
from rag.reading.sentences import split_sentences
from rag.reading.text import STOPWORDS, content_terms, raw_words, stem

DEFAULT_THRESHOLD = 0.35

# A percentage, which a question for one needs (rag/ranking/figures.py).
PERCENTAGE = re.compile(r"\d\s?%|\bper\s?cent\b", re.IGNORECASE)
# A question that counts something is answered by a figure that names it: "how many weeks of leave"
# is not answered by a salary.
HOW_MANY = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
PHRASE_WORD = re.compile(r"[A-Za-z][\w'-]*|[^\w\s]")
# Stems of spans of time, which answer for each other ("how many weeks to hire?": "2-4 months").
DURATIONS = frozenset({"hour", "day", "week", "month", "quarter", "year"})
# A rate of pay per period ("what hourly rate", "a day rate", "monthly salary") is answered by a figure
# per that period, not by an annual salary.
RATE_PER = re.compile(
    r"\b(?:hourly|daily|weekly|monthly|per\s+(?:hour|day|week|month)|(?:hour|day)\s+rate)\b", re.IGNORECASE
)
PAY = re.compile(
    r"\b(?:rates?|pay|paid|salary|salaries|wages?|charges?|bill|earn|earns|make|costs?|comp)\b", re.IGNORECASE
)
PERIODS = {"hour": "hour", "hourly": "hour", "day": "day", "daily": "day", "week": "week", "weekly": "week"}
PERIODS |= {"month": "month", "monthly": "month"}
# A year in a heading dates the guide ("AI Skills & Tools for AI Engineers in 2026"); it answers no
# "how many" (a heading's other figures do: "Senior Level (6+ years)").
YEAR = re.compile(r"\b(?:19|20)\d\d\b")


@dataclass(frozen=True)
class AnswerConfig:
    # At most two passages for a one-part question. A third was quoted 5 times on the tune split and
    # the blind-written set (evals/datasets/fresh.jsonl), added no fact and was off the evidence 4
    # times: citation support .758 -> .809 on tune, .717 -> .725 on fresh, no fact lost on any set.
    # A several-part question still cites the best passage of each part.
    max_citations: int = 2
    # A further chunk joins the answer when it is nearly as good as the best one (on the tune split,
    # 0.97 cites fewer passages off the evidence than 0.95 and loses no fact; 0.98 loses facts) ...
    follow_ratio: float = 0.97
    # ... or, a little less good, when it is a sibling of the best one (another bullet of the same list).
    sibling_ratio: float = 0.9
    # ... and only when it matches a word of the question that the chunks before it do not, unless it
    # is a sibling and the question names the list (its heading: "tips for the posting" asks for the
    # "Posting Optimization Tips"): a runner-up that matches only what the best one matched adds a
    # quote to read, not an answer. Measured on the tune split and a set written blind to it
    # (evals/datasets/fresh.jsonl): citation support .737 -> .758 and .643 -> .667, one fact lost
    # on tune (q33, whose evidence is a runner-up matching the same words), none on fresh.
    new_words_only: bool = True
    # Short units are quoted whole; longer ones are cut to their best sentence.
    whole_unit_words: int = 60
    # A paragraph that chunking cut at sentence ends is quoted whole, all its pieces, when it holds at
    # most this many words: its next sentence is often the rest of the answer ("Term renewals are not
    # automatic." … "mutual consent"). 0 turns it off. On the tune sets: 18F fact recall .641 -> .679
    # at 90 (60: .654; 120: as 90), median answer 36 -> 45 words; the guide's answers unchanged.
    whole_paragraph_words: int = 90
    # A question for a figure ("how many …?") whose answer quotes none abstains. On top of the
    # abstention model, where it is also a signal: as a rule it declined two more of 18F's 16 tune
    # unanswerables (one answerable too) and one more on each of the guide's unread sets.
    figures_or_nothing: bool = True
    # The answer takes the shape the question asks for (rag/answering/shapes.py): a whole list, a part of the
    # document, a table row alone. Off: one passage per part and close runners-up, as before.
    shapes: bool = True


def load_threshold(path: Path, override: float | None = None) -> float:
    """The abstention threshold: an explicit setting, else what calibration wrote, else the default."""
    if override is not None:
        return override
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_THRESHOLD


def candidate_quotes(chunk: Chunk, whole_unit_words: int) -> list[tuple[int, int]]:
    start, end = answer_span(chunk)
    body = chunk.text[start - chunk.start : end - chunk.start]
    if len(body.split()) <= whole_unit_words:
        return [(start, end)]
    return [(start + s, start + e) for s, e in split_sentences(body)]


def relevance(question_vector: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    return vectors @ question_vector


class ExtractiveAnswerer:
    """Quotes the documents. Abstains below the calibrated threshold: of the probability that the
    documents answer the question (rag/answering/abstaining.py), or, given no model, of the best
    passage's similarity."""

    name = "extractive"

    def __init__(self, embed_model: BaseEmbedding, threshold: float, config: AnswerConfig | None = None) -> None:
        self.embed_model = embed_model
        self.threshold = threshold
        self.config = config or AnswerConfig()

    def confidence(self, retrieved: Sequence[RetrievedChunk]) -> float:
        """How well the guide covers the question: the best dense similarity among the retrieved chunks."""
        return max((r.dense_score for r in retrieved), default=0.0)

    def compose(
        self,
        query_id: str,
        question: str,
        dense_question: str,
        retrieved: Sequence[RetrievedChunk],
        parts: int = 1,
        asked: Asked | None = None,
        confidence: float | None = None,
    ) -> Answer:
        """The answer to `question` from `retrieved` (ranked; a several-part question's first `parts`
        are the best of each part). With what the question `asked` of the documents' structure, a list
        question is answered with its whole list and a question about a part with that part. Below the
        threshold it abstains: `confidence` is the calibrated probability that the documents answer
        the question (rag/answering/abstaining.py); without one, the best passage's similarity decides."""
        if confidence is None:
            confidence = self.confidence(retrieved)
        if not retrieved or confidence < self.threshold:
            return replace(abstention(query_id, question, retrieved), confidence=confidence)
        shape, groups = self.plan(question, dense_question or question, retrieved, parts, asked)
        outline = asked.outline if asked is not None else None
        citations: list[Citation] = []
        lines: list[str] = []
        stated: list[str] = []  # what the answer states: its quotes, and its headings but for their dates
        for group in groups:
            if group.heading:
                lines.append(f"{group.heading}:")
            for quote in group.quotes:
                n = len(citations) + 1
                chunk = quote.chunk
                citation = cite(n, chunk, quote.start, quote.end, quote.text, round(quote.score, 4))
                citations.append(citation)
                headings = "" if group.heading else lead_in(chunk, outline)
                lines.append(f"{'- ' if group.heading else ''}{headings}{citation.quote} [{n}]")
                stated.append(f"{YEAR.sub('', group.heading or headings)}{citation.quote}")
            if group.more:
                lines.append(group.more)
        if self.config.figures_or_nothing and self.asks_for_a_figure_in_vain(question, stated):
            # "How many interview rounds?" answered by a passage about interviews with no number in it
            # is not an answer: the guide gives no figure for it.
            return abstention(query_id, question, retrieved)
        return Answer(
            query_id, question, "\n".join(lines), True, citations, list(retrieved), shape=shape, confidence=confidence
        )

    def plan(
        self,
        question: str,
        dense_question: str,
        retrieved: Sequence[RetrievedChunk],
        parts: int,
        asked: Asked | None,
    ) -> tuple[Shape, list[QuoteGroup]]:
        """The answer's shape and what it quotes, group by group (a list under its heading, or loose
        passages that each carry their own headings)."""
        if not self.config.shapes:
            asked = None
        whole = (asked.section or asked.part) if asked is not None else None
        if parts > 1 and asked is not None and whole is not None:
            # "What does a good mid-level engineer look like, and what would disqualify one?": when every
            # part lands in the part of the guide the question asks about, that part answers it.
            source, path = whole
            if all(r.chunk.source == source and r.chunk.section[: len(path)] == path for r in retrieved[:parts]):
                found = section_groups(asked.outline, whole, retrieved[0].score)
                if sum(len(group.quotes) for group in found) > 1:
                    return "section", self.keeping(retrieved[0], found, dense_question, asked)
        if parts > 1:
            # The best passage of each part; a part that is an item of a list the question asks for
            # by name ("the must-have and nice-to-have qualifications") brings its whole list.
            groups: list[QuoteGroup] = []
            asked_terms = set(content_terms(question)) - (asked.outline.common if asked is not None else frozenset())
            listed_already: set[tuple[str, tuple[str, ...]]] = set()
            for passage in retrieved[:parts]:
                chunk = passage.chunk
                # Only a list the question names by its heading, and once (a table row stays one row:
                # the question named it, or its part did).
                heading = chunk.section[-1] if chunk.section else ""
                named = chunk.kind == "bullet" and bool(asked_terms & set(content_terms(heading)))
                place = (chunk.source, chunk.section)
                listed = (
                    whole_list(question, passage, asked, named=True)
                    if asked is not None and named and place not in listed_already
                    else None
                )
                if listed is not None:
                    listed_already.add(place)
                    groups.append(listed)
                    continue
                quote = self.best_quotes(dense_question, [passage])
                if groups and not groups[-1].heading:
                    groups[-1].quotes.extend(quote)
                else:
                    groups.append(QuoteGroup("", quote))
            return "comparison", [under_shared_heading(group, asked) for group in groups]
        best = retrieved[0]
        if asked is not None and asked.section is not None:
            found = section_groups(asked.outline, asked.section, best.score)
            if sum(len(group.quotes) for group in found) > 1:  # a part of one passage is a fact
                return "section", self.keeping(best, found, dense_question, asked)
        if asked is not None:
            shaped = list_asked(question, retrieved, asked)
            if shaped is not None and sum(len(group.quotes) for group in shaped[1]) > 1:
                return shaped[0], self.keeping(best, shaped[1], dense_question, asked)
        if asked is not None:
            led = list_led_in(best, asked.outline)
            if led is not None:
                return "list", led
        if best.chunk.kind == "table_row" and self.config.shapes:
            # One row answers a question about one row; a runner-up row is no answer to it.
            return "table", [QuoteGroup("", self.best_quotes(dense_question, [best]))]
        if asked is not None and asked.section is None and asked.whole_part:
            # "What does the guide advise about …?" where no heading is named: the best passage's whole
            # unit (a paragraph cut at sentence ends comes back together), not its first piece alone.
            pieces = asked.outline.unit_of(best.chunk)
            if len(pieces) > 1:
                spans = [answer_span(piece) for piece in pieces]
                return "fact", [QuoteGroup("", [Quote(p, *span, best.score) for p, span in zip(pieces, spans)])]
        chosen = self.choose_chunks(retrieved, parts, dense_question)
        quotes = self.best_quotes(dense_question, chosen)
        if asked is not None and self.config.whole_paragraph_words:
            quotes = self.whole_paragraphs(quotes, asked.outline)
        return "fact", [QuoteGroup("", quotes)]

    def whole_paragraphs(self, quotes: list[Quote], outline: Outline) -> list[Quote]:
        """Each quote of a paragraph cut in pieces, as all its pieces when they are few words together."""
        whole: list[Quote] = []
        seen: set[str] = set()
        for quote in quotes:
            pieces = outline.unit_of(quote.chunk) if quote.chunk.kind == "paragraph" else [quote.chunk]
            words = sum(len(p.plain_text.split()) for p in pieces)
            if len(pieces) < 2 or words > self.config.whole_paragraph_words:
                pieces = [quote.chunk]
            for piece in pieces:
                if piece.chunk_id in seen:
                    continue
                seen.add(piece.chunk_id)
                whole.append(quote if piece is quote.chunk else Quote(piece, *answer_span(piece), quote.score))
        return whole

    def keeping(self, best: RetrievedChunk, groups: list[QuoteGroup], question: str, asked: Asked) -> list[QuoteGroup]:
        """`groups`, led by the best passage when none of them quotes it and it matches a word of the
        question that few passages use and they do not: a list or part taken from elsewhere adds to
        what the best passage says ("compensation factors: company size, funding stage, …"), without an
        unrelated best passage leading it (a culture-fit question before the key responsibilities)."""
        quoted = [q.chunk for group in groups for q in group.quotes]
        chunk = best.chunk
        if any(c.source == chunk.source and c.start < chunk.end and chunk.start < c.end for c in quoted):
            return groups
        covered = set().union(*(unit_terms(c) for c in quoted)) if quoted else set()
        if not (asked.rare & unit_terms(chunk)) - covered:
            return groups
        return [QuoteGroup("", self.best_quotes(question, [best])), *groups]

    @staticmethod
    def asks_for_a_figure_in_vain(question: str, stated: Sequence[str]) -> bool:
        """The question asks for a figure (a percentage, a count of something) and nothing the answer
        states holds one."""
        if ASKS_FOR_A_PERCENTAGE.search(question):
            return not any(PERCENTAGE.search(text) for text in stated)
        rate = RATE_PER.search(question)
        if rate is not None and PAY.search(question):
            asked = periods_in(rate.group(0))
            if not any(FIGURE.search(text) and asked & periods_in(text) for text in stated):
                return True
        unit = counted_unit(question)
        if unit is not None:
            units = DURATIONS if unit in DURATIONS else {unit}
            if not any(units.intersection(stem(w) for w in raw_words(text)) for text in stated):
                return True
        return bool(ASKS_FOR_A_FIGURE.search(question)) and not any(FIGURE.search(text) for text in stated)

    def choose_chunks(
        self, retrieved: Sequence[RetrievedChunk], parts: int = 1, question: str = ""
    ) -> list[RetrievedChunk]:
        """The best chunk of each part (a several-part ranking starts with them), then close runners-up
        that match words of `question` (as the retriever searched it) that the chunks before them do
        not, or, when `question` names the best chunk's list, close siblings."""
        chosen = list(retrieved[: max(parts, 1)])
        if parts > 1:
            return chosen
        best = retrieved[0]
        asked = set(content_terms(question))
        matched = asked & unit_terms(best.chunk)
        names_the_list = bool(best.chunk.section and asked & set(content_terms(best.chunk.section[-1])))
        for candidate in retrieved[1 : self.config.max_citations]:
            sibling = candidate.chunk.section == best.chunk.section and candidate.chunk.kind == best.chunk.kind
            ratio = self.config.sibling_ratio if sibling else self.config.follow_ratio
            if candidate.score < ratio * best.score:
                continue
            new = (asked & unit_terms(candidate.chunk)) - matched
            if self.config.new_words_only and not new and not (sibling and names_the_list):
                continue
            chosen.append(candidate)
            matched |= new
        return chosen

    def best_quotes(self, question: str, chosen: list[RetrievedChunk]) -> list[Quote]:
        """The best sentence (or whole short unit) of each chosen chunk."""
        spans = [(r, candidate_quotes(r.chunk, self.config.whole_unit_words)) for r in chosen]
        needs_ranking = [(r, s) for r, s in spans if len(s) > 1]
        ranked: dict[str, tuple[int, int]] = {}
        if needs_ranking:
            question_vector = np.asarray(self.embed_model.get_query_embedding(question))
            texts = [
                r.chunk.text[s - r.chunk.start : e - r.chunk.start] for r, group in needs_ranking for s, e in group
            ]
            vectors = np.asarray(self.embed_model.get_text_embedding_batch(texts))
            scores = relevance(question_vector, vectors)
            terms = set(content_terms(question))
            offset = 0
            for r, group in needs_ranking:
                part = scores[offset : offset + len(group)]
                lexical = [len(terms & set(content_terms(texts[offset + i]))) for i in range(len(group))]
                offset += len(group)
                best = max(range(len(group)), key=lambda i: (part[i] + 0.05 * lexical[i], -i))
                ranked[r.chunk.chunk_id] = group[best]
        quotes = []
        for r, group in spans:
            start, end = ranked.get(r.chunk.chunk_id, group[0])
            quotes.append(Quote(r.chunk, start, end, r.score))
        return quotes


def periods_in(text: str) -> set[str]:
    """The periods a text names ("per hour", "hourly", "days": hour, hour, day)."""
    return {period for word in raw_words(text) if (period := PERIODS.get(word.removesuffix("s")))}


def counted_unit(question: str) -> str | None:
    """What a "how many" question counts, stemmed: the last word of the phrase after it ("how many PTO
    days is …" counts days); None when the phrase is empty ("… and roughly how many?")."""
    match = HOW_MANY.search(question)
    if match is None:
        return None
    unit = None
    for word in PHRASE_WORD.findall(question[match.end() :]):
        if not word[0].isalpha() or word.lower() in STOPWORDS or word.lower() == "per":
            break
        unit = word
    return stem(unit.lower()) if unit else None


def closest_sections(retrieved: Sequence[RetrievedChunk], limit: int = 3) -> list[str]:
    sections: list[str] = []
    for r in retrieved:
        if r.chunk.section_path and r.chunk.section_path not in sections:
            sections.append(r.chunk.section_path)
        if len(sections) == limit:
            break
    return sections


def abstention(query_id: str, question: str, retrieved: Sequence[RetrievedChunk]) -> Answer:
    sections = closest_sections(retrieved)
    message = "The guide does not cover that."
    if sections:
        message += " The closest sections are: " + "; ".join(sections) + "."
    return Answer(query_id, question, message, False, [], list(retrieved))

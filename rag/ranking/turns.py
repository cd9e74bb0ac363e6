"""A turn of a conversation, read against the turns before it.

Whether a turn depends on the earlier ones is read from its language, not from the documents, so it
holds on any handbook: a turn that opens with a connective ("and in Seattle?", "what about seniors?"),
points back with a pronoun ("what skills should *they* have?", "how long does *that* take?", "a
senior *one*") or is a fragment with no question of its own ("seniors?", "salary in Boston") depends
on them; any other turn is a question of its own and is answered as if asked alone, whatever came
before ("What are the key responsibilities?" after a salary question).

A dependent turn is resolved into one sentence:
- a fragment or a connective's tail ("and in Seattle?") is set into the earlier question: a value of
  a kind the earlier question named (a city for a city, a level for a level: rag/ranking/followup.py)
  takes the old value's place, anything else is added to it. Every value the conversation set and
  the turn does not replace is kept, over any number of turns, because the earlier question is
  itself the resolved one;
- a question of its own that points back ("What skills should they have?") keeps its words and names
  what it points back to in brackets: the values the earlier question named, else its topic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.ranking.followup import Slots
from rag.ranking.lexicon import SynonymGroup, canonical_terms
from rag.ranking.superlative import direction
from rag.reading.text import content_terms, raw_words, stem

CONNECTIVE = re.compile(
    r"^\s*(?:(?:and|but|or|so|also|ok|okay|then)\b[\s,]*)*"
    r"(?:(?:what|how)\s+about|what\s+of|same\s+(?:for|in|at|with)|(?:and|also)\b)?[\s,]*",
    re.IGNORECASE,
)
OPENS_WITH_CONNECTIVE = re.compile(
    r"^\s*(?:and|or|also|but|ok(?:ay)?\s+and|so|then|(?:what|how|wat|hw)\s+abo?u?t|what\s+of|same\s+(?:for|in|at|with))\b",
    re.IGNORECASE,
)
# A question of its own opens with a question word or an auxiliary ("what…", "is…", "can we…"), or
# asks with a verb of asking ("tell me…", "list…").
QUESTION_OPENING = re.compile(
    r"^\s*(?:what|what's|whats|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|"
    r"can|could|should|would|will|may|must|shall|has|have|had|tell|list|give|show|explain|describe|"
    r"summari[sz]e|compare|name|i|we|our|my|any|please)\b",
    re.IGNORECASE,
)
# Pronouns that point back (possessives are left out: "change their dental plan" points inside the
# question far more often than back). "There" only where it names a place ("senior engineer there"), not in
# "is there …"; "that", "this", "these", "those" only after a verb or a preposition ("does that
# take", "about this"), not as a relative pronoun ("skills that matter").
POINTS_BACK = re.compile(
    r"\b(?:they|them|he|she|him)\b"
    # "it" unless it opens an impersonal phrase ("is it legal to ask", "it is worth noting that").
    r"|\bit\b(?!\s+(?:is\s+|'s\s+|was\s+)?\w+\s+(?:to|that)\b)"
    r"|(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )(?<!\bbe )\bthere\b(?!\s+(?:is|are|was|were|be|any)\b)"
    r"|\b(?:does|do|did|is|was|are|were|about|for|of|with|on|in|to|after|before|like|mean|cover|include)"
    r"\s+(?:that|this|these|those|it(?!\s+\w+\s+(?:to|that)\b))\b"
    r"|\b(?:a|an|the|which|that)\s+(?:\w+\s+)?ones?\b"
    r"|\bthe\s+same\b",
    re.IGNORECASE,
)
# Words that say how the question asks, not what about ("how long", "how much").
ASKING_WORDS = frozenset({"long", "much", "many", "often", "big", "soon", "else", "more", "less", "exactly"})
# A fragment this short ("seniors?", "salary in Boston") has no question of its own.
FRAGMENT_TERMS = 3
# Pronouns dropped from a tail set into the earlier question: the earlier question names the place.
TAIL_POINTERS = re.compile(r"\b(?:there|then|too|as\s+well|instead)\b|\bones?\b", re.IGNORECASE)
LEADING = re.compile(r"^(?:the|a|an|in|at|for|on|with|of|to|from)$", re.IGNORECASE)
PREPOSITION = re.compile(r"^(?:in|at|for|on|with|from|during|after|before|under|over|to|of|by|within)\b", re.I)
WORD_SPAN = re.compile(r"[^\s,;:!?()\[\]{}—–]+")


def meaning_terms(text: str) -> list[str]:
    return [t for t in content_terms(text) if t not in ASKING_WORDS]


def depends_on_earlier(question: str) -> bool:
    """Whether `question`, asked after other turns, needs them to be understood."""
    if OPENS_WITH_CONNECTIVE.match(question) or POINTS_BACK.search(question):
        return True
    terms = meaning_terms(question)
    if not QUESTION_OPENING.match(question):
        return len(terms) <= FRAGMENT_TERMS
    return not terms  # "how long?", "why?"


def asks_its_own(question: str) -> bool:
    """A question with an ask of its own ("What skills should they have?"), not a value swapped into
    the earlier one ("and for juniors?"): the place the earlier turn found is not what it asks for."""
    return (
        bool(QUESTION_OPENING.match(question))
        and not OPENS_WITH_CONNECTIVE.match(question)
        and bool(meaning_terms(question))
    )


def swaps_a_value(question: str) -> bool:
    """A follow-up that sets a value into the earlier question ("and for juniors?", "And in Seattle?"),
    not one with an ask of its own, with or without a connective ("ok and where do the approvals go")."""
    tail = CONNECTIVE.sub("", question).strip()
    return not asks_its_own(question) and not (tail and asks_its_own(tail))


def resolve_followup(
    question: str,
    history: Sequence[str],
    slots: Slots | None = None,
    synonyms: tuple[SynonymGroup, ...] = (),
) -> str:
    """The question to search for: `question` itself when it stands on its own, else one sentence
    that carries what the conversation established. `history` holds the earlier turns, resolved,
    oldest first."""
    if not history or not depends_on_earlier(question):
        return question
    previous = history[-1].strip()
    if asks_its_own(question):
        return with_context(question, previous, slots or {}, synonyms)
    tail = CONNECTIVE.sub("", question).strip().rstrip("?.!").strip()
    if tail and asks_its_own(tail):
        # "ok and where do the approvals go": a question of its own after the connective.
        return with_context(tail[0].upper() + tail[1:], previous, slots or {}, synonyms)
    tail = " ".join(TAIL_POINTERS.sub(" ", tail).split()).strip(" ,")
    if not tail:
        return previous
    return set_into(previous, tail, slots or {}, synonyms)


# The kind of a superlative's extreme ("the most", "the least"): "and the least?" swaps it.
EXTREME = -1


def slots_of(words: Sequence[str], slots: Slots, synonyms: tuple[SynonymGroup, ...]) -> set[int]:
    """The kinds of value the words name: the documents' groups of alternatives, and an extreme."""
    terms = [stem(w) for w in words]
    kinds = {slots[t] for t in [*terms, *canonical_terms(terms, synonyms)] if t in slots}
    return kinds | {EXTREME} if words and direction(" ".join(words)) else kinds


def set_into(previous: str, tail: str, slots: Slots, synonyms: tuple[SynonymGroup, ...]) -> str:
    """`previous` with the values `tail` names in place of the old values of the same kind; what
    `tail` says beyond that is added at the end ("… in Seattle" + "for a senior engineer")."""
    words = WORD_SPAN.findall(previous.rstrip("?.! ").strip())
    tail_words = WORD_SPAN.findall(tail)

    def stems(word: str) -> set[str]:
        return {stem(w) for w in raw_words(word)}

    held = set().union(*(stems(w) for w in words)) if words else set()
    said = set().union(*(stems(w) for w in tail_words)) if tail_words else set()
    # A word both say ("engineer" in "a senior engineer", "leave" in "and sick leave?") is the frame
    # the value changes within: it replaces nothing and is not replaced.
    named = [
        (i, set() if stems(w) <= held else slots_of(raw_words(w), slots, synonyms)) for i, w in enumerate(tail_words)
    ]
    kinds_of = [set() if stems(w) <= said else slots_of(raw_words(w), slots, synonyms) for w in words]
    replacing = set().union(*(k for _, k in named)) & set().union(*kinds_of) if words else set()
    kept = (
        set().union(*(stems(w) for w, k in zip(words, kinds_of, strict=True) if not k & replacing)) if words else set()
    )
    if len(replacing) == 1:
        # One value swapped ("the nice to haves" for "must-have"): the tail, without its article or
        # preposition and the frame words the question keeps, takes the old value's place.
        start = next(i for i, word in enumerate(tail_words) if not LEADING.match(word))
        phrase = {i: replacing for i in range(start, len(tail_words)) if not stems(tail_words[i]) <= kept}
    else:
        phrase = {i: kinds & replacing for i, kinds in named if kinds & replacing}
    out: list[str] = []
    placed: set[int] = set()
    for word, kinds in zip(words, kinds_of, strict=True):
        kinds = kinds & replacing
        if not kinds:
            out.append(word)
            continue
        if kinds <= placed:
            continue  # the old value spelled in several words ("New York City"): one replacement
        placed |= kinds
        # The tail's words of that kind, as the asker wrote them, in the old value's place.
        out.extend(tail_words[i] for i, k in phrase.items() if k & kinds)
    rest = [word for i, word in enumerate(tail_words) if i not in phrase and not (replacing and stems(word) <= kept)]
    if not phrase and (swapped := with_modifier_swapped(words, rest)) is not None:
        return " ".join(swapped) + "?"
    sentence = " ".join(out)
    if rest and meaning_terms(" ".join(rest)):
        joined = " ".join(rest)
        sentence += (" " if PREPOSITION.match(joined) else ", ") + joined
    return sentence + "?"


def with_modifier_swapped(words: list[str], tail: list[str]) -> list[str] | None:
    """ "and sick leave?" after "How many days of annual leave do I get?": the tail ends in a word the
    earlier question holds (its head, "leave"), so its words before that head take the place of the
    words before it there ("annual"). None when the tail shares no head with the earlier question."""
    tail = [w for w in tail if not LEADING.match(w)]
    if len(tail) < 2 or not content_terms(tail[-1]):
        return None
    head = stem(raw_words(tail[-1])[-1]) if raw_words(tail[-1]) else ""
    at = next((i for i, w in enumerate(words) if head in {stem(x) for x in raw_words(w)}), None)
    modifiers = tail[:-1]
    if at is None or at < len(modifiers) or not all(content_terms(w) for w in modifiers):
        return None
    before = words[at - len(modifiers) : at]
    if not all(content_terms(w) for w in before):
        return None  # "of leave" has no modifier to swap: nothing of the same kind to replace
    return [*words[: at - len(modifiers)], *modifiers, *words[at:]]


def with_context(question: str, previous: str, slots: Slots, synonyms: tuple[SynonymGroup, ...]) -> str:
    """`question` with what it points back to named in brackets: the values the earlier question
    named of kinds the question does not name itself ("What skills should they have (juniors)?"
    after the juniors' red flags: skills take the place of red flags), else the earlier question's
    topic."""
    words = WORD_SPAN.findall(previous.rstrip("?.! "))
    own = set(content_terms(question))
    asked = slots_of(raw_words(question), slots, synonyms)
    # What the earlier question asked about stands before its first preposition ("red flags"), what
    # it was asked of after it ("for a junior hire"): a question that points back asks about something
    # else of the latter.
    after = next((i + 1 for i, w in enumerate(words) if PREPOSITION.match(w)), 0)
    values = [w for w in words[after:] if (kinds := slots_of(raw_words(w), slots, synonyms)) and not kinds & asked] or [
        w for w in words if (kinds := slots_of(raw_words(w), slots, synonyms)) and not kinds & asked
    ]
    context = [w for w in values if not set(content_terms(w)) <= own]
    if not context:
        context = [w for w in words if content_terms(w) and not set(content_terms(w)) <= own]
    if not context:
        return question
    return f"{question.strip().rstrip('?.! ')} ({' '.join(context)})?"

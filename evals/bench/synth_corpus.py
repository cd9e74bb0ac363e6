"""A synthetic corpus for the scale benchmark: the guide plus guide-sized documents recombined and
reworded from its own sections, so that the guide's answers have near-duplicates to compete with.

Each synthetic document takes the guide's top-level sections in a shuffled order (some twice, some not at
all) until it is about as long as the guide, and rewords every section: salary figures scaled, percentages,
multipliers and durations changed, cities exchanged for others, industries swapped, and common words
replaced by synonyms. The structure (headings, bullets, table rows) is the guide's, so the chunker treats
the documents like the guide. Everything follows from `--seed`: the same arguments make the same files.

    python -m evals.bench.synth_corpus --documents 1000 --out /tmp/synthetic-corpus [--seed 7]
    python -m evals.bench.synth_corpus --edit 0.01 --out /tmp/synthetic-corpus   # reword 1 % of them again

The corpus is written to a folder of your choosing (a temporary one in the benchmark), never committed.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.reading.documents import read_source_text
from rag.reading.structure import parse_plain_text

GUIDE = Path(__file__).resolve().parents[2] / "corpus" / "ai-engineer-job-description-2026.txt"
SYNTHETIC_FOLDER = "synthetic"

CITIES = [
    "San Francisco Bay Area",
    "New York City",
    "Seattle",
    "Boston",
    "Austin",
    "Chicago",
    "Denver",
    "Los Angeles",
    "Portland",
    "Atlanta",
    "Miami",
    "Toronto",
    "Raleigh",
    "Pittsburgh",
    "Minneapolis",
    "Salt Lake City",
]
INDUSTRIES = ["healthcare", "finance", "automotive", "retail", "logistics", "insurance", "energy", "gaming", "media"]
# Words of the guide and what a rewording may say instead (the first letter's case is kept).
SYNONYMS: dict[str, list[str]] = {
    "engineer": ["developer", "practitioner"],
    "engineers": ["developers", "practitioners"],
    "salary": ["pay", "compensation"],
    "salaries": ["pay levels", "pay bands"],
    "candidates": ["applicants", "prospects"],
    "candidate": ["applicant", "prospect"],
    "companies": ["organizations", "firms", "employers"],
    "company": ["organization", "firm", "employer"],
    "experience": ["background", "track record"],
    "production": ["live", "real-world"],
    "build": ["create", "develop"],
    "builds": ["creates", "develops"],
    "building": ["creating", "developing"],
    "design": ["architect", "shape"],
    "designs": ["architects", "shapes"],
    "team": ["group", "squad"],
    "teams": ["groups", "squads"],
    "skills": ["abilities", "competencies"],
    "typically": ["usually", "generally"],
    "significant": ["substantial", "considerable"],
    "including": ["such as", "covering"],
    "requires": ["needs", "calls for"],
    "require": ["need", "call for"],
    "role": ["position", "job"],
    "roles": ["positions", "jobs"],
    "hiring": ["recruiting", "recruitment"],
    "interview": ["screening", "assessment"],
    "evaluate": ["assess", "judge"],
    "systems": ["platforms", "stacks"],
    "quickly": ["rapidly", "fast"],
    "strong": ["solid", "robust"],
    "key": ["core", "central"],
    "ensure": ["make sure", "guarantee"],
    "understanding": ["grasp", "knowledge"],
    "expected": ["anticipated", "required"],
}
SYNONYM_SHARE = 0.5  # of the occurrences of a listed word, how many a rewording replaces
WORD = re.compile(r"[A-Za-z]+")
DOLLARS = re.compile(r"\$(\d{1,3}(?:,\d{3})+)")
PERCENT = re.compile(r"\b(\d+(?:\.\d+)?)%")
MULTIPLIER = re.compile(r"\b(\d+\.\d)x\b")
DURATION = re.compile(r"\b(\d+)-(\d+) (months|weeks|days)\b")
CITY = re.compile("|".join(re.escape(c) for c in sorted(CITIES, key=len, reverse=True)))
INDUSTRY = re.compile(r"\b(" + "|".join(INDUSTRIES) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    heading: str
    text: str  # the heading line and everything up to the next top-level heading


def guide_sections(text: str) -> tuple[str, list[Section]]:
    """The guide's title part and its top-level sections, as the chunker's structure parser sees them."""
    starts: list[tuple[int, str]] = []
    for block in parse_plain_text(text):
        if not block.section or (starts and starts[-1][1] == block.section[0]):
            continue
        heading = block.section[0]
        position = text.rfind(heading, 0, block.start)
        starts.append((position if position >= 0 else block.start, heading))
    title = text[: starts[1][0]] if len(starts) > 1 else ""
    sections = [
        Section(heading, text[start : starts[i + 1][0] if i + 1 < len(starts) else len(text)])
        for i, (start, heading) in enumerate(starts)
        if i > 0
    ]
    return title, sections


def keep_case(original: str, replacement: str) -> str:
    return replacement[0].upper() + replacement[1:] if original[0].isupper() else replacement


def reword(text: str, rng: random.Random) -> str:
    """The same structure with other figures, places, industries and some words."""
    scale = rng.uniform(0.7, 1.35)
    text = DOLLARS.sub(lambda m: f"${round(int(m.group(1).replace(',', '')) * scale, -3):,.0f}", text)
    text = PERCENT.sub(lambda m: f"{max(1, round(float(m.group(1)) * rng.uniform(0.6, 1.5)))}%", text)
    text = MULTIPLIER.sub(
        lambda m: f"{max(0.5, float(m.group(1)) + rng.choice([-0.3, -0.2, -0.1, 0.1, 0.2])):.1f}x", text
    )
    text = DURATION.sub(
        lambda m: f"{int(m.group(1)) + rng.randint(1, 3)}-{int(m.group(2)) + rng.randint(2, 5)} {m.group(3)}", text
    )
    places = CITIES[:]
    rng.shuffle(places)
    exchange = dict(zip(CITIES, places))
    text = CITY.sub(lambda m: exchange[m.group(0)], text)
    industries = INDUSTRIES[:]
    rng.shuffle(industries)
    swap = dict(zip(INDUSTRIES, industries))
    text = INDUSTRY.sub(lambda m: keep_case(m.group(0), swap[m.group(0).lower()]), text)

    def synonym(match: re.Match[str]) -> str:
        word = match.group(0)
        choices = SYNONYMS.get(word.lower())
        if not choices or rng.random() >= SYNONYM_SHARE:
            return word
        return keep_case(word, rng.choice(choices))

    return WORD.sub(synonym, text)


def synthetic_document(number: int, seed: int, title: str, sections: list[Section], target_chars: int) -> str:
    rng = random.Random(f"{seed}-document-{number}")
    parts = [reword(title, rng).replace("2026", str(rng.choice([2023, 2024, 2025, 2027])))]
    length = len(parts[0])
    while length < target_chars:
        section = rng.choice(sections)
        part = reword(section.text, rng)
        if not part.endswith("\n\n"):
            part = part.rstrip("\n") + "\n\n"
        parts.append(part)
        length += len(part)
    return "".join(parts)


def document_name(number: int) -> str:
    return f"{SYNTHETIC_FOLDER}/hiring-guide-{number:04d}.txt"


def write_corpus(out: Path, documents: int, seed: int = 7, guide: Path = GUIDE) -> list[Path]:
    """The guide (verbatim, under its own name) and `documents - 1` synthetic documents in `out`."""
    if documents < 1:
        raise ValueError(f"documents must be at least 1, got {documents}")
    text = read_source_text(guide)
    title, sections = guide_sections(text)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(guide, out / guide.name)
    written = [out / guide.name]
    for number in range(1, documents):
        path = out / document_name(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(synthetic_document(number, seed, title, sections, len(text)), encoding="utf-8")
        written.append(path)
    return written


def edit_corpus(out: Path, share: float, seed: int = 7) -> list[Path]:
    """Reword one section of `share` of the synthetic documents again (at least one document), as an
    author revising a few documents would; the guide is never touched. Returns the edited files."""
    files = sorted((out / SYNTHETIC_FOLDER).glob("*.txt"))
    rng = random.Random(f"{seed}-edit-{share}")
    chosen = rng.sample(files, max(1, math.ceil(share * (len(files) + 1)))) if files else []
    for path in chosen:
        text = read_source_text(path)
        _, sections = guide_sections(text)
        if not sections:
            continue
        section = rng.choice(sections)
        revised = reword(section.text, rng)
        path.write_text(text.replace(section.text, revised, 1), encoding="utf-8")
    return sorted(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (not inside the repository)")
    parser.add_argument("--documents", type=int, default=1000, help="documents in all, the guide included")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--edit", type=float, default=None, help="instead: reword this share of the documents")
    args = parser.parse_args(argv)
    if args.edit is not None:
        edited = edit_corpus(args.out, args.edit, args.seed)
        print(f"{len(edited)} documents edited in {args.out}")
        return 0
    written = write_corpus(args.out, args.documents, args.seed)
    size = sum(p.stat().st_size for p in written)
    print(f"{len(written)} documents, {size / 1e6:.1f} MB, in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Evaluation datasets: JSONL, one question a line, in the contract's format (extra fields allowed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rag.errors import RagError

DEFAULT_DATASET = Path(__file__).with_name("golden.jsonl")


class DatasetError(RagError):
    code = "invalid_dataset"


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    evidence: tuple[str, ...] = ()
    evidence_mode: Literal["any", "all"] = "any"
    facts: tuple[str, ...] = ()
    answerable: bool = True
    split: str = ""
    category: str = ""
    # What the question asks for ("fact", "list", "section", "table", "comparison", …): results are
    # also reported per shape.
    shape: str = ""
    follows: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)


def _strings(value: object, name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: `{name}` must be a list of strings")
    return tuple(value)


def parse_item(raw: object, where: str) -> EvalItem:
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: each line must be a JSON object")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: `question` must be a non-empty string")
    mode = raw.get("evidence_mode", "any")
    if mode not in ("any", "all"):
        raise DatasetError(f'{where}: `evidence_mode` must be "any" or "all", got {mode!r}')
    answerable = raw.get("answerable", True)
    if not isinstance(answerable, bool):
        raise DatasetError(f"{where}: `answerable` must be true or false")
    known = {
        "id",
        "question",
        "evidence",
        "evidence_mode",
        "facts",
        "answerable",
        "split",
        "category",
        "shape",
        "follows",
    }
    return EvalItem(
        id=str(raw.get("id", where)),
        question=question,
        evidence=_strings(raw.get("evidence"), "evidence", where),
        evidence_mode=mode,
        facts=_strings(raw.get("facts"), "facts", where),
        answerable=answerable,
        split=str(raw.get("split", "") or ""),
        category=str(raw.get("category", "") or ""),
        shape=str(raw.get("shape", "") or ""),
        follows=str(raw["follows"]) if raw.get("follows") else None,
        extra={k: v for k, v in raw.items() if k not in known},
    )


def load_dataset(path: Path) -> list[EvalItem]:
    """Every item of a JSONL file; blank lines are skipped, anything malformed names its line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read dataset {path}: {exc}") from exc
    items: list[EvalItem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from exc
        items.append(parse_item(raw, where))
    if not items:
        raise DatasetError(f"dataset {path} holds no questions")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise DatasetError(f"dataset {path}: id {duplicate!r} is used twice")
    known_ids = set(ids)
    for item in items:
        if item.follows and item.follows not in known_ids:
            raise DatasetError(f"dataset {path}: {item.id} follows unknown id {item.follows!r}")
    return items

"""The corpora the harness measures on, and a loaded service for each: the guide (the project's own
corpus) and the 18F handbook pages, a real corpus nobody here wrote, read where it lies (never
copied in). A corpus other than the configured one gets its own index beside the main one."""

from __future__ import annotations

import hashlib
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from evals.shared import shared_folder
from rag.index.ingest import ingest
from rag.ranking.retrieval import RetrievalConfig
from rag.service import QAService
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


CORPORA: dict[str, Path] = {
    "guide": ROOT / "corpus",
    "18f": shared_folder() / "corpora" / "18f-handbook" / "pages",
}
DATA = ROOT / "evals" / "datasets"
# What the ranker and the abstention are fitted on: every set that has been read question by question
# (tune sets, whatever their split says: the golden set's "heldout" split has rules written from its
# questions), and the tune split of the 18F set. `None`: every split.
TUNE: dict[str, list[tuple[Path, str | None]]] = {
    "guide": [
        (ROOT / "evals" / "golden.jsonl", None),
        (DATA / "shapes.jsonl", None),
        (DATA / "shapes_blind.jsonl", None),
    ],
    "18f": [(DATA / "18f.jsonl", "tune")],
}
# Sets scored before but never read, to choose between models with; the estimates come from sets
# scored once (guide_blind3, 18f's heldout split) and are not used for any choice.
VALIDATION: dict[str, list[tuple[Path, str | None]]] = {
    "guide": [(DATA / "external.jsonl", None), (DATA / "fresh.jsonl", None), (DATA / "fresh2.jsonl", None)],
    "18f": [],
}
HELD_OUT: dict[str, list[tuple[Path, str | None]]] = {
    "guide": [(DATA / "guide_blind3.jsonl", None), (DATA / "shapes_blind2.jsonl", None)],
    "18f": [(DATA / "18f.jsonl", "heldout")],
}


# The training corpora (../shared/corpora/training/): real handbooks and guides written outside the
# project, with questions written blind over each (evals/training/, checked by evals.validate_training).
# One is held out of all training as the validation corpus: what transfers to documents never trained on.
TRAINING_ROOT = shared_folder() / "corpora" / "training"
TRAINING_DATA = ROOT / "evals" / "training"
VALIDATION_CORPUS = "osiolabs-handbook"
TRAINING_FILES: dict[str, list[str]] = {
    "civicactions-guidebook": ["civicactions-a.jsonl", "civicactions-b.jsonl"],
    "meltano-handbook": ["meltano.jsonl"],
    "clef-handbook": ["clef.jsonl"],
    "gds-way": ["gds-way.jsonl"],
    "opensource-guides": ["opensource-guides.jsonl"],
    "turing-way": ["turing-way-a.jsonl", "turing-way-b.jsonl"],
    "osiolabs-handbook": ["osiolabs.jsonl"],
}
CORPORA.update({name: TRAINING_ROOT / name / "pages" for name in TRAINING_FILES})
# What learns from the written questions: every training corpus but the validation one.
TRAINING: dict[str, list[tuple[Path, str | None]]] = {
    name: [(TRAINING_DATA / f, None) for f in files if (TRAINING_DATA / f).is_file()]
    for name, files in TRAINING_FILES.items()
    if name != VALIDATION_CORPUS
}
HELD_OUT[VALIDATION_CORPUS] = [(TRAINING_DATA / f, None) for f in TRAINING_FILES[VALIDATION_CORPUS]]


def settings_for(corpus_dir: Path, base: Settings | None = None) -> Settings:
    """Settings that read `corpus_dir`; unless it is the configured corpus, with an index of its own
    in `index-corpora/` beside the configured index folder."""
    base = base or Settings()
    if corpus_dir.resolve() == base.corpus_dir.resolve():
        return base
    slug = hashlib.sha256(str(corpus_dir.resolve()).encode()).hexdigest()[:12]
    index_dir = base.index_dir.resolve().parent / "index-corpora" / f"{corpus_dir.name}-{slug}"
    return base.model_copy(update={"corpus_dir": corpus_dir, "index_dir": index_dir})


def service_for(
    corpus_dir: Path,
    embed_model: BaseEmbedding,
    config: RetrievalConfig | None = None,
    base: Settings | None = None,
) -> QAService:
    """A loaded service over `corpus_dir`, its index brought in line first (nothing is embedded
    again when the corpus is unchanged)."""
    settings = settings_for(corpus_dir, base)
    ingest(settings, embed_model)
    service = QAService(settings, embed_model=embed_model, retrieval_config=config)
    service.load()
    return service

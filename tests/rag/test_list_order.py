"""Near-tied bullets of one list rank in the guide's order (rag/ranking/list_order.py)."""

from __future__ import annotations

from rag.models import Chunk, ChunkKind
from rag.ranking.list_order import in_reading_order
from rag.service import QAService

FLAGS = ("Hiring Tips", "Red Flags to Avoid")


def bullet(start: int, section: tuple[str, ...] = FLAGS, kind: ChunkKind = "bullet") -> Chunk:
    return Chunk(f"c{start}", "guide.txt", section, kind, f"item at {start}", start, start + 5)


def test_near_tied_items_of_the_best_chunks_list_take_its_order() -> None:
    chunks = [bullet(0), bullet(10), bullet(20), bullet(30, ("Interview Questions",))]
    fused = {2: 1.0, 0: 0.95, 1: 0.5, 3: 0.97}
    in_reading_order(fused, chunks, 0.9)
    # The first and third items trade scores; the far-behind second item and the other list keep theirs.
    assert fused == {0: 1.0, 2: 0.95, 1: 0.5, 3: 0.97}


def test_nothing_moves_when_the_best_chunk_is_no_bullet() -> None:
    chunks = [bullet(0), bullet(10), bullet(20, kind="paragraph")]
    fused = {1: 0.96, 0: 0.95, 2: 1.0}
    in_reading_order(fused, chunks, 0.9)
    assert fused == {1: 0.96, 0: 0.95, 2: 1.0}


def test_a_bullet_cut_in_pieces_reads_in_order(ruled_service: QAService) -> None:
    found = ruled_service.retrieve("What tools for model monitoring are mentioned?", 2)
    first, second = (r.chunk for r in found)
    assert first.text.startswith("MLOps and model monitoring") and second.start > first.start

"""`python -m evals.answers`: questions grouped into conversations, and two records side by side."""

from __future__ import annotations

from evals.answers import chains, side_by_side


def test_a_plus_line_follows_the_question_before_it() -> None:
    lines = ["What should we pay a mid-level engineer?", "+ And in Seattle?", "", "Which metro pays the most?"]
    assert chains(lines) == [
        ["What should we pay a mid-level engineer?", "And in Seattle?"],
        ["Which metro pays the most?"],
    ]


def test_side_by_side_shows_each_answer_before_and_after() -> None:
    before = {"Q?": {"answer": "old [1]", "words": 2, "citations": 1, "shape": None}}
    after = {
        "Q?": {"answer": "new [1]\nmore [2]", "words": 4, "citations": 2, "shape": "list"},
        "R?": {"answer": "only now [1]", "words": 3, "citations": 1, "shape": "fact"},
    }
    text = side_by_side(before, after, "T")
    assert text.startswith("# T\n")
    assert "## 1. Q?" in text and "**Before** (2 words, 1 citations):" in text and "old [1]" in text
    assert "**After** (shape `list`, 4 words, 2 citations):" in text
    # A question the earlier record does not hold has no "Before".
    assert text.split("## 2. R?")[1].count("**Before**") == 0

"""`/v1/chat/completions` and `/v1/models` through the official `openai` client, against the app
served by uvicorn on a loopback port: a real client over a real socket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.operations.state import StateStore
from rag.service import QAService
from rag.settings import Settings
from tests.serving import serve

pytestmark = pytest.mark.integration

SEATTLE = "What do AI engineers earn in Seattle?"


@pytest.fixture(scope="module")
def chat_settings(built_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shared index, with a query log of this module's own."""
    state = tmp_path_factory.mktemp("chat-state") / "rag.sqlite3"
    return built_settings.model_copy(update={"state_path": state})


@pytest.fixture(scope="module")
def base_url(chat_settings: Settings, embed_model: BaseEmbedding) -> Iterator[str]:
    app = create_app(chat_settings, QAService(chat_settings, embed_model=embed_model))
    with serve(app) as url:
        yield url


@pytest.fixture()
def llm(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="not-needed", max_retries=0, timeout=60)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def citations_of(response: Any) -> list[dict[str, Any]]:
    citations: list[dict[str, Any]] = response.model_extra["citations"]
    return citations


def test_plain_completion_quotes_the_guide_with_citations_and_footnotes(llm: openai.OpenAI, guide_text: str) -> None:
    completion = llm.chat.completions.create(
        model="guide-rag",
        messages=[{"role": "system", "content": "You are helpful."}, user(SEATTLE)],
        temperature=0.2,
        max_tokens=300,
        user="hiring-manager-7",
    )
    assert completion.object == "chat.completion"
    assert completion.model == "guide-rag"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    answer, _, notes = content.partition("\n\n[1] ")
    assert "$160,000 - $220,000" in answer.splitlines()[0] and answer.splitlines()[0].endswith("[1]")

    citations = citations_of(completion)
    first = citations[0]
    assert first["n"] == 1 and first["quote"].startswith("Seattle $160,000 - $220,000")
    assert guide_text[first["start"] : first["end"]] == first["quote"]
    # Every citation is also a footnote: number, section path, and the quote.
    for citation in citations:
        assert f'[{citation["n"]}] {citation["section"]} — "{" ".join(citation["quote"].split())}"' in content
    assert notes.startswith(f'{first["section"]} — "Seattle')
    assert completion.model_extra["answerable"] is True
    assert completion.model_extra["answerer"] == "extractive"


def test_a_list_answer_is_a_markdown_list_with_a_citation_per_item(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(
        model="guide-rag", messages=[user("What are the key responsibilities of an AI engineer?")]
    )
    content = completion.choices[0].message.content or ""
    body = content.split("\n\n[1]")[0]  # the footnotes follow, one paragraph each
    lines = body.split("\n")
    assert lines[0] == "Key Responsibilities:"
    assert len(lines) == 11 and all(re.fullmatch(r"- .+ \[\d+\]", line) for line in lines[1:])
    assert [int(re.findall(r"\[(\d+)\]", line)[0]) for line in lines[1:]] == list(range(1, 11))
    assert completion.model_extra is not None and completion.model_extra["shape"] == "list"
    assert len(citations_of(completion)) == 10


def test_streamed_completion_says_the_same_as_the_plain_one(llm: openai.OpenAI) -> None:
    plain = llm.chat.completions.create(model="guide-rag", messages=[user(SEATTLE)])
    chunks = list(
        llm.chat.completions.create(
            model="guide-rag", messages=[user(SEATTLE)], stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert citations_of(chunks[0]) == citations_of(plain)
    # Asked for with `include_usage`, the last chunk carries the usage and no choices, as OpenAI's does.
    answered, usage = chunks[:-1], chunks[-1]
    assert usage.choices == [] and usage.usage == plain.usage
    assert answered[-1].choices[0].finish_reason == "stop"
    assert all(chunk.choices[0].finish_reason is None for chunk in answered[:-1])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in answered)
    assert len(chunks) > 10  # piece by piece, not one lump
    assert text == plain.choices[0].message.content


def test_follow_up_from_earlier_messages_lands_on_the_seattle_row(llm: openai.OpenAI) -> None:
    question = "What do AI engineers earn in Austin?"
    first = llm.chat.completions.create(model="guide-rag", messages=[user(question)])
    assert citations_of(first)[0]["quote"].startswith("Austin")
    history = [user(question), {"role": "assistant", "content": first.choices[0].message.content}]
    follow_up = llm.chat.completions.create(model="guide-rag", messages=[*history, user("And in Seattle?")])
    assert citations_of(follow_up)[0]["quote"].startswith("Seattle $160,000 - $220,000")
    assert "Seattle $160,000 - $220,000" in (follow_up.choices[0].message.content or "")


def test_a_chain_of_follow_ups_keeps_its_subject(llm: openai.OpenAI) -> None:
    """The third question is resolved against the second as it was meant, not as it was typed."""
    messages = [
        user("What do AI engineers earn in Austin?"),
        {"role": "assistant", "content": "…"},
        user("And in Seattle?"),
        {"role": "assistant", "content": "…"},
        user("And in Boston?"),
    ]
    completion = llm.chat.completions.create(model="guide-rag", messages=messages)
    assert citations_of(completion)[0]["quote"].startswith("Boston $145,000 - $195,000")


def test_follow_up_about_juniors_lands_on_entry_level_red_flags(llm: openai.OpenAI) -> None:
    messages = [
        user("What are the red flags for senior hires?"),
        {"role": "assistant", "content": "…"},
        {"role": "user", "content": [{"type": "text", "text": "and for juniors?"}]},
    ]
    completion = llm.chat.completions.create(model="guide-rag", messages=messages)
    first = citations_of(completion)[0]
    assert "Entry Level" in first["section"]
    assert "No production AI project exposure" in first["quote"]


def test_off_topic_question_is_an_ordinary_assistant_message_that_abstains(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(
        model="guide-rag", messages=[user("What is a good recipe for banana bread?")]
    )
    content = completion.choices[0].message.content or ""
    assert completion.choices[0].finish_reason == "stop"
    assert content.startswith("The guide does not cover that.")
    assert "\n\n[1]" not in content
    assert citations_of(completion) == [] and completion.model_extra["answerable"] is False


def test_models_lists_the_one_model(llm: openai.OpenAI) -> None:
    models = llm.models.list()
    assert [model.id for model in models.data] == ["guide-rag"]
    assert llm.models.retrieve("guide-rag").id == "guide-rag"
    with pytest.raises(openai.NotFoundError):
        llm.models.retrieve("gpt-4o")


@pytest.mark.parametrize(
    ("messages", "complaint"),
    [
        ([], "messages"),
        ([user(SEATTLE), {"role": "assistant", "content": "Seattle pays well."}], "last message must be the user"),
        ([user("   ")], "must not be empty"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}], "only text"),
        ([{"role": "user", "content": 42}], "messages[0].content"),
        ([{"role": "wizard", "content": SEATTLE}], "messages[0].role"),
        ([user("x" * 5000)], "longer than"),
    ],
)
def test_invalid_messages_are_refused_with_a_clear_400(
    llm: openai.OpenAI, messages: list[dict[str, Any]], complaint: str
) -> None:
    """400, as OpenAI answers: code that catches `openai.BadRequestError` catches these too."""
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as refused:
            llm.chat.completions.create(model="guide-rag", messages=messages, stream=stream)  # type: ignore[call-overload]
        body = refused.value.body
        assert isinstance(body, dict) and body["code"] == "invalid_request"
        assert complaint in body["message"]


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([], "messages"),
        ([{"role": "system", "content": "You are helpful."}], "messages[0].role"),
        ([user(SEATTLE), {"role": "assistant", "content": "Seattle pays well."}], "messages[1].role"),
        ([user(SEATTLE), user("   ")], "messages[1].content"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
            "messages[0].content",
        ),
        ([{"role": "wizard", "content": SEATTLE}], "messages[0].role"),
        ([user("x" * 5000)], "messages[0].content"),
    ],
)
def test_errors_carry_openai_type_and_param_written_one_way(
    llm: openai.OpenAI, messages: list[dict[str, Any]], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        llm.chat.completions.create(model="guide-rag", messages=messages)  # type: ignore[arg-type]
    error = refused.value
    assert error.type == "invalid_request_error" and error.code == "invalid_request"
    assert error.param == param
    # The message names the field as `param` does: `messages[0].role`, never `messages.0.role`.
    assert param in str(error.body["message"]) and not re.search(r"\.\d", str(error.body["message"]))  # type: ignore[index]


def test_an_unknown_model_is_a_not_found_error_of_openai_type(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        llm.models.retrieve("gpt-4o")
    assert missing.value.type == "invalid_request_error" and missing.value.code == "model_not_found"


def test_answers_are_logged_on_the_openai_channel(llm: openai.OpenAI, chat_settings: Settings) -> None:
    question = "Is a PhD required for an AI engineer?"
    completion = llm.chat.completions.create(model="guide-rag", messages=[user(question)])
    streamed = list(llm.chat.completions.create(model="guide-rag", messages=[user(question)], stream=True))
    rows = StateStore(Path(chat_settings.state_path)).rows(
        "SELECT query_id, channel FROM queries WHERE question = ?", (question,)
    )
    logged = {query_id: channel for query_id, channel in rows}
    assert logged[completion.model_extra["query_id"]] == "openai"
    assert logged[streamed[0].model_extra["query_id"]] == "openai"


def test_a_client_that_closes_mid_stream_leaves_the_server_serving(llm: openai.OpenAI) -> None:
    stream = llm.chat.completions.create(model="guide-rag", messages=[user(SEATTLE)], stream=True)
    next(iter(stream))
    stream.close()
    again = llm.chat.completions.create(model="guide-rag", messages=[user(SEATTLE)])
    assert citations_of(again)[0]["quote"].startswith("Seattle")

"""What OpenAI clients rely on beyond a plain answer, through the official `openai` client against the app
served by uvicorn: what the route cannot honour (structured output, forced tool calls, several choices)
and bad values are a 400 naming the parameter, as OpenAI answers; the fields the `openai` client,
langchain-openai and llama-index send are accepted; `max_tokens` cuts the answer after a whole quote;
`usage` is counted; the legacy Completions API is an OpenAI-shaped 404 pointing to chat completions."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.service import QAService
from rag.settings import Settings
from tests.serving import serve

pytestmark = pytest.mark.integration

SEATTLE = "What do AI engineers earn in Seattle?"


@pytest.fixture(scope="module")
def base_url(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The default configuration, with a query log of this module's own."""
    settings = built_settings.model_copy(update={"state_path": tmp_path_factory.mktemp("compat") / "rag.sqlite3"})
    with serve(create_app(settings, QAService(settings, embed_model=embed_model))) as url:
        yield url


@pytest.fixture()
def llm(base_url: str) -> openai.OpenAI:
    # The default rate limit stays on: this module asks more than its burst, and a 429 is waited out as the
    # client does by default (it never retries a 400, which is what is under test here).
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="not-needed", max_retries=8, timeout=60)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def citations_of(response: Any) -> list[dict[str, Any]]:
    citations: list[dict[str, Any]] = response.model_extra["citations"]
    return citations


# -- what the route cannot honour, and bad values: 400 in OpenAI's shape, naming the parameter ---------------
def refusal(llm: openai.OpenAI, **request: Any) -> openai.BadRequestError:
    """The 400 the route answers `request` with (plain and streamed alike)."""
    errors = []
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as refused:
            llm.chat.completions.create(model="guide-rag", messages=[user(SEATTLE)], stream=stream, **request)
        errors.append(refused.value)
    plain, streamed = errors
    assert (plain.param, plain.message) == (streamed.param, streamed.message)
    assert plain.type == "invalid_request_error" and plain.code
    return plain


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "pay", "schema": {"type": "object"}}},
    ],
)
def test_structured_output_is_refused_naming_response_format(
    llm: openai.OpenAI, response_format: dict[str, Any]
) -> None:
    error = refusal(llm, response_format=response_format)
    assert error.param == "response_format"
    assert response_format["type"] in error.message and "not supported" in error.message


def test_parse_with_a_pydantic_model_fails_as_a_bad_request(llm: openai.OpenAI) -> None:
    """What `client.chat.completions.parse(...)` and LangChain's `with_structured_output` send."""
    from pydantic import BaseModel

    class Pay(BaseModel):
        low: int
        high: int

    with pytest.raises(openai.BadRequestError) as refused:
        llm.chat.completions.parse(model="guide-rag", messages=[user(SEATTLE)], response_format=Pay)
    assert refused.value.param == "response_format"


def test_plain_text_response_format_is_answered(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(
        model="guide-rag", messages=[user(SEATTLE)], response_format={"type": "text"}
    )
    assert "$160,000 - $220,000" in (completion.choices[0].message.content or "")


TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_salary",
            "description": "Salary range of a metro area",
            "parameters": {"type": "object", "properties": {"metro": {"type": "string"}}, "required": ["metro"]},
        },
    }
]


@pytest.mark.parametrize(
    "tool_choice", ["required", {"type": "function", "function": {"name": "lookup_salary"}}], ids=["required", "named"]
)
def test_forced_tool_calls_are_refused_naming_tool_choice(llm: openai.OpenAI, tool_choice: Any) -> None:
    error = refusal(llm, tools=TOOLS, tool_choice=tool_choice)
    assert error.param == "tool_choice" and "tool" in error.message


def test_tools_the_model_may_skip_are_accepted_and_not_called(llm: openai.OpenAI) -> None:
    for tool_choice in ("auto", "none"):
        completion = llm.chat.completions.create(
            model="guide-rag", messages=[user(SEATTLE)], tools=TOOLS, tool_choice=tool_choice
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "stop" and not choice.message.tool_calls


def test_several_choices_are_refused_naming_n(llm: openai.OpenAI) -> None:
    error = refusal(llm, n=3)
    assert error.param == "n" and "3" in error.message
    assert len(llm.chat.completions.create(model="guide-rag", messages=[user(SEATTLE)], n=1).choices) == 1


@pytest.mark.parametrize(
    ("request_fields", "param", "complaint"),
    [
        ({"n": "three"}, "n", "integer"),
        ({"max_tokens": -1}, "max_tokens", "greater than or equal to 1"),
        ({"max_completion_tokens": 0}, "max_completion_tokens", "greater than or equal to 1"),
        ({"temperature": "hot"}, "temperature", "number"),
        ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage", "boolean"),
        ({"extra_body": {"sneaky": 1}}, "sneaky", "Unrecognized request argument supplied: sneaky"),
    ],
    ids=[
        "n-string",
        "max_tokens-negative",
        "max_completion_tokens-zero",
        "temperature-string",
        "include_usage",
        "unknown",
    ],
)
def test_invalid_values_are_400_naming_the_field(
    llm: openai.OpenAI, request_fields: dict[str, Any], param: str, complaint: str
) -> None:
    error = refusal(llm, **request_fields)
    assert error.param == param
    assert complaint in error.message


def test_the_fields_official_clients_send_are_accepted(llm: openai.OpenAI) -> None:
    """What the `openai` client, langchain-openai (`ChatOpenAI`) and llama-index (`OpenAILike`) put in a
    request besides the messages: all accepted, none of them changing what the guide says."""
    completion = llm.chat.completions.create(
        model="guide-rag",
        messages=[{"role": "developer", "content": "Be brief."}, user(SEATTLE)],
        temperature=0.7,
        top_p=1.0,
        seed=7,
        stop=["\n\n\n"],
        presence_penalty=0.0,
        frequency_penalty=0.0,
        logit_bias={"50256": -100},
        metadata={"team": "recruiting"},
        store=False,
        parallel_tool_calls=True,
        max_completion_tokens=4000,
        logprobs=False,
        top_logprobs=0,
        service_tier="auto",
        modalities=["text"],
        reasoning_effort="low",
        user="hiring-manager-7",
        safety_identifier="hm-7",
        prompt_cache_key="guide",
        verbosity="low",
        n=1,
        response_format={"type": "text"},
        stream_options=None,
        extra_body={"top_k": 5},
    )
    assert completion.choices[0].finish_reason == "stop"
    assert "$160,000 - $220,000" in (completion.choices[0].message.content or "")
    streamed = list(
        llm.chat.completions.create(
            model="guide-rag",
            messages=[user(SEATTLE)],
            stream=True,
            stream_options={"include_usage": False},
            temperature=0.7,
            max_tokens=4000,
        )
    )
    assert all(chunk.usage is None for chunk in streamed)
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == completion.choices[0].message.content


# -- max_tokens and usage ---------------------------------------------------------------------------------
def approximate_tokens(text: str) -> int:
    """The count docs/chat.md states: four tokens for every three words, rounded up."""
    return math.ceil(len(text.split()) * 4 / 3)


def prompt_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m["content"]) for m in messages)


def test_usage_counts_the_prompt_and_the_answer(llm: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "You are helpful."}, user(SEATTLE)]
    completion = llm.chat.completions.create(model="guide-rag", messages=messages)  # type: ignore[arg-type]
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == approximate_tokens(prompt_text(messages))
    assert usage.completion_tokens == approximate_tokens(completion.choices[0].message.content or "")
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


LIST_QUESTION = "What are the key responsibilities of an AI engineer?"


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
def test_a_token_limit_cuts_the_answer_after_a_whole_quote(llm: openai.OpenAI, guide_text: str, limit: str) -> None:
    whole = llm.chat.completions.create(model="guide-rag", messages=[user(LIST_QUESTION)])
    assert whole.usage is not None and whole.usage.completion_tokens > 120  # ten items and their footnotes
    cut = llm.chat.completions.create(model="guide-rag", messages=[user(LIST_QUESTION)], **{limit: 120})
    choice = cut.choices[0]
    assert choice.finish_reason == "length"
    content = choice.message.content or ""
    assert cut.usage is not None and cut.usage.completion_tokens == approximate_tokens(content) <= 120
    body, _, notes = content.partition("\n\n[1] ")
    lines = body.split("\n")
    # The heading, then whole items, each with its marker: fewer than ten, at least one.
    assert lines[0] == "Key Responsibilities:" and 2 <= len(lines) < 11
    assert all(re.fullmatch(r"- .+ \[\d+\]", line) for line in lines[1:])
    kept = citations_of(cut)
    assert [c["n"] for c in kept] == list(range(1, len(lines)))
    assert kept == citations_of(whole)[: len(kept)]
    for citation in kept:
        assert guide_text[citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['n']}] {citation['section']} — " in content
    assert f"[{len(kept) + 1}]" not in content  # no footnote for a quote that was cut
    assert notes


def test_a_limit_below_the_first_quote_keeps_that_quote(llm: openai.OpenAI) -> None:
    cut = llm.chat.completions.create(model="guide-rag", messages=[user(LIST_QUESTION)], max_tokens=1)
    content = cut.choices[0].message.content or ""
    assert cut.choices[0].finish_reason == "length"
    assert content.split("\n")[:2][0] == "Key Responsibilities:" and content.split("\n")[1].endswith("[1]")
    assert [c["n"] for c in citations_of(cut)] == [1]


def test_a_streamed_answer_is_cut_the_same_way_and_reports_usage(llm: openai.OpenAI) -> None:
    plain = llm.chat.completions.create(model="guide-rag", messages=[user(LIST_QUESTION)], max_tokens=120)
    chunks = list(
        llm.chat.completions.create(
            model="guide-rag",
            messages=[user(LIST_QUESTION)],
            max_tokens=120,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    *answered, last = chunks
    assert "".join(c.choices[0].delta.content or "" for c in answered) == plain.choices[0].message.content
    assert answered[-1].choices[0].finish_reason == "length"
    assert citations_of(answered[0]) == citations_of(plain)
    assert all(chunk.usage is None for chunk in answered)
    assert last.choices == [] and last.usage == plain.usage


# -- the legacy Completions API ---------------------------------------------------------------------------
def test_legacy_completions_is_a_not_found_that_points_to_chat_completions(llm: openai.OpenAI) -> None:
    """What llama-index's `OpenAILike` calls unless `is_chat_model=True`."""
    with pytest.raises(openai.NotFoundError) as missing:
        llm.completions.create(model="guide-rag", prompt=SEATTLE)
    error = missing.value
    assert error.type == "invalid_request_error" and error.code == "not_found"
    assert "/v1/chat/completions" in error.message and "is_chat_model=True" in error.message

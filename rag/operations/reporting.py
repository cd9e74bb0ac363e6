"""What users asked and how it went, read from the query log and the feedback in the state store:
`rag report` (volume, abstentions, 👎, slowest queries, questions to review, week-over-week score
drift) and `rag feedback export` (the questions to review, as evaluation dataset lines) — the loop
from users back to the golden set.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rag.operations.state_contract import SharedState

DAY = 24 * 3600.0
# A weekly mean top-1 similarity that moves by this much is flagged: the questions or the corpus changed.
DRIFT_ALERT = 0.05


@dataclass(frozen=True)
class LoggedQuery:
    """One row of the query log with the feedback it received."""

    query_id: str
    created: float
    question: str
    resolved: str
    answer: str
    answerable: bool
    latency_ms: float
    channel: str
    conversation_id: str | None
    # Best dense similarity among the retrieved chunks (what abstention is decided on); None if none.
    top_score: float | None
    ratings: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()

    @property
    def thumbs_down(self) -> bool:
        return "down" in self.ratings


def same_question_key(question: str) -> str:
    """Case, spacing and end punctuation do not make a different question."""
    return " ".join(question.casefold().split()).rstrip("?!. ")


def top_score_of(retrieved_json: str) -> float | None:
    """The query log stores `[chunk_id, fused score, dense score]` per retrieved chunk."""
    try:
        retrieved = json.loads(retrieved_json)
        scores = [float(entry[2]) for entry in retrieved if len(entry) >= 3]
    except (ValueError, TypeError, IndexError):
        return None
    return max(scores) if scores else None


def load_log(store: SharedState, since: float | None = None, until: float | None = None) -> list[LoggedQuery]:
    """Logged queries created in [since, until), oldest first, each with its feedback."""
    since = since if since is not None else 0.0
    until = until if until is not None else float("inf")
    feedback: dict[str, list[tuple[str, str | None]]] = {}
    for query_id, rating, comment in store.rows("SELECT query_id, rating, comment FROM feedback ORDER BY id"):
        feedback.setdefault(query_id, []).append((rating, comment))
    rows = store.rows(
        "SELECT query_id, created, question, resolved, answer, answerable, latency_ms, channel, conversation_id,"
        " retrieved FROM queries WHERE created >= ? ORDER BY created",
        (since,),
    )
    queries = []
    for query_id, created, question, resolved, answer, answerable, latency, channel, conversation, retrieved in rows:
        if created >= until:
            continue
        given = feedback.get(query_id, [])
        queries.append(
            LoggedQuery(
                query_id=query_id,
                created=float(created),
                question=question,
                resolved=resolved or question,
                answer=answer,
                answerable=bool(answerable),
                latency_ms=float(latency),
                channel=channel,
                conversation_id=conversation,
                top_score=top_score_of(retrieved),
                ratings=tuple(rating for rating, _ in given),
                comments=tuple(comment for _, comment in given if comment),
            )
        )
    return queries


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def iso_week(timestamp: float) -> str:
    year, week, _ = datetime.fromtimestamp(timestamp, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


@dataclass
class ReviewItem:
    """A question users were let down on (abstained, or rated 👎), merged over its repetitions."""

    question: str
    asked: str
    answerable: bool
    thumbs_down: bool
    answer: str
    query_ids: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    last_asked: float = 0.0

    @property
    def reasons(self) -> list[str]:
        return [r for r, hit in (("abstained", not self.answerable), ("thumbs_down", self.thumbs_down)) if hit]


def review_items(queries: list[LoggedQuery]) -> list[ReviewItem]:
    """Questions that abstained or got a 👎, one per distinct (resolved) question, most recent first."""
    merged: dict[str, ReviewItem] = {}
    for q in queries:
        if q.answerable and not q.thumbs_down:
            continue
        # A follow-up ("and in Europe?") means nothing alone; the resolved question stands on its own.
        key = same_question_key(q.resolved)
        item = merged.get(key)
        if item is None:
            item = merged[key] = ReviewItem(q.resolved, q.question, q.answerable, q.thumbs_down, q.answer)
        item.answerable = item.answerable and q.answerable
        item.thumbs_down = item.thumbs_down or q.thumbs_down
        item.query_ids.append(q.query_id)
        item.comments.extend(q.comments)
        if q.created >= item.last_asked:
            item.last_asked, item.answer, item.asked = q.created, q.answer, q.question
    return sorted(merged.values(), key=lambda item: -item.last_asked)


def weekly_scores(queries: list[LoggedQuery]) -> list[dict[str, Any]]:
    """Per ISO week: volume, abstention rate and the top-1 similarity, with its change on the week before."""
    weeks: dict[str, list[LoggedQuery]] = {}
    for q in queries:
        weeks.setdefault(iso_week(q.created), []).append(q)
    rows: list[dict[str, Any]] = []
    previous_mean: float | None = None
    for week in sorted(weeks):
        group = weeks[week]
        scores = [q.top_score for q in group if q.top_score is not None]
        mean = round(statistics.fmean(scores), 4) if scores else None
        change = round(mean - previous_mean, 4) if mean is not None and previous_mean is not None else None
        rows.append(
            {
                "week": week,
                "queries": len(group),
                "abstention_rate": ratio(sum(not q.answerable for q in group), len(group)),
                "top_score_mean": mean,
                "top_score_median": round(statistics.median(scores), 4) if scores else None,
                "top_score_change": change,
                "drift": change is not None and abs(change) >= DRIFT_ALERT,
            }
        )
        previous_mean = mean if mean is not None else previous_mean
    return rows


def days_since_first_query(queries: list[LoggedQuery], until: float) -> float:
    """The days a daily rate is taken over: from the first query in the window to its end, and at least
    one. Not the whole window: a service that started today would show its volume spread over 56 days."""
    first = min((q.created for q in queries), default=until)
    return max((until - first) / DAY, 1.0)


def summarise(queries: list[LoggedQuery], since: float, until: float, slowest: int = 5) -> dict[str, Any]:
    """The report as plain data (what `rag report --json` prints)."""
    total = len(queries)
    abstained = sum(not q.answerable for q in queries)
    ups = sum(q.ratings.count("up") for q in queries)
    downs = sum(q.ratings.count("down") for q in queries)
    rated = sum(bool(q.ratings) for q in queries)
    latencies = [q.latency_ms for q in queries]
    days = days_since_first_query(queries, until)
    return {
        "period": {"from": iso_time(since), "to": iso_time(until)},
        "volume": {
            "queries": total,
            "per_day": round(total / days, 2),
            "days_since_first_query": round(days, 1),
            "conversations": len({q.conversation_id for q in queries if q.conversation_id}),
            "by_channel": dict(Counter(q.channel for q in queries).most_common()),
        },
        "abstained": abstained,
        "abstention_rate": ratio(abstained, total),
        "feedback": {
            "up": ups,
            "down": downs,
            "rated_queries": rated,
            "down_rate": ratio(sum(q.thumbs_down for q in queries), total),
            "down_share_of_rated": ratio(sum(q.thumbs_down for q in queries), rated),
        },
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "max": round(max(latencies, default=0.0), 1),
        },
        "slowest": [
            {
                "query_id": q.query_id,
                "question": q.question,
                "latency_ms": round(q.latency_ms, 1),
                "asked": iso_time(q.created),
            }
            for q in sorted(queries, key=lambda q: -q.latency_ms)[:slowest]
        ],
        "needs_review": [
            {
                "question": item.question,
                "reasons": item.reasons,
                "times": len(item.query_ids),
                "last_asked": iso_time(item.last_asked),
                "comments": item.comments,
            }
            for item in review_items(queries)
        ],
        "weekly": weekly_scores(queries),
    }


def build_report(store: SharedState, days: float, slowest: int = 5, now: float | None = None) -> dict[str, Any]:
    until = now if now is not None else time.time()
    since = until - days * DAY
    return summarise(load_log(store, since, until), since, until, slowest)


def rate_wording(volume: dict[str, Any]) -> str:
    """The daily rate and the days it is taken over, so that a young log is not read as a quiet one."""
    if not volume["queries"]:
        return ""
    days = volume["days_since_first_query"]
    return f" ({volume['per_day']} a day over the {'1 day' if days == 1 else f'{days:g} days'} since the first query)"


def format_report(report: dict[str, Any], review_limit: int = 20) -> str:
    """The report for a terminal."""
    volume, feedback, latency = report["volume"], report["feedback"], report["latency_ms"]
    channels = ", ".join(f"{name} {count}" for name, count in volume["by_channel"].items()) or "none"
    lines = [
        f"Query log {report['period']['from']} to {report['period']['to']}",
        "",
        f"Volume: {volume['queries']} queries{rate_wording(volume)}, "
        f"{volume['conversations']} conversations; by channel: {channels}",
        f"Abstained: {report['abstained']} ({report['abstention_rate']:.1%})",
        f"Feedback: {feedback['up']} 👍, {feedback['down']} 👎 on {feedback['rated_queries']} rated queries; "
        f"👎 rate {feedback['down_rate']:.1%} of queries, {feedback['down_share_of_rated']:.1%} of rated",
        f"Latency: p50 {latency['p50']} ms, p95 {latency['p95']} ms, max {latency['max']} ms",
    ]
    if report["slowest"]:
        lines += ["", "Slowest queries:"]
        lines += [f"  {q['latency_ms']:>9.1f} ms  {q['asked']}  {q['question']}" for q in report["slowest"]]
    review = report["needs_review"]
    if review:
        lines += ["", f"Questions to review ({len(review)}; abstained or 👎 — `rag feedback export` writes them):"]
        for item in review[:review_limit]:
            comment = f"  — “{item['comments'][-1]}”" if item["comments"] else ""
            lines.append(f"  [{', '.join(item['reasons'])}] ×{item['times']}  {item['question']}{comment}")
        if len(review) > review_limit:
            lines.append(f"  … and {len(review) - review_limit} more")
    if report["weekly"]:
        lines += ["", "Top-1 similarity by week (mean, median, change on the week before):"]
        for week in report["weekly"]:
            mean = "—" if week["top_score_mean"] is None else f"{week['top_score_mean']:.3f}"
            median = "—" if week["top_score_median"] is None else f"{week['top_score_median']:.3f}"
            change = "" if week["top_score_change"] is None else f"{week['top_score_change']:+.3f}"
            flag = "  ← drift" if week["drift"] else ""
            lines.append(
                f"  {week['week']}  {week['queries']:>6} queries  abstained {week['abstention_rate']:>6.1%}  "
                f"mean {mean}  median {median}  {change}{flag}"
            )
    return "\n".join(lines)


def dataset_id(question: str) -> str:
    """Stable across exports, so re-exporting the same question never makes a second golden-set id."""
    return "feedback-" + hashlib.sha1(same_question_key(question).encode("utf-8")).hexdigest()[:10]


def feedback_dataset(queries: list[LoggedQuery]) -> list[dict[str, Any]]:
    """Dataset lines for the questions to review. `evidence` and `facts` are left for the reviewer;
    `answerable` is a proposal: false when the service abstained and nobody objected, true when a user
    rated the answer 👎 (they expected one)."""
    lines = []
    for item in review_items(queries):
        lines.append(
            {
                "id": dataset_id(item.question),
                "question": item.question,
                "evidence": [],
                "facts": [],
                "answerable": item.thumbs_down or item.answerable,
                "source": "feedback",
                # For the reviewer; the harness keeps fields it does not know as extras.
                "reasons": item.reasons,
                "asked": item.asked,
                "answer_given": item.answer,
                "comments": item.comments,
                "query_ids": item.query_ids,
                "last_asked": iso_time(item.last_asked),
            }
        )
    return lines

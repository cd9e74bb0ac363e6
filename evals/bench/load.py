"""Load generators for the throughput benchmark: `wrk` (C, light on a 2-core machine) when it is
installed (`apt-get install wrk`), else a Python asyncio + httpx client. Both keep `connections`
requests in flight for `seconds`, rotating through the same request bodies, and count every error."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from evals.bench.stats import percentile

# wrk calls `request` for every request and `done` once at the end, with its latency histogram (µs).
WRK_SCRIPT = """
local bodies = {%(bodies)s}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, "%(path)s", nil, bodies[(counter %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests": %%d, "seconds": %%.3f, "p50_ms": %%.3f, "p95_ms": %%.3f, "p99_ms": %%.3f, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class LoadResult:
    client: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "rps": round(self.rps, 2), "error_count": self.error_count}


def merged(results: list[LoadResult]) -> LoadResult:
    """Segments of one configuration as one result: counts and seconds added up, each latency percentile the
    median of the segments' (wrk reports percentiles, not samples)."""
    first = results[0]
    errors: dict[str, int] = {}
    for r in results:
        for kind, count in r.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return LoadResult(
        first.client,
        first.connections,
        sum(r.requests for r in results),
        sum(r.seconds for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p95_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        errors,
    )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, path: str, bodies: list[dict[str, object]], connections: int, seconds: float) -> LoadResult:
    lua_bodies = ", ".join(f"[==[{json.dumps(b, ensure_ascii=False)}]==]" for b in bodies)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        script.write(WRK_SCRIPT % {"bodies": lua_bodies, "path": path})
    try:
        threads = min(2, connections)
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s", "-s", script.name, url],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    return LoadResult(
        "wrk",
        connections,
        int(figures["requests"]),
        float(figures["seconds"]),
        float(figures["p50_ms"]),
        float(figures["p95_ms"]),
        float(figures["p99_ms"]),
        {k: int(v) for k, v in figures["errors"].items()},
    )


async def _python_load(
    url: str, path: str, bodies: list[dict[str, object]], connections: int, seconds: float
) -> LoadResult:
    latencies: list[float] = []
    errors = {"status": 0, "transport": 0}
    counter = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def one_client() -> None:
            nonlocal counter
            while time.perf_counter() < deadline:
                body = bodies[counter % len(bodies)]
                counter += 1
                sent = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                except httpx.HTTPError:
                    errors["transport"] += 1
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                if response.status_code != 200:
                    errors["status"] += 1

        await asyncio.gather(*(one_client() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    if not latencies:
        latencies = [0.0]
    return LoadResult(
        "python (asyncio + httpx)",
        connections,
        len(latencies) + errors["transport"],
        elapsed,
        percentile(latencies, 0.5),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
        errors,
    )


def run_python(url: str, path: str, bodies: list[dict[str, object]], connections: int, seconds: float) -> LoadResult:
    return asyncio.run(_python_load(url, path, bodies, connections, seconds))


def run_load(
    client: str, url: str, path: str, bodies: list[dict[str, object]], connections: int, seconds: float
) -> LoadResult:
    """`client` is "wrk" or "python"."""
    if client == "wrk":
        return run_wrk(url, path, bodies, connections, seconds)
    return run_python(url, path, bodies, connections, seconds)

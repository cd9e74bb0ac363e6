"""State and operations: conversations, the query log and feedback (SQLite or PostgreSQL), the answer cache, resilience of remote calls, timings and reports."""

"""Benchmarks: scripts that print their figures and write a committed report."""

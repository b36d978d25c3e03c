"""``brexit ncc bench ingest|fleet``: the benchmarks' command line; JSON is the last line."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks of the NCC (JSON as the last line)")
    sub2 = p.add_subparsers(dest="bench_command", required=True)
    del sub2

"""The argument parser: every usage error is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

PROG = "companion-agent"


class UsageError(Exception):
    """Bad command-line usage; the message is shown as one line."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = OneLineParser(
        prog=PROG,
        description="A companion that remembers the people it talks to.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    common = OneLineParser(add_help=False)
    common.add_argument(
        "--data-dir",
        help="where the embedded database lives "
        "(default: COMPANION_DATA_DIR, else the platform's user data dir)",
    )
    common.add_argument("--log-level", help="DEBUG, INFO, WARNING (default) or ERROR")
    commands = parser.add_subparsers(dest="command", parser_class=OneLineParser)

    chat = commands.add_parser(
        "chat", parents=[common], help="talk to the companion in the terminal"
    )
    chat.add_argument("--user", required=True, help="a user UUID, or a name")

    memories = commands.add_parser(
        "memories", parents=[common], help="inspect and manage a user's memories"
    )
    actions = memories.add_subparsers(dest="action", parser_class=OneLineParser)
    user = OneLineParser(add_help=False)
    user.add_argument("--user", required=True, help="a user UUID, or a name")
    as_json = OneLineParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON")

    listing = actions.add_parser("list", parents=[common, user, as_json], help="list memories")
    listing.add_argument("--category", help="only this category (fact, preference, ...)")
    listing.add_argument("--limit", type=int, help="at most this many")

    search = actions.add_parser(
        "search", parents=[common, user, as_json], help="find memories relevant to a query"
    )
    search.add_argument("query", help="what to look for")
    search.add_argument("--limit", type=int, default=5, help="how many (default 5)")

    forget = actions.add_parser(
        "forget", parents=[common, user, as_json], help="delete one memory by id"
    )
    forget.add_argument("memory_id", help="the memory's UUID (see `memories list`)")

    export = actions.add_parser(
        "export", parents=[common, user], help="write memories as JSON Lines"
    )
    export.add_argument("--out", help="a file to write (default: standard output)")

    importing = actions.add_parser(
        "import", parents=[common, user, as_json], help="read memories from JSON Lines"
    )
    importing.add_argument("file", help="a JSON Lines file, or - for standard input")

    onboard = commands.add_parser(
        "onboard",
        parents=[common],
        help="set up a user from an onboarding JSON file (name, interests, goals, preferences)",
    )
    onboard.add_argument("--user", required=True, help="a user UUID, or a name")
    onboard.add_argument("file", help="a JSON file, or - for standard input")
    onboard.add_argument("--json", action="store_true", help="print JSON")

    bench = commands.add_parser("bench", help="measure retrieval: LoCoMo recall, latency at scale")
    benchmarks = bench.add_subparsers(dest="benchmark", parser_class=OneLineParser)
    locomo = benchmarks.add_parser(
        "locomo", parents=[common, as_json], help="recall@k on the LoCoMo benchmark"
    )
    locomo.add_argument("--data", required=True, help="a LoCoMo JSON file")
    locomo.add_argument(
        "--unit", choices=["dialog", "observation"], default="dialog", help="what is stored"
    )
    locomo.add_argument("--k", default="5,10,25,50", help="cut-offs (default 5,10,25,50)")
    locomo.add_argument(
        "--conversations", type=int, help="only the first N conversations (a smoke test)"
    )
    locomo.add_argument(
        "--no-participants",
        action="store_true",
        help="do not name the speakers as participants (an ablation: no name masking)",
    )
    latency = benchmarks.add_parser(
        "latency", parents=[common, as_json], help="retrieval latency for one large user"
    )
    latency.add_argument("--memories", type=int, default=10_000, help="memories (10000)")
    latency.add_argument("--queries", type=int, default=300, help="timed queries (300)")

    actions.add_parser(
        "reindex",
        parents=[common, user, as_json],
        help="re-embed every memory with the current embedding model",
    )
    return parser


def fail(message: str) -> NoReturn:
    """Print one error line and exit with status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)

"""The argument parser: every usage error is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

PROG = "companion-agent"
# LiveKit's own commands: options other than ours pass through to LiveKit's CLI (_voice.py).
VOICE_COMMANDS = {
    "start": "run the voice agent server (production); needs LIVEKIT_URL, key and secret",
    "dev": "run the voice agent server in development mode; needs LIVEKIT_URL, key and secret",
    "console": "talk to the voice agent in this terminal, without a server (--text for text)",
    "connect": "run the voice agent in one room (--room NAME)",
    "download-files": "download the model files LiveKit's plugins need",
}


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

    users = commands.add_parser(
        "users", parents=[common], help="take away or delete everything held of one user"
    )
    user_actions = users.add_subparsers(dest="action", parser_class=OneLineParser)
    taking = user_actions.add_parser(
        "export",
        parents=[common, user],
        help="write everything held of a user (profile, memories with history, turns,"
        " summaries) as one JSON document",
    )
    taking.add_argument("--out", help="a file to write (default: standard output)")
    erasing = user_actions.add_parser(
        "erase",
        parents=[common, user, as_json],
        help="delete everything held of a user, in every store, the cache and the spool",
    )
    erasing.add_argument("--yes", action="store_true", help="confirm: it cannot be undone")

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
    backends = OneLineParser(add_help=False)
    backends.add_argument(
        "--configured-backends",
        action="store_true",
        help="run on DATABASE_URL / SUPABASE_URL / REDIS_URL (writes benchmark users there); "
        "by default a scratch embedded store",
    )
    locomo = benchmarks.add_parser(
        "locomo", parents=[common, as_json, backends], help="recall@k on the LoCoMo benchmark"
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
    locomo.add_argument(
        "--embeddings-down",
        action="store_true",
        help="ask the questions as during an embeddings outage (memories embedded as usual;"
        " no query can be, so retrieval is lexical)",
    )
    locomo.add_argument(
        "--end-to-end",
        action="store_true",
        help="say every dialog turn through the chat's own turn path (journal, memory work,"
        " kept turns) and count what retrieval finds by its provenance",
    )
    latency = benchmarks.add_parser(
        "latency",
        parents=[common, as_json, backends],
        help="retrieval latency for one large user",
    )
    latency.add_argument("--memories", type=int, default=10_000, help="memories (10000)")
    latency.add_argument("--queries", type=int, default=300, help="timed queries (300)")

    say = commands.add_parser(
        "say", parents=[common], help="speak TEXT with the configured voice into a file"
    )
    say.add_argument("text", help="what to say")
    say.add_argument("--out", required=True, help="the file to write (FILE.wav)")
    say.add_argument("--voice", help="an Uplift AI voice id (default: UPLIFTAI_VOICE_ID)")
    say.add_argument("--format", help="an output format (default: UPLIFTAI_OUTPUT_FORMAT)")

    stats = commands.add_parser(
        "stats",
        parents=[common, as_json],
        help="connection pools, cache, database batching, and a user's memory figures",
    )
    stats.add_argument("--user", help="also this user's memory figures (a UUID, or a name)")
    commands.add_parser(
        "doctor",
        parents=[common, as_json],
        help="check every configured backend: reachable, migrated, dimensions match",
    )
    db = commands.add_parser("db", help="the PostgreSQL / Supabase schema")
    db_actions = db.add_subparsers(dest="db_action", parser_class=OneLineParser)
    migrate = db_actions.add_parser(
        "migrate", parents=[common], help="apply the schema migrations (idempotent)"
    )
    migrate.add_argument("--dsn", help="a postgresql:// DSN (default: DATABASE_URL)")

    for name, summary in VOICE_COMMANDS.items():
        voice = commands.add_parser(name, parents=[common], add_help=False, help=summary)
        if name == "console":
            voice.add_argument("--user", help="a user UUID, or a name (required)")

    actions.add_parser(
        "reindex",
        parents=[common, user, as_json],
        help="re-embed every memory with the current embedding model, then retry parked turns",
    )
    actions.add_parser(
        "retry",
        parents=[common, user, as_json],
        help="work this user's parked turns again (after what stopped them is fixed)",
    )
    return parser


def fail(message: str) -> NoReturn:
    """Print one error line and exit with status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)

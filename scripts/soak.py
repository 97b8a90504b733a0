"""Soak: many companion processes, many users, random kill -9, then every word accounted for.

The deployment in small: ``--processes`` console-script processes at once on one store
(the SQLite file by default; ``--postgres`` for PostgreSQL and Redis), each one a user's
session as a LiveKit job would hold it, with the hashing embedder and a scripted
OpenAI-compatible model on 127.0.0.1 whose extraction is slow (0.2-1.5 s) and fails
(HTTP 503 for 3 s of every 15, and 10% of other calls), so memory work is still running,
or waiting for a retry, when a process is killed. Each session says a few things ("I
live in <a town of its own>", once "I have a dog called ..."), and a session is killed
with SIGKILL at a random point with probability ``--kill``, mid-turn or between turns. A
line counts as said once the companion answered it (the journal entry is written before
the reply, so an answered line is durable). Claims on users' memory work last
``LEASE_SECONDS`` here, so a killed process's users are taken over within the run.

At the end the model is healthy again, every killed process's claims have run out, and
every user's memories are listed (which works what a killed session left undone) and
checked: one home, the last town said (or one said after it that was journalled before
the kill), every answered town in its timeline, intervals ordered and not overlapping,
the dog exactly once, nothing of another user; and the journal holds nothing pending or
parked.

    .venv/bin/python scripts/soak.py [--processes 8] [--users 200] [--turns 2000] [--kill 0.2]
        [--postgres]   # PostgreSQL + Redis, restarted and stopped mid-run
        [--offline-model]   # the offline model instead of the scripted remote one
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers.openai_peer import OpenAIPeer, PeerReply, running_peer  # noqa: E402

SCRIPT = Path(sys.executable).with_name("companion-agent")
# How long a claim on a user's memory work lasts here (the default is a minute): short,
# so that killed processes' users are taken over, by other processes, during the run.
LEASE_SECONDS = 3
# Names the offline extractor reads as a place, unique per user and turn.
TOWN = "Soakville-{user}-{turn}"
DOG = "Rex{user}"


@dataclass
class User:
    """One user's plan and what happened to it."""

    index: int
    name: str
    said: list[str] = field(default_factory=list)  # towns sent, in order
    answered: list[bool] = field(default_factory=list)
    dog_answered: bool = False
    dog_sent: bool = False
    busy: bool = False

    @property
    def next_town(self) -> str:
        return TOWN.format(user=self.index, turn=len(self.said))


class ScriptedModel:
    """The remote model of the soak: replies at once; extraction slow and failing at times.

    Extraction reads the soak's own sentences and answers as a remote model would (the
    slot keys the offline extractor uses, so the checks are the same either way).
    """

    HOME = re.compile(r"I live in (Soakville-\d+-\d+)\.")
    DOG = re.compile(r"I have a dog called (Rex\d+)\.")

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.healthy = False  # set before the checks: the model is back
        self.extractions = 0
        self.failures = 0

    def __call__(self, body: Any) -> PeerReply:
        messages = body.get("messages") or [] if isinstance(body, dict) else []
        system = str(messages[0].get("content", "")) if messages else ""
        if not system.startswith("You extract memories"):
            if isinstance(body, dict) and body.get("stream"):
                return PeerReply(pieces=["Nice ", "to hear."])
            return PeerReply(body=OpenAIPeer.completion("Nice to hear."))
        with self._lock:
            self.extractions += 1
            delay = 0.02 if self.healthy else self._rng.uniform(0.2, 1.5)
            down = (time.monotonic() // 3) % 5 == 0 or self._rng.random() < 0.1
            failing = not self.healthy and down
            if failing:
                self.failures += 1
        if failing:
            error = {"error": {"message": "overloaded", "type": "server_error", "code": None}}
            return PeerReply(503, error, headers={"retry-after-ms": "1"}, delay=delay / 4)
        said = str(messages[-1].get("content", ""))
        memories: list[dict[str, object]] = []
        if home := self.HOME.search(said):
            town = home.group(1)
            memories.append(_item("personal", f"Lives in {town}", "location.home", town))
        if dog := self.DOG.search(said):
            name = dog.group(1)
            memories.append(
                _item("relationship", f"Has a dog called {name}", f"pet.dog.{name.lower()}", name)
            )
        content = json.dumps({"memories": memories})
        return PeerReply(body=OpenAIPeer.completion(content), delay=delay)


def _item(category: str, text: str, key: str, value: str) -> dict[str, object]:
    return {
        "category": category,
        "text": text,
        "importance": 8,
        "key": key,
        "value": value,
        "forget": False,
    }


@dataclass
class Report:
    """What the run did and what it found."""

    sessions: int = 0
    turns_sent: int = 0
    turns_answered: int = 0
    kills: int = 0
    disruptions: int = 0
    extractions: int = 0
    extraction_failures: int = 0
    facts_checked: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"sessions {self.sessions}, turns sent {self.turns_sent}, answered "
            f"{self.turns_answered}, kills {self.kills}, disruptions {self.disruptions}, "
            f"model extractions {self.extractions} ({self.extraction_failures} failed), "
            f"facts checked {self.facts_checked}, "
            f"problems {len(self.problems)}, {self.seconds:.0f} s"
        )


def _env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUPABASE_"))}
    env.update({"COMPANION_EMBEDDER": "hashing", "COMPANION_DATA_DIR": str(data_dir)})
    env["COMPANION_MEMORY_LEASE_SECONDS"] = str(LEASE_SECONDS)
    env.update(extra)
    return env


async def _session(
    user: User, env: dict[str, str], rng: random.Random, kill: float, report: Report
) -> None:
    """One session of ``user``: a few lines, maybe killed on the way."""
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        "chat",
        "--user",
        user.name,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    report.sessions += 1
    killed = False
    try:
        if not await asyncio.wait_for(process.stdout.readline(), 60):  # the greeting
            return  # it could not start (the store down): nothing was said
        lines = rng.randint(1, 4)
        kill_at = rng.randrange(lines * 2) if rng.random() < kill else None
        for step in range(lines * 2):
            if kill_at == step:
                process.kill()
                killed = True
                break
            if step % 2 == 0:  # say something
                if not user.dog_sent and rng.random() < 0.3:
                    user.dog_sent = True
                    text, town = f"I have a dog called {DOG.format(user=user.index)}.", None
                else:
                    town = user.next_town
                    user.said.append(town)
                    user.answered.append(False)
                    text = f"I live in {town}."
                report.turns_sent += 1
                try:
                    process.stdin.write((text + "\n").encode())
                    await process.stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    break  # it ended on its own (an error it reported): not answered
                pending = town
            else:  # its answer
                reply = await asyncio.wait_for(process.stdout.readline(), 60)
                if not reply:
                    break
                report.turns_answered += 1
                if pending is None:
                    user.dog_answered = True
                else:
                    user.answered[user.said.index(pending)] = True
        if not killed:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                process.stdin.close()
            await asyncio.wait_for(process.wait(), 60)
    finally:
        if killed:
            report.kills += 1
        if process.returncode is None:
            process.kill()
        await process.wait()
        user.busy = False


async def _run(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, (out or err).decode()


def _check(user: User, memories: list[dict[str, object]], report: Report) -> None:
    homes = [m for m in memories if m.get("key") == "location.home"]
    said = user.said
    answered = [t for t, ok in zip(user.said, user.answered, strict=True) if ok]
    where = f"user {user.index}"
    others = [
        m
        for m in memories
        if f"Soakville-{user.index}-" not in str(m.get("text", ""))
        and f"Rex{user.index}" not in str(m.get("text", ""))
        and m.get("key") not in (None, "location.home", f"pet.dog.rex{user.index}")
    ]
    if others:
        report.problems.append(f"{where}: memories that are not theirs: {others}")
    dogs = [m for m in memories if m.get("key") == f"pet.dog.rex{user.index}"]
    report.facts_checked += 1
    if user.dog_answered and len(dogs) != 1:
        report.problems.append(f"{where}: the dog {len(dogs)} times")
    if not answered and not homes:
        return
    report.facts_checked += 1
    if len(homes) != 1:
        report.problems.append(f"{where}: {len(homes)} homes")
        return
    home = homes[0]
    current = str(home.get("value"))
    if answered:
        last = said.index(answered[-1])
        if current not in said[last:]:
            report.problems.append(f"{where}: lives in {current}, last said {answered[-1]}")
    history = list(home.get("history") or [])  # type: ignore[call-overload]
    known = {str(h.get("value")) for h in history} | {current}
    report.facts_checked += len(answered)
    missing = [t for t in answered if t not in known]
    if missing:
        report.problems.append(f"{where}: answered towns missing from the timeline: {missing}")
    spans = [(str(h["valid_from"]), str(h["valid_to"])) for h in history]
    for (start, end), (next_start, _) in itertools.pairwise(spans):
        if not start < end <= next_start:
            report.problems.append(f"{where}: history out of order: {spans}")
            break
    foreign = [v for v in known if not v.startswith(f"Soakville-{user.index}-")]
    if foreign:
        report.problems.append(f"{where}: another user's towns: {foreign}")


async def soak(
    *,
    processes: int,
    users: int,
    turns: int,
    kill: float,
    seed: int,
    data_dir: Path,
    env_extra: dict[str, str] | None = None,
    disruptions: dict[int, Callable[[], None]] | None = None,
    remote_model: bool = True,
) -> Report:
    """Run the soak and check the result; the report lists any problem found.

    ``disruptions`` maps a number of turns sent to a blocking call made then, in a
    thread, while the sessions go on (a database restart, Redis stopped for a while).
    ``remote_model``: the scripted remote model (else the offline one).
    """
    if not remote_model:
        return await _soak(
            processes, users, turns, kill, seed, _env(data_dir, env_extra or {}), disruptions, None
        )
    model = ScriptedModel(seed)
    with running_peer() as peer:
        peer.responder = model
        extra = {"OPENAI_API_KEY": "sk-soak-local", "OPENAI_BASE_URL": peer.base_url}
        return await _soak(
            processes,
            users,
            turns,
            kill,
            seed,
            _env(data_dir, {**extra, **(env_extra or {})}),
            disruptions,
            model,
        )


async def _soak(
    processes: int,
    users: int,
    turns: int,
    kill: float,
    seed: int,
    env: dict[str, str],
    disruptions: dict[int, Callable[[], None]] | None,
    model: ScriptedModel | None,
) -> Report:
    rng = random.Random(seed)
    people = [User(i, f"soak-user-{seed}-{i}") for i in range(users)]
    report = Report()
    started = time.perf_counter()
    running: set[asyncio.Task[None]] = set()
    due = dict(sorted((disruptions or {}).items()))
    troubles: list[asyncio.Future[None]] = []
    while report.turns_sent < turns or running:
        while due and report.turns_sent >= next(iter(due)):
            disrupt = due.pop(next(iter(due)))
            troubles.append(asyncio.ensure_future(asyncio.to_thread(disrupt)))
            report.disruptions += 1
        while len(running) < processes and report.turns_sent < turns:
            idle = [u for u in people if not u.busy]
            if not idle:
                break
            user = rng.choice(idle)
            user.busy = True
            running.add(asyncio.create_task(_session(user, env, rng, kill, report)))
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    for trouble in troubles:
        await trouble  # every server is back before the checks
    if model is not None:
        model.healthy = True
        report.extractions, report.extraction_failures = model.extractions, model.failures
    await asyncio.sleep(LEASE_SECONDS + 1)  # killed processes' claims run out
    for user in people:
        code, out = await _run(["memories", "list", "--user", user.name, "--json"], env)
        if code != 0:
            report.problems.append(f"user {user.index}: memories list exited {code}: {out}")
            continue
        _check(user, json.loads(out), report)
    code, out = await _run(["stats", "--json"], env)
    journal = json.loads(out)["journal"] if code == 0 else {}
    if (
        journal.get("pending") != 0
        or journal.get("parked") != 0
        or journal.get("kept_on_this_machine")
    ):
        report.problems.append(f"journal after recovery: {journal or out}")
    report.seconds = time.perf_counter() - started
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--kill", type=float, default=0.2, help="chance a session is killed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--offline-model",
        action="store_true",
        help="the offline model instead of the scripted remote one",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="on a PostgreSQL and a redis-server started here (as the tests start them),"
        " PostgreSQL restarted at a third of the turns and Redis stopped at two thirds",
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="companion-soak-"))
    stop_servers: list[Callable[[], None]] = []
    env_extra: dict[str, str] = {}
    disruptions: dict[int, Callable[[], None]] = {}
    if args.postgres:
        from tests.servers.postgres import start_server
        from tests.servers.redis import RedisServer

        database, redis = start_server(), RedisServer()
        redis.start()
        stop_servers = [redis.close, database.stop]
        env_extra = {"DATABASE_URL": database.dsn(), "REDIS_URL": redis.url}

        def restart_postgres() -> None:
            database.pause()
            time.sleep(5)
            database.resume()

        def stop_redis() -> None:
            redis.stop()
            time.sleep(5)
            redis.start()

        disruptions = {args.turns // 3: restart_postgres, 2 * args.turns // 3: stop_redis}
    try:
        report = asyncio.run(
            soak(
                processes=args.processes,
                users=args.users,
                turns=args.turns,
                kill=args.kill,
                seed=args.seed,
                data_dir=data_dir,
                env_extra=env_extra,
                disruptions=disruptions,
                remote_model=not args.offline_model,
            )
        )
    finally:
        for stop in stop_servers:
            stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(report.line())
    for problem in report.problems[:50]:
        print("  " + problem)
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

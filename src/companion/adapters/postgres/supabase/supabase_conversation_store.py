"""SupabaseConversationStore: turns and session summaries in Supabase, through PostgREST."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from postgrest import ReturnMethod

from companion.adapters.postgres.schema_json.codec import (
    Row,
    parse_timestamp,
    rows_of,
    text,
    timestamp,
    uuid_text,
)
from companion.adapters.postgres.schema_json.rows import (
    CLAIM_MEMORY_WORK,
    SUMMARY_COLUMNS,
    TURN_COLUMNS,
    claim_params,
    claimed_turns,
    summary_from_row,
    summary_row,
    turn_from_row,
    turn_row,
)
from companion.adapters.postgres.supabase._paging import DEFAULT_PAGE_SIZE, check_page, fetch_pages
from companion.adapters.postgres.supabase.client import SupabaseClient
from companion.domain.errors import Conflict, StoreError
from companion.domain.models import ConversationSummary, ConversationTurn, ParkedTurn, Role
from companion.domain.validation import park_reason, positive_limit
from companion.ports.conversation_store import ConversationStore

TURNS = "companion_turns"
CLAIMS = "companion_memory_claims"
SUMMARIES = "companion_summaries"
ERASE_CONVERSATIONS = "companion_erase_conversations"
# A parked turn's row: the turn, and when and why it was set aside.
PARKED_COLUMNS = f"{TURN_COLUMNS},parked_at,park_reason"


class SupabaseConversationStore(ConversationStore):
    """Conversation turns (in append order, by the table's identity ``seq``) and
    per-session summaries on Supabase."""

    def __init__(self, client: SupabaseClient, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        """A store over a shared client; it does not own (or close) the client.

        ``page_size`` must not exceed the project's "max rows" API setting (see
        :class:`~companion.adapters.postgres.supabase.SupabaseMemoryStore`).
        """
        self._client = client
        self._page_size = check_page(page_size)
        self._closed = False

    async def append_turn(self, turn: ConversationTurn) -> None:
        """Append one turn; Conflict if its id was used before (the id is UNIQUE)."""
        self._check_open()
        query = self._client.table(TURNS).insert(turn_row(turn), returning=ReturnMethod.minimal)
        await self._client.execute(query, what="appending a turn")

    async def turns(self, user_id: UUID, session_id: UUID) -> list[ConversationTurn]:
        """The turns of one session of this user, oldest first."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")
        sid = uuid_text(session_id, what="session id")

        def page(start: int, size: int) -> Any:
            return (
                self._client.table(TURNS)
                .select(TURN_COLUMNS)
                .eq("user_id", uid)
                .eq("session_id", sid)
                .order("seq")
                .limit(size)
                .offset(start)
            )

        rows = await fetch_pages(
            self._client, page, 0, None, self._page_size, what="reading a session's turns"
        )
        return [turn_from_row(row) for row in rows]

    async def recent_turns(self, user_id: UUID, limit: int) -> list[ConversationTurn]:
        """This user's last ``limit`` turns across sessions, oldest first."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")
        if not positive_limit(limit):
            return []

        def page(start: int, size: int) -> Any:
            return (
                self._client.table(TURNS)
                .select(TURN_COLUMNS)
                .eq("user_id", uid)
                .order("seq", desc=True)
                .limit(size)
                .offset(start)
            )

        rows = await fetch_pages(
            self._client, page, 0, limit, self._page_size, what="reading recent turns"
        )
        rows.reverse()
        return [turn_from_row(row) for row in rows]

    async def pending_turns(
        self, limit: int, user_id: UUID | None = None
    ) -> list[ConversationTurn]:
        """User turns whose memory work is not done yet and that are not parked, oldest
        first: of every user, or of ``user_id``.

        Without ``user_id`` the one read not filtered by user: the journal is replayed for
        every user.
        """
        self._check_open()
        uid = None if user_id is None else uuid_text(user_id, what="user id")
        if not positive_limit(limit):
            return []

        def page(start: int, size: int) -> Any:
            query = (
                self._client.table(TURNS)
                .select(TURN_COLUMNS)
                .is_("processed_at", "null")
                .is_("parked_at", "null")
                .eq("role", Role.USER.value)
            )
            if uid is not None:
                query = query.eq("user_id", uid)
            return query.order("seq").limit(size).offset(start)

        rows = await fetch_pages(
            self._client, page, 0, limit, self._page_size, what="reading the turn journal"
        )
        return [turn_from_row(row) for row in rows]

    async def park_turn(self, user_id: UUID, turn_id: UUID, reason: str, when: datetime) -> None:
        """Set a pending user turn of this user aside with why; parking it again keeps the
        first reason, and a processed turn (or someone else's) stays as it is."""
        self._check_open()
        tid = uuid_text(turn_id, what="turn id")
        uid = uuid_text(user_id, what="user id")
        parked_at = timestamp(when, what="when")
        # park_reason makes it one bounded line; text() refuses what PostgreSQL cannot
        # hold (NUL), so a bad reason fails here rather than as a server error.
        why = text(park_reason(reason), what="park reason")
        query = (
            self._client.table(TURNS)
            .update({"parked_at": parked_at, "park_reason": why}, returning=ReturnMethod.minimal)
            .eq("id", tid)
            .eq("user_id", uid)
            .is_("processed_at", "null")
            # Only an unparked turn: the first reason and time stay.
            .is_("parked_at", "null")
            .eq("role", Role.USER.value)
        )
        await self._client.execute(query, what="parking a turn")

    async def parked_turns(self, user_id: UUID | None, limit: int) -> list[ParkedTurn]:
        """Parked turns still pending, oldest first: of every user, or of ``user_id``."""
        self._check_open()
        uid = None if user_id is None else uuid_text(user_id, what="user id")
        if not positive_limit(limit):
            return []

        def page(start: int, size: int) -> Any:
            query = (
                self._client.table(TURNS)
                .select(PARKED_COLUMNS)
                .not_.is_("parked_at", "null")
                # A turn processed after it was parked keeps its parked_at, but is done.
                .is_("processed_at", "null")
            )
            if uid is not None:
                query = query.eq("user_id", uid)
            return query.order("seq").limit(size).offset(start)

        rows = await fetch_pages(
            self._client, page, 0, limit, self._page_size, what="reading parked turns"
        )
        return [_parked_from_row(row) for row in rows]

    async def unpark_turns(self, user_id: UUID | None) -> int:
        """Put parked, still pending turns back in the journal (of ``user_id``, or every
        user's); returns how many."""
        self._check_open()
        # The parked_at filter is also what lets PostgREST run this UPDATE for every user:
        # it refuses one without any filter.
        query = (
            self._client.table(TURNS)
            .update({"parked_at": None, "park_reason": None})
            .not_.is_("parked_at", "null")
            .is_("processed_at", "null")
        )
        if user_id is not None:
            query = query.eq("user_id", uuid_text(user_id, what="user id"))
        # The changed rows come back (their ids only) to be counted.
        response = await self._client.execute(query.select("id"), what="unparking turns")
        return len(rows_of(response.data))

    async def claim_user(
        self,
        user_id: UUID,
        owner: str,
        lease_seconds: float,
        limit: int = 1000,
        *,
        take_over: str | None = None,
    ) -> list[ConversationTurn] | None:
        """Take or renew the user's memory-work lease: one RPC call of
        ``companion_claim_memory_work`` (migration 0008), decided by the database's clock;
        None when another owner's lease still runs."""
        self._check_open()
        params = claim_params(user_id, owner, lease_seconds, limit, take_over)
        response = await self._client.execute(
            self._client.rpc(CLAIM_MEMORY_WORK, params), what="claiming a user's memory work"
        )
        return claimed_turns(response.data)

    async def claim_holder(self, user_id: UUID) -> str | None:
        """Who holds an unexpired lease on the user's memory work, if anyone (the lease's
        end is read and compared here: PostgREST filters cannot name the server's clock)."""
        self._check_open()
        query = (
            self._client.table(CLAIMS)
            .select("owner,lease_until")
            .eq("user_id", uuid_text(user_id, what="user id"))
        )
        response = await self._client.execute(query, what="reading a user's memory claim")
        rows = rows_of(response.data)
        if not rows:
            return None
        try:
            owner, until = str(rows[0]["owner"]), parse_timestamp(rows[0]["lease_until"])
        except (KeyError, TypeError, ValueError):
            raise StoreError("a stored memory claim is malformed") from None
        return owner if until > datetime.now(UTC) else None

    async def release_user(self, user_id: UUID, owner: str) -> None:
        """Give up ``owner``'s lease on the user's memory work."""
        self._check_open()
        params = claim_params(user_id, owner, 1.0, 0)
        query = (
            self._client.table(CLAIMS)
            .delete(returning=ReturnMethod.minimal)
            .eq("user_id", params["p_user_id"])
            .eq("owner", params["p_owner"])
        )
        await self._client.execute(query, what="releasing a user's memory work")

    async def mark_processed(self, user_id: UUID, turn_id: UUID, when: datetime) -> None:
        """Record that the memory work for this turn is done (idempotent: the first
        time stays)."""
        self._check_open()
        query = (
            self._client.table(TURNS)
            .update({"processed_at": timestamp(when, what="when")}, returning=ReturnMethod.minimal)
            .eq("id", uuid_text(turn_id, what="turn id"))
            .eq("user_id", uuid_text(user_id, what="user id"))
            .is_("processed_at", "null")
        )
        await self._client.execute(query, what="marking a turn processed")

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every turn, summary and lease of this user in one transaction (one RPC
        call)."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")
        return await self._client.erase(
            ERASE_CONVERSATIONS, uid, what="erasing a user's conversations"
        )

    async def save_summary(self, summary: ConversationSummary) -> None:
        """Insert or replace the summary of ``summary.session_id``.

        Conflict if that session's summary belongs to another user, or the summary's id
        is already used by another session's summary. PostgREST's upsert would hand the
        session to whoever saves last, so this inserts, and on a clash replaces only a
        row of the same session and the same user: one request for a session's first
        summary, two to replace one.
        """
        self._check_open()
        row = summary_row(summary)
        insert = self._client.table(SUMMARIES).insert(row, returning=ReturnMethod.minimal)
        try:
            await self._client.execute(insert, what="saving a summary")
        except Conflict:
            # The session (or the id) has a summary already: replace it if it is ours.
            await self._replace_summary(row)

    async def _replace_summary(self, row: Row) -> None:
        replace = (
            self._client.table(SUMMARIES)
            .update(row)
            .eq("session_id", row["session_id"])
            .eq("user_id", row["user_id"])
            .select("id")
        )
        # A clash of the id with another session's summary is a 23505 here too.
        response = await self._client.execute(replace, what="replacing a summary")
        if not rows_of(response.data):
            raise Conflict(
                f"summary {row['id']} clashes with a stored one: its session belongs to"
                " another user, or its id to another session"
            )

    async def latest_summary(self, user_id: UUID) -> ConversationSummary | None:
        """The summary of this user's most recently ended session, or None."""
        found = await self.summaries(user_id, 1)
        return found[0] if found else None

    async def summaries(self, user_id: UUID, limit: int) -> list[ConversationSummary]:
        """This user's last ``limit`` summaries, newest first (by end time)."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")
        if not positive_limit(limit):
            return []

        def page(start: int, size: int) -> Any:
            return (
                self._client.table(SUMMARIES)
                .select(SUMMARY_COLUMNS)
                .eq("user_id", uid)
                .order("ended_at", desc=True)
                .order("session_id", desc=True)
                .limit(size)
                .offset(start)
            )

        rows = await fetch_pages(
            self._client, page, 0, limit, self._page_size, what="reading summaries"
        )
        return [summary_from_row(row) for row in rows]

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the client stays open."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("conversation store is closed")


def _parked_from_row(row: Row) -> ParkedTurn:
    """A ParkedTurn from a companion_turns row selected by PARKED_COLUMNS."""
    turn = turn_from_row(row)
    try:
        reason, parked_at = row["park_reason"], parse_timestamp(row["parked_at"])
    except KeyError:  # turn_from_row already refused anything but a row
        raise StoreError("a stored parked turn row is malformed (KeyError)") from None
    if not isinstance(reason, str):
        raise StoreError("a stored parked turn has no reason")
    return ParkedTurn(turn, reason, parked_at)

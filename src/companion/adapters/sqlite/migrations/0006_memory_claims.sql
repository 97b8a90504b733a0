-- The journal is a work queue shared by every process on this file: one claimant at a
-- time holds a lease on a user's memory work (taken under BEGIN IMMEDIATE), works the
-- user's pending turns in the order they were said, renews the lease while it works and
-- gives it up when done; a lease that ran out (its process was killed) is taken over.
-- lease_until is microseconds since the epoch on this machine's clock.
CREATE TABLE memory_claims (
    user_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL
) WITHOUT ROWID;

-- Erasing a user deletes their row of memory_vector_versions too, so their version would
-- start again from 1, and another process's cached vectors of that user, built at a
-- version the user reaches again, would look current. One database-wide counter, bumped by
-- every erasure, is read with the user's version: a cache built before an erasure is never
-- current after it. It holds no user's data.
CREATE TABLE memory_vector_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    epoch INTEGER NOT NULL
);
INSERT INTO memory_vector_epoch (id, epoch) VALUES (0, 0);

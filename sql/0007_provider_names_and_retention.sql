-- session-vault schema, version 7: provider names in one spelling, and retention for what had none.

-- Provider names are lower-cased at intake and in paths from now on ("Facebook" and "facebook" are one provider, as
-- Gigya's own names are lower case). Rows stored under another spelling are renamed; where a user has a session under
-- two spellings of one provider, the most recently fetched one is kept.
DELETE FROM provider_sessions AS s
    USING provider_sessions AS t
    WHERE s.site = t.site AND s.uid = t.uid AND lower(s.provider) = lower(t.provider) AND s.provider <> t.provider
      AND (s.fetched_at, s.provider) < (t.fetched_at, t.provider);
UPDATE provider_sessions SET provider = lower(provider) WHERE provider <> lower(provider);
UPDATE login_events SET provider = lower(provider) WHERE provider <> lower(provider);
DELETE FROM session_tombstones AS s
    USING session_tombstones AS t
    WHERE s.site = t.site AND s.uid = t.uid AND lower(s.provider) = lower(t.provider) AND s.provider <> t.provider
      AND (s.deleted_at, s.provider) < (t.deleted_at, t.provider);
UPDATE session_tombstones SET provider = lower(provider) WHERE provider <> lower(provider);

-- Cancelled events (their user was deleted while they waited) are finished history too: deleted after the events'
-- retention like stored and failed ones, through the same index.
DROP INDEX login_events_finished_idx;
CREATE INDEX login_events_finished_idx ON login_events (completed_at) INCLUDE (status)
    WHERE status IN ('stored', 'failed', 'cancelled');

-- Tombstones are deleted once older than the events' retention and no unfinished event they could stop remains;
-- finished reconciliation runs after their own retention (the newest of each site and mode is kept).
CREATE INDEX session_tombstones_deleted_idx ON session_tombstones (deleted_at);
CREATE INDEX reconciliation_runs_finished_idx ON reconciliation_runs (updated_at) WHERE status <> 'running';

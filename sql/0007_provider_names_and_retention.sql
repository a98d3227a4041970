-- session-vault schema, version 7: provider names in one spelling, and retention for what had none.

-- Provider names are lower-cased at intake and in paths from now on ("Facebook" and "facebook" are one provider, as
-- Gigya's own names are lower case). Stored sessions cannot be renamed here: the provider is part of each sealed token's
-- associated data, so the server re-seals them under the lower-case name at start (the store's normalizeProviderNames);
-- this index holds only the rows still to move, so that check costs nothing once they are done.
CREATE INDEX provider_sessions_unnormalized_idx ON provider_sessions (site, uid, provider) WHERE provider <> lower(provider);
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

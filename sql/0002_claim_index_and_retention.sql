-- session-vault schema, version 2: one due-time index for claiming, and indexes that keep statistics and retention
-- off the finished history.

-- A claimable row is a pending row whose next attempt is due, or a processing row whose lease ran out. From now on
-- next_attempt_at holds both: for a processing row it is the end of its lease (kept equal to lease_expires_at), so
-- one ordered index answers every claim in O(log n), however large the backlog.
UPDATE login_events SET next_attempt_at = lease_expires_at WHERE status = 'processing';
DROP INDEX login_events_due_idx;
DROP INDEX login_events_lease_idx;
CREATE INDEX login_events_claim_idx ON login_events (next_attempt_at) INCLUDE (status, created_at)
    WHERE status IN ('pending', 'processing');

-- Failed events are counted for /metrics and deleted after the retention period, like stored ones; neither may scan
-- the whole table.
CREATE INDEX login_events_finished_idx ON login_events (completed_at) INCLUDE (status)
    WHERE status IN ('stored', 'failed');

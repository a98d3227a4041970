-- session-vault schema, version 3: trust boundaries (issue 9).
-- Access keys bound to sites, a per-login-result event budget, cancelled events and deletion tombstones.

-- Which sites an access key may act on: an explicit all-sites grant, or a non-empty list of site API keys.
-- Keys made before this migration keep the access they had, which was every site.
ALTER TABLE api_keys ADD COLUMN all_sites boolean NOT NULL DEFAULT false;
ALTER TABLE api_keys ADD COLUMN sites text[] NOT NULL DEFAULT '{}';
UPDATE api_keys SET all_sites = true;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_sites_grant CHECK (all_sites <> (cardinality(sites) > 0));

-- A delete cancels the user's unfinished events: they end as 'cancelled' and are never claimed again.
ALTER TABLE login_events DROP CONSTRAINT login_events_status_check;
ALTER TABLE login_events ADD CONSTRAINT login_events_status_check
    CHECK (status IN ('pending', 'processing', 'stored', 'failed', 'cancelled'));
CREATE INDEX login_events_user_idx ON login_events (site, uid) WHERE status IN ('pending', 'processing');

-- How many events one signed login result made, whatever providers were posted with it (`provider` is not signed).
-- Keyed by a digest of site, UID, timestamp and signature; purged with the replay keys when the window closes.
CREATE TABLE login_result_budget (
    key        bytea       PRIMARY KEY CHECK (octet_length(key) = 32),
    events     integer     NOT NULL CHECK (events >= 0),
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_result_budget_expires_idx ON login_result_budget (expires_at);

-- A delete leaves a tombstone: no session fetched (event created, refresh started) before `deleted_at` is written after
-- it. `provider` is '*' when every provider of the user was deleted ('*' is not a valid provider name).
CREATE TABLE session_tombstones (
    site       text        NOT NULL,
    uid        text        NOT NULL,
    provider   text        NOT NULL,
    deleted_at timestamptz NOT NULL,
    PRIMARY KEY (site, uid, provider)
);

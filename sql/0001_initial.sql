-- session-vault schema, version 1.
-- Migrations are forward-only and applied by `session-vault migrate` (VaultStore's Migrator), each file in one transaction.
-- Keep files simple: the migrator splits statements on `;` outside quotes, dollar-quoted bodies and comments,
-- and sends them one by one (PostgresNIO rejects several statements in one query). No BEGIN/COMMIT here.

-- The inbox: one row per accepted login callback; workers lease rows from it.
CREATE TABLE login_events (
    id                  uuid        PRIMARY KEY,
    site                text        NOT NULL,
    uid                 text        NOT NULL,
    provider            text        NOT NULL,
    signature_timestamp bigint      NOT NULL,
    status              text        NOT NULL DEFAULT 'pending'
                                    CHECK (status IN ('pending', 'processing', 'stored', 'failed')),
    attempts            integer     NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    lease_owner         text        NULL,
    lease_expires_at    timestamptz NULL,
    last_error_code     integer     NULL,
    last_error_message  text        NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz NULL,
    CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- Claiming looks for due pending rows and for processing rows whose lease ran out (a crashed worker).
CREATE INDEX login_events_due_idx ON login_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX login_events_lease_idx ON login_events (lease_expires_at) WHERE status = 'processing';

-- Replay protection: the same signed login result is accepted once while its signature window lasts.
CREATE TABLE replay_keys (
    key        bytea       PRIMARY KEY CHECK (octet_length(key) = 32),
    event_id   uuid        NOT NULL REFERENCES login_events (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX replay_keys_expires_idx ON replay_keys (expires_at);

-- Provider tokens, each sealed with AES-256-GCM under key_id; no plaintext token column exists.
CREATE TABLE provider_sessions (
    site               text        NOT NULL,
    uid                text        NOT NULL,
    provider           text        NOT NULL,
    provider_uid       text        NULL,
    key_id             text        NOT NULL,
    auth_token         bytea       NULL,
    token_secret       bytea       NULL,
    session_handle     bytea       NULL,
    token_expiration   text        NULL,
    session_expiration text        NULL,
    fetched_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    event_id           uuid        NULL REFERENCES login_events (id) ON DELETE SET NULL,
    PRIMARY KEY (site, uid, provider)
);
CREATE INDEX provider_sessions_key_id_idx ON provider_sessions (key_id);

-- API keys for backends: only the SHA-256 of the full key is kept.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL UNIQUE,
    prefix       text        NOT NULL,
    key_hash     bytea       NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    scopes       text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz NULL,
    last_used_at timestamptz NULL
);

-- Every token read and delete: who, what, when.
CREATE TABLE audit_log (
    id           bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_key_id uuid        NULL,
    actor_name   text        NOT NULL,
    action       text        NOT NULL,
    site         text        NOT NULL,
    uid          text        NULL,
    provider     text        NULL,
    detail       text        NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- session-vault schema, version 5: reconciliation runs and their findings, and admin-page sessions.

-- One run of `admin reconcile` (or of the admin page's button): what it was asked to do, how far it got, what it found.
-- `checkpoint` is the last item written, so an interrupted run resumes after it.
CREATE TABLE reconciliation_runs (
    id             uuid        PRIMARY KEY,
    site           text        NOT NULL,
    mode           text        NOT NULL CHECK (mode IN ('dry_run', 'repair')),
    purge_orphans  boolean     NOT NULL DEFAULT false,
    status         text        NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    started_by     text        NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz NULL,
    checked        integer     NOT NULL DEFAULT 0,
    total          integer     NOT NULL DEFAULT 0,
    checkpoint     text        NULL,
    error          text        NULL
);
CREATE INDEX reconciliation_runs_site_idx ON reconciliation_runs (site, started_at DESC);

-- One finding per link or user: its category, what Gigya holds, and what a repair did about it.
CREATE TABLE reconciliation_items (
    run_id     uuid    NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
    item_key   text    NOT NULL,
    category   text    NOT NULL CHECK (category IN ('ok', 'pending', 'failed', 'drift', 'orphan', 'conflict', 'unlinked')),
    uid        text    NOT NULL,
    site_uid   text    NULL,
    gigya_uid  text    NULL,
    gigya_code integer NULL,
    detail     text    NOT NULL,
    action     text    NULL,
    PRIMARY KEY (run_id, item_key)
);
CREATE INDEX reconciliation_items_category_idx ON reconciliation_items (run_id, category, item_key);

-- Admin-page sign-ins: only a SHA-256 of the session cookie is kept, with the CSRF token its forms carry.
CREATE TABLE admin_sessions (
    token_hash   bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    csrf_token   text        NOT NULL,
    key_id       uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key_name     text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expires_idx ON admin_sessions (expires_at);

-- session-vault schema, version 4: account links (setUID / notifyRegistration) and Gigya's account events (webhooks).

-- One row per link asked for: the Gigya UID, the site's own id for it, and the work of telling Gigya. Links are sent by
-- workers like login events: leased (next_attempt_at is the lease end while processing), retried, attempt-limited.
CREATE TABLE account_links (
    id                 uuid        PRIMARY KEY,
    site               text        NOT NULL,
    uid                text        NOT NULL,
    site_uid           text        NOT NULL,
    via                text        NOT NULL CHECK (via IN ('notifyRegistration', 'setUID')),
    status             text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'linked', 'failed')),
    attempts           integer     NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    lease_owner        text        NULL,
    lease_expires_at   timestamptz NULL,
    last_error_code    integer     NULL,
    last_error_message text        NULL,
    requested_by       text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    linked_at          timestamptz NULL,
    CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK (uid <> site_uid)
);
-- A site UID names one person, and a Gigya UID gets one site UID.
CREATE UNIQUE INDEX account_links_site_uid_idx ON account_links (site, site_uid);
CREATE UNIQUE INDEX account_links_uid_idx ON account_links (site, uid);
CREATE INDEX account_links_claim_idx ON account_links (next_attempt_at) WHERE status IN ('pending', 'processing');
CREATE INDEX account_links_status_idx ON account_links (status, created_at, id);

-- Gigya's account events, one row per event id per site (Gigya delivers at least once: the id de-duplicates).
-- `seq` is the arrival order; events of one UID are processed in it.
CREATE TABLE account_events (
    seq                bigserial   PRIMARY KEY,
    site               text        NOT NULL,
    event_id           text        NOT NULL,
    type               text        NOT NULL,
    uid                text        NOT NULL,
    new_uid            text        NULL,
    event_timestamp    bigint      NOT NULL,
    status             text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'processing', 'processed', 'ignored', 'failed')),
    attempts           integer     NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    lease_owner        text        NULL,
    lease_expires_at   timestamptz NULL,
    outcome            text        NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    processed_at       timestamptz NULL,
    CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
CREATE UNIQUE INDEX account_events_id_idx ON account_events (site, event_id);
CREATE INDEX account_events_claim_idx ON account_events (next_attempt_at) WHERE status IN ('pending', 'processing');
CREATE INDEX account_events_open_uid_idx ON account_events (site, uid, seq) WHERE status IN ('pending', 'processing');
CREATE INDEX account_events_open_new_uid_idx ON account_events (site, new_uid, seq) WHERE status IN ('pending', 'processing');
CREATE INDEX account_events_finished_idx ON account_events (processed_at) WHERE status IN ('processed', 'ignored', 'failed');

-- Audit entries are looked up by user on the admin page and by action in reports.
CREATE INDEX audit_log_user_idx ON audit_log (site, uid, at);

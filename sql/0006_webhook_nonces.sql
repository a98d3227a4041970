-- session-vault schema, version 6: each webhook notification's nonce is accepted once per site, for one body.

-- The nonce of an accepted notification (the `jti` of its JWT, docs/gigya-protocol.md §12) and the SHA-256 of the body
-- it came with. The same nonce with the same body is a re-delivery (stored again as duplicates); with another body it is
-- a replayed JWT under forged events, refused. Rows outlive the accepted age of a notification, then the janitor drops them.
CREATE TABLE webhook_nonces (
    site         text        NOT NULL,
    nonce        text        NOT NULL,
    body_digest  bytea       NOT NULL CHECK (octet_length(body_digest) = 32),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (site, nonce)
);
CREATE INDEX webhook_nonces_expires_idx ON webhook_nonces (expires_at);

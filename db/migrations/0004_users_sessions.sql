-- 0004_users_sessions.sql — people who sign in through OIDC, what tenants they may see, their
-- sessions and the logins in flight.
--
-- Why keyed by (issuer, subject): the OIDC spec makes `sub` unique and stable only within one
-- issuer, and an e-mail address can change owner or be unverified, so it never identifies a
-- user. Memberships carry the same (issuer, subject) pair rather than users.id so an operator
-- can grant access (`analytics-admin member add`) before the person's first login.

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    issuer         text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 512),
    subject        text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    name           text,
    email          text, -- informational only, never used to identify or authorize
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);

CREATE TABLE memberships (
    issuer      text NOT NULL,
    subject     text NOT NULL,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('viewer', 'admin')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject, tenant_id)
);

-- Server-side sessions: the cookie carries a random id (HMAC-signed); only its SHA-256 is stored,
-- so a read of this table does not yield usable cookies. Logout deletes the row, which is what
-- makes a copied cookie stop working before it expires.
CREATE TABLE sessions (
    id_hash     bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Logins between /auth/login and /auth/callback. The row is deleted by the callback that
-- uses it (DELETE ... RETURNING), so a replayed callback finds nothing: single use across every
-- graphql-api process sharing the database. state is stored hashed for the same reason as
-- session ids; nonce and the PKCE verifier are needed in clear to check the ID token / redeem
-- the code and live at most a few minutes.
CREATE TABLE oidc_logins (
    state_hash     bytea PRIMARY KEY CHECK (length(state_hash) = 32),
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    return_to      text NOT NULL,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expires_at ON oidc_logins (expires_at);

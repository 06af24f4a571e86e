-- SCIM 2.0 provisioning (RFC 7643/7644): the identity providers allowed to push, the users and
-- groups they pushed, group memberships and the per-connection request log.
-- Keep in step with migrations/sqlite/0003_scim.sql. Differences: documents are JSONB; the
-- text keys that filters order by use the "C" collation, so `gt`/`lt` and sorting compare
-- code points as SCIM's in-memory evaluation does; and `scim_timestamp` below.

-- One row per identity provider. Tokens are random, so a SHA-256 of them is stored, never the
-- token itself.
CREATE TABLE scim_connections (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Users and groups as their JSON document (wire form minus id, meta and group members), with
-- the keys filters and sorting use most as columns. `name` is userName (users) or displayName
-- (groups); `name_lower` is its lower-case form, computed by the store. Instants are epoch µs.
CREATE TABLE scim_resources (
    connection TEXT NOT NULL REFERENCES scim_connections (name),
    resource_type TEXT NOT NULL,
    id TEXT COLLATE "C" PRIMARY KEY,
    external_id TEXT COLLATE "C",
    name TEXT NOT NULL,
    name_lower TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    doc JSONB NOT NULL
);
-- userName is unique case-insensitively per connection (RFC 7643 §4.1.1). displayName of
-- groups is not unique (the RFC does not ask for it), but `displayName eq` must still be
-- an index lookup. Queries spell the resource type as a literal so these partial indexes apply.
CREATE UNIQUE INDEX scim_user_name ON scim_resources (connection, name_lower)
    WHERE resource_type = 'User';
CREATE INDEX scim_group_name ON scim_resources (connection, name_lower)
    WHERE resource_type = 'Group';
CREATE INDEX scim_resources_external_id ON scim_resources (connection, resource_type, external_id);
-- The default page order; covering, so skipping to a far page reads only the index.
CREATE INDEX scim_resources_created ON scim_resources (connection, resource_type, created, id);

-- Direct members of a group (users or groups). Deleting either side removes the membership.
CREATE TABLE scim_members (
    connection TEXT NOT NULL,
    group_id TEXT COLLATE "C" NOT NULL REFERENCES scim_resources (id) ON DELETE CASCADE,
    member_id TEXT COLLATE "C" NOT NULL REFERENCES scim_resources (id) ON DELETE CASCADE,
    member_type TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX scim_members_member ON scim_members (member_id);

-- The newest requests of each connection, redacted before they are stored.
CREATE TABLE scim_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection TEXT NOT NULL,
    at BIGINT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    request_body TEXT,
    response_body TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX scim_log_connection ON scim_log (connection, id);

-- A dateTime attribute's text as an instant, or NULL when it is not an RFC 3339 date-time with
-- an offset: filters compare such values as instants and everything else as text, and a cast
-- that fails would abort the whole query.
CREATE FUNCTION scim_timestamp(t text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    IF t !~ '^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$' THEN
        RETURN NULL;
    END IF;
    RETURN t::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;

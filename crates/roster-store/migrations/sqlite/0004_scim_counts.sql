-- How many users and groups each SCIM connection has, and a generation that moves on every
-- create and delete: list pages report their total without counting, and the store's cache
-- of page anchors (every 500th row in the default order) knows when it is stale.
-- Keep in step with migrations/postgres/0004_scim_counts.sql.
CREATE TABLE scim_counts (
    connection TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    n BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    PRIMARY KEY (connection, resource_type)
);
INSERT INTO scim_counts (connection, resource_type, n, generation)
    SELECT connection, resource_type, COUNT(*), 1 FROM scim_resources
    GROUP BY connection, resource_type;

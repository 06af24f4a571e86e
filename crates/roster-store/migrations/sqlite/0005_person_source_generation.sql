-- A generation per people source that every import moves on: an import works out its changes
-- on a snapshot read without the write lock, then checks under the lock that no other import
-- of the source committed meanwhile (else it works them out again).
-- Keep in step with migrations/postgres/0005_person_source_generation.sql.
ALTER TABLE person_source ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- Tasks of manual targets: apps with no API, where a person carries out each step.
-- Keep in step with migrations/postgres/0002_manual_tasks.sql.
CREATE TABLE manual_task (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system TEXT NOT NULL,
    action_json TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    done_us INTEGER,
    done_by TEXT,
    note TEXT
);
-- One open task per action: a retried or resumed apply finds the task it opened before.
CREATE UNIQUE INDEX manual_task_open ON manual_task (system, action_json) WHERE state = 'open';
CREATE INDEX manual_task_system ON manual_task (system, state);

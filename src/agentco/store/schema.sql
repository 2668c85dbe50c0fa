-- Schema version 2 of <workspace>/.agentco/runs.db. Applied inside one transaction by sqlite.py,
-- which also sets PRAGMA user_version; every statement is idempotent so two processes may race here.

CREATE TABLE IF NOT EXISTS runs (
    id                TEXT PRIMARY KEY,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'completed', 'failed', 'interrupted', 'budget_exceeded')),
    stage             TEXT NOT NULL DEFAULT '',
    idea              TEXT NOT NULL,
    project_path      TEXT NOT NULL,
    options_json      TEXT NOT NULL DEFAULT '{}',
    llm_calls         INTEGER NOT NULL DEFAULT 0,
    replayed_calls    INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL NOT NULL DEFAULT 0,
    wall_s            REAL NOT NULL DEFAULT 0,
    error             TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_project ON runs (project_path, created_at);

CREATE TABLE IF NOT EXISTS messages (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    id           TEXT NOT NULL,
    sent_from    TEXT NOT NULL,
    cause_by     TEXT NOT NULL,
    send_to_json TEXT NOT NULL,
    content      TEXT NOT NULL,
    payload_json TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE IF NOT EXISTS calls (
    run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key               TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    request_json      TEXT NOT NULL,
    response_text     TEXT NOT NULL,
    response_model    TEXT NOT NULL DEFAULT '',
    finish_reason     TEXT,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX IF NOT EXISTS calls_by_seq ON calls (run_id, seq);

CREATE TABLE IF NOT EXISTS artifacts (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    path       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    stage      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE IF NOT EXISTS steps (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'done',
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS steps_by_seq ON steps (run_id, seq);

-- Version 2: the run's event stream (events.py), in the order everyone saw it.
CREATE TABLE IF NOT EXISTS events (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    data_json  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

// The state store's schema: every forward migration, oldest first. Version N
// turns a version N-1 schema into version N, and all pending ones run in one
// transaction when a read-write store opens (sqlite_db.cc). Never edit a
// released entry: append a new one, and describe it in docs/state-store.md.
#include "store/sqlite_db.h"

namespace fm::store::internal {
namespace {

// Instants are INTEGER epoch milliseconds (NULL when optional and absent);
// statuses are the names from state_store.h so the file reads well in the
// sqlite3 CLI. docs/state-store.md describes every table.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE migration (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  fingerprint TEXT NOT NULL DEFAULT '',
  start INTEGER,
  watermark INTEGER,
  last_success_at INTEGER,
  halted INTEGER NOT NULL DEFAULT 0,
  halt_reason TEXT NOT NULL DEFAULT '',
  conformance_copied INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE windows (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  since INTEGER NOT NULL,
  till INTEGER NOT NULL,
  resource_type TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  export_url TEXT NOT NULL DEFAULT '',
  manifest_json TEXT NOT NULL DEFAULT '',
  transaction_time INTEGER,
  resources_extracted INTEGER NOT NULL DEFAULT 0,
  resources_loaded INTEGER NOT NULL DEFAULT 0,
  resources_failed INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  not_before INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE INDEX windows_since ON windows (since, resource_type);
CREATE TABLE window_counts (
  window_id INTEGER NOT NULL REFERENCES windows (id),
  resource_type TEXT NOT NULL,
  extracted INTEGER NOT NULL DEFAULT 0,
  loaded INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (window_id, resource_type)
) WITHOUT ROWID;
CREATE TABLE files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  window_id INTEGER NOT NULL REFERENCES windows (id),
  resource_type TEXT NOT NULL DEFAULT '',
  url TEXT NOT NULL DEFAULT '',
  staged_path TEXT NOT NULL DEFAULT '',
  expected_count INTEGER NOT NULL DEFAULT -1,
  bytes INTEGER NOT NULL DEFAULT 0,
  lines INTEGER NOT NULL DEFAULT 0,
  lines_loaded INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'output'
);
CREATE INDEX files_window ON files (window_id);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  window_id INTEGER NOT NULL,
  server TEXT NOT NULL DEFAULT '',
  status_url TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  request_fingerprint TEXT NOT NULL DEFAULT '',
  result_json TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_window ON jobs (window_id);
CREATE TABLE failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  window_id INTEGER NOT NULL,
  stage TEXT NOT NULL DEFAULT '',
  resource_type TEXT NOT NULL DEFAULT '',
  resource_id TEXT NOT NULL DEFAULT '',
  http_status INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  outcome_json TEXT NOT NULL DEFAULT '',
  body_location TEXT NOT NULL DEFAULT '',
  resolved INTEGER NOT NULL DEFAULT 0,
  at INTEGER NOT NULL
);
CREATE INDEX failures_window ON failures (window_id);
CREATE INDEX failures_resolved ON failures (resolved);
CREATE TABLE deletions (
  window_id INTEGER NOT NULL REFERENCES windows (id),
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  applied INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (window_id, resource_type, resource_id)
) WITHOUT ROWID;
CREATE TABLE checks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  at INTEGER NOT NULL,
  passed INTEGER NOT NULL,
  summary_json TEXT NOT NULL DEFAULT ''
);
CREATE INDEX checks_kind_at ON checks (kind, at);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql"},
    // Version 2: the engine asks for the windows not yet loaded and for the
    // newest window of each type on every plan and every loaded window; both
    // were scans of every window (one more per poll in follow mode).
    {2, R"sql(
CREATE INDEX windows_status ON windows (status);
CREATE INDEX windows_type_since ON windows (resource_type, since, till, id);
)sql"},
    // Version 3: what progress reports need. `started_at` is when the
    // window's last attempt began (status computes recent throughput from the
    // time windows were in flight); `expected` is the source's count of the
    // window's resources when it was planned (-1: not counted).
    {3, R"sql(
ALTER TABLE windows ADD COLUMN started_at INTEGER;
ALTER TABLE windows ADD COLUMN expected INTEGER NOT NULL DEFAULT -1;
)sql"},
    // Version 4: refused resources can be sent again (`failures retry`,
    // `verify --full --fix`). Every attempt to deliver a quarantined resource
    // is kept, the refusal that put it there first: a failure resolved by a
    // later attempt keeps its history. Existing failures get their first
    // attempt from their own row.
    {4, R"sql(
ALTER TABLE failures ADD COLUMN resolved_at INTEGER;
CREATE TABLE failure_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  failure_id INTEGER NOT NULL REFERENCES failures (id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  http_status INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX failure_attempts_failure ON failure_attempts (failure_id, id);
INSERT INTO failure_attempts (failure_id, at, outcome, http_status, reason)
  SELECT id, at, 'failed', http_status, reason FROM failures;
UPDATE failures SET resolved_at = at WHERE resolved = 1;
)sql"},
};

}  // namespace

std::span<const Migration> SchemaMigrations() { return kMigrations; }

}  // namespace fm::store::internal

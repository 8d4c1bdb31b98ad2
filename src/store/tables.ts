/**
 * The store's tables as Kysely sees them. Both dialects hold the same columns: times as ISO-8601
 * text (sortable as text, the same in SQLite and PostgreSQL), flags as 0/1 integers, lists and
 * maps as JSON text, so no value changes type between the two.
 */
export interface Tables {
  podgraph_schema: { version: number };
  executions: ExecutionRow;
  activity: ActivityRow;
  recordings: RecordingRow;
  recording_events: RecordingEventRow;
  lab_templates: LabTemplateRow;
  labs: LabRow;
  lab_students: LabStudentRow;
  lab_tokens: LabTokenRow;
}

/** Which container a record is about and who acted, in every table that records both. */
interface SubjectColumns {
  container_id: string;
  container_name: string;
  /** The container's labels when the record was written (JSON), so a scope can be checked after it is gone. */
  container_labels: string | null;
  token_id: string;
  role: string;
}

export interface ExecutionRow extends SubjectColumns {
  id: string;
  exec_user: string | null;
  workdir: string | null;
  /** JSON list. */
  argv: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  exit_code: number | null;
  success: number;
  timed_out: number;
  cancelled: number;
  truncated: number;
  stdout: string;
  stderr: string;
  output: string;
}

export interface ActivityRow {
  id: string;
  at: string;
  kind: string;
  token_id: string;
  role: string;
  container_id: string | null;
  container_name: string | null;
  container_labels: string | null;
  /** `ok`, or the error code the action ended with. */
  outcome: string;
  /** JSON object: what the action was about (an execution id, a path, a user name…), never secrets. */
  detail: string;
}

/** `token_id`: who opened the terminal. */
export interface RecordingRow extends SubjectColumns {
  /** The terminal's id. */
  id: string;
  exec_user: string | null;
  /** JSON list; null for the user's login shell. */
  argv: string | null;
  cols: number;
  rows: number;
  started_at: string;
  ended_at: string | null;
  exit_code: number | null;
}

export interface RecordingEventRow {
  recording_id: string;
  /** 1, 2, … in the order things happened. */
  seq: number;
  /** Milliseconds since the terminal opened. */
  offset_ms: number;
  /** `o` output, `i` input, `r` resize (asciicast's codes). */
  kind: string;
  /** The text, or `COLSxROWS` for a resize. */
  data: string;
  /** Who typed it, for input. */
  token_id: string | null;
}

export interface LabTemplateRow {
  name: string;
  /** JSON: the template as validated. */
  spec: string;
  saved_at: string;
  saved_by: string;
}

/** `token_id` and `role`: who created the lab; provisioning resumed after a restart acts as them. */
export interface LabRow {
  name: string;
  /** JSON: the template the lab was created from, as it was then. */
  template: string;
  state: string;
  created_at: string;
  expires_at: string;
  token_id: string;
  role: string;
}

export interface LabStudentRow {
  lab: string;
  id: string;
  display_name: string;
  /** The account password's crypt(3) hash, as /etc/shadow holds it: the password itself is never kept. */
  password_hash: string;
  state: string;
  /** Why provisioning failed. */
  reason: string | null;
  added_at: string;
}

export interface LabTokenRow {
  id: string;
  lab: string;
  student: string;
  /** The token's SHA-256 in hex: the token itself is never kept. */
  sha256: string;
  created_at: string;
  revoked_at: string | null;
}

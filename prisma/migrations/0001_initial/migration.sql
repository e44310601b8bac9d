-- Initial schema of the coordinator (see prisma/schema.prisma for what each table means).

CREATE TABLE sites (
  id                text PRIMARY KEY,
  display_name      text NOT NULL,
  status            text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
  csr_pem           text,
  capabilities      jsonb NOT NULL DEFAULT '{}',
  agent_state       text,
  last_heartbeat_at timestamptz(3),
  created_at        timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE certificates (
  serial     text PRIMARY KEY,
  site_id    text NOT NULL REFERENCES sites(id),
  pem        text NOT NULL,
  not_after  timestamptz(3) NOT NULL,
  revoked_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX certificates_site_id_idx ON certificates(site_id);

CREATE TABLE roster_classes (
  id          integer PRIMARY KEY CHECK (id >= 0),
  name        text NOT NULL UNIQUE,
  color       text NOT NULL CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
  description text NOT NULL DEFAULT '',
  step_added  integer NOT NULL,
  archived    boolean NOT NULL DEFAULT false,
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE steps (
  index              integer PRIMARY KEY CHECK (index >= 0),
  status             text NOT NULL CHECK (status IN ('open', 'training', 'evaluating', 'completed')),
  teacher_version_id text,
  config             jsonb NOT NULL DEFAULT '{}',
  created_at         timestamptz(3) NOT NULL DEFAULT now(),
  completed_at       timestamptz(3)
);

CREATE TABLE model_versions (
  id          text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('segmenter', 'generator')),
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
  parent_id   text REFERENCES model_versions(id),
  step_index  integer NOT NULL,
  round_id    text,
  storage_uri text NOT NULL,
  num_classes integer NOT NULL DEFAULT 0,
  config      jsonb NOT NULL DEFAULT '{}',
  note        text NOT NULL DEFAULT '',
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX model_versions_kind_created_at_idx ON model_versions(kind, created_at);

CREATE TABLE rounds (
  id                text PRIMARY KEY,
  step_index        integer NOT NULL REFERENCES steps(index),
  kind              text NOT NULL CHECK (kind IN ('segmenter', 'generator', 'evaluate')),
  index             integer NOT NULL,
  status            text NOT NULL CHECK (status IN ('collecting', 'aggregating', 'completed', 'failed')),
  reason            text,
  base_version_id   text REFERENCES model_versions(id),
  result_version_id text REFERENCES model_versions(id),
  quorum            integer NOT NULL CHECK (quorum >= 1),
  deadline_at       timestamptz(3) NOT NULL,
  config            jsonb NOT NULL DEFAULT '{}',
  -- The round state machine's state (coordinator/src/rounds/round-state.ts), persisted whole.
  state             jsonb NOT NULL DEFAULT '{}',
  opened_at         timestamptz(3) NOT NULL DEFAULT now(),
  closed_at         timestamptz(3),
  UNIQUE (step_index, kind, index)
);

CREATE TABLE site_updates (
  id               text PRIMARY KEY,
  round_id         text NOT NULL REFERENCES rounds(id),
  site_id          text NOT NULL REFERENCES sites(id),
  idempotency_key  text NOT NULL UNIQUE,
  status           text NOT NULL CHECK (status IN ('receiving', 'accepted', 'rejected')),
  rejection_reason text,
  sha256           text NOT NULL,
  total_bytes      bigint NOT NULL,
  received_bytes   bigint NOT NULL DEFAULT 0,
  storage_uri      text,
  real_images      integer NOT NULL DEFAULT 0,
  replay_images    integer NOT NULL DEFAULT 0,
  metrics          jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX site_updates_round_id_status_idx ON site_updates(round_id, status);
-- At most one counted update per site and round, whatever the idempotency keys.
CREATE UNIQUE INDEX site_updates_one_accepted_idx ON site_updates(round_id, site_id) WHERE status = 'accepted';

CREATE TABLE evaluations (
  id                   text PRIMARY KEY,
  model_version_id     text NOT NULL REFERENCES model_versions(id),
  site_id              text NOT NULL REFERENCES sites(id),
  step_index           integer NOT NULL,
  split                text NOT NULL,
  images               integer NOT NULL CHECK (images >= 0),
  evaluated_site_model text NOT NULL DEFAULT '',
  created_at           timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (model_version_id, site_id, split, evaluated_site_model)
);

CREATE TABLE evaluation_classes (
  evaluation_id  text NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  class_id       integer NOT NULL,
  true_positive  bigint NOT NULL CHECK (true_positive >= 0),
  false_positive bigint NOT NULL CHECK (false_positive >= 0),
  false_negative bigint NOT NULL CHECK (false_negative >= 0),
  PRIMARY KEY (evaluation_id, class_id)
);

CREATE TABLE admin_users (
  id            text PRIMARY KEY,
  username      text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'viewer')),
  created_at    timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE admin_sessions (
  token_hash text PRIMARY KEY,
  user_id    text NOT NULL REFERENCES admin_users(id) ON DELETE CASCADE,
  expires_at timestamptz(3) NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz(3) NOT NULL DEFAULT now(),
  actor   text NOT NULL,
  action  text NOT NULL,
  target  text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log(at);

CREATE TABLE server_state (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

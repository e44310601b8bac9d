-- Invitations: a hospital may enrol only with the one-time token of an invitation an operator made.
-- Only the token's SHA-256 is stored; used_at and site_id record the enrolment that consumed it.
CREATE TABLE invitations (
  id         text PRIMARY KEY,
  site_name  text NOT NULL,
  token_hash text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL,
  used_at    timestamptz(3),
  site_id    text UNIQUE
);

-- A console user can be disabled (the console's Users page): no sign-in, every session ended.
ALTER TABLE admin_users ADD COLUMN disabled_at timestamptz(3);

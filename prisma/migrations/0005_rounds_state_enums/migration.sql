-- States as database enums (issue 20): a value outside the set cannot be stored at all, and the
-- generated Prisma client types each column as the union of its values. Replaces the CHECK (... IN ...)
-- constraints of 0001 on the same columns; the values are unchanged, so existing rows convert as they are.

CREATE TYPE site_status AS ENUM ('pending', 'approved', 'rejected', 'revoked');
CREATE TYPE step_status AS ENUM ('open', 'training', 'evaluating', 'completed');
CREATE TYPE model_kind AS ENUM ('segmenter', 'generator');
CREATE TYPE round_kind AS ENUM ('segmenter', 'generator', 'evaluate');
CREATE TYPE round_status AS ENUM ('collecting', 'aggregating', 'completed', 'failed');
CREATE TYPE update_status AS ENUM ('receiving', 'accepted', 'rejected');
CREATE TYPE admin_role AS ENUM ('admin', 'viewer');

ALTER TABLE sites DROP CONSTRAINT sites_status_check;
ALTER TABLE sites ALTER COLUMN status TYPE site_status USING status::site_status;

ALTER TABLE steps DROP CONSTRAINT steps_status_check;
ALTER TABLE steps ALTER COLUMN status TYPE step_status USING status::step_status;

ALTER TABLE model_versions DROP CONSTRAINT model_versions_kind_check;
ALTER TABLE model_versions ALTER COLUMN kind TYPE model_kind USING kind::model_kind;

ALTER TABLE rounds DROP CONSTRAINT rounds_kind_check;
ALTER TABLE rounds DROP CONSTRAINT rounds_status_check;
ALTER TABLE rounds ALTER COLUMN kind TYPE round_kind USING kind::round_kind;
ALTER TABLE rounds ALTER COLUMN status TYPE round_status USING status::round_status;

-- The partial index compares status with a text literal: rebuilt for the enum.
DROP INDEX site_updates_one_accepted_idx;
ALTER TABLE site_updates DROP CONSTRAINT site_updates_status_check;
ALTER TABLE site_updates ALTER COLUMN status TYPE update_status USING status::update_status;
CREATE UNIQUE INDEX site_updates_one_accepted_idx ON site_updates(round_id, site_id) WHERE status = 'accepted';

ALTER TABLE admin_users DROP CONSTRAINT admin_users_role_check;
ALTER TABLE admin_users ALTER COLUMN role TYPE admin_role USING role::admin_role;

-- A privacy charge is for a training round of one model kind (it had no check before).
ALTER TABLE privacy_spend ALTER COLUMN kind TYPE model_kind USING kind::model_kind;

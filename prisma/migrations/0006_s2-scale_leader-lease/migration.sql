-- Leader lease (branch s2-scale, issue 22): coordinators sharing one database elect the one that
-- runs the federation. The holder renews expires_at; another takes the row once it has expired.
CREATE TABLE leader_lease (
  name        text NOT NULL PRIMARY KEY,
  holder      text NOT NULL,
  expires_at  timestamptz(3) NOT NULL,
  acquired_at timestamptz(3) NOT NULL DEFAULT now()
);

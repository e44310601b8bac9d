-- Differential-privacy spend per site and training round (branch privacy, issue 23).
CREATE TABLE privacy_spend (
  round_id         text NOT NULL,
  site_id          text NOT NULL,
  kind             text NOT NULL,
  noise_multiplier double precision NOT NULL,
  sampling_rate    double precision NOT NULL,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (round_id, site_id)
);
CREATE INDEX privacy_spend_site_id_kind_idx ON privacy_spend (site_id, kind);

-- Secure aggregation: what sites send in the key stages and the unmasking (public keys, Shamir
-- share bundles encrypted for their holders, revealed shares). Never an update.
CREATE TABLE secagg_messages (
  round_id   text NOT NULL,
  site_id    text NOT NULL,
  kind       text NOT NULL,
  payload    jsonb NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (round_id, site_id, kind)
);

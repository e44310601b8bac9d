-- Enrolment bounds (issue 19): the address a pending request came from (pending requests are capped
-- per address and in total) and the SHA-256 fingerprint of the site's public key (a revoked key
-- cannot enrol again under another name).

ALTER TABLE sites ADD COLUMN enrolled_from text;
ALTER TABLE sites ADD COLUMN key_fingerprint text;
CREATE INDEX sites_status_enrolled_from_idx ON sites(status, enrolled_from);
CREATE INDEX sites_key_fingerprint_idx ON sites(key_fingerprint);

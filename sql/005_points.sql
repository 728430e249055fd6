-- 005_points: points top-ups ("charges"), one row per Idempotency-Key a user sent, so a replay
-- can never charge twice even when Redis has forgotten the key. users.points is the balance.
-- Keys compare byte for byte (ascii_bin): "abc" and "ABC" are different keys, as in Redis.
-- request_hash is the request's fingerprint, its canonical form ("chargeAmount=50000"): short
-- enough to keep verbatim, so it is compared exactly instead of through a digest.
-- response is the JSON body the first request answered (status 200), replayed byte for byte.

CREATE TABLE IF NOT EXISTS point_charges (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id         BIGINT UNSIGNED NOT NULL,
  idempotency_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_hash    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  amount          BIGINT NOT NULL,
  balance_after   BIGINT NOT NULL,
  response        TEXT NOT NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_point_charges_key (user_id, idempotency_key),
  KEY ix_point_charges_history (user_id, id),
  CONSTRAINT fk_point_charges_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT ck_point_charges_amount CHECK (amount > 0 AND amount <= 1000000000000000),
  CONSTRAINT ck_point_charges_balance CHECK (balance_after >= 0 AND balance_after <= 1000000000000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

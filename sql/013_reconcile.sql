-- 013_reconcile: reconciliation runs against a PG's settlement file, their findings, and the
-- fencing guard that keeps a stale run from writing (lib/shop/reconcile.c).
-- A run takes a Redis lock and a fencing token (Redis INCR); it raises recon_guard's token to
-- its own (a guarded UPDATE that only moves forward) and every write of the run re-reads the
-- guard row in its transaction (FOR SHARE) and rolls back when a newer token is there, so a
-- run whose lock expired under it (a pause, a partition) can no longer change anything.
-- Money is BIGINT won; a finding's amounts are -1 when that side has no such payment.

CREATE TABLE IF NOT EXISTS recon_guard (
  id             TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  fencing_token  BIGINT NOT NULL DEFAULT 0,
  run_id         BIGINT UNSIGNED NULL,
  updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  CONSTRAINT ck_recon_guard_one CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO recon_guard (id, fencing_token) VALUES (1, 0);

CREATE TABLE IF NOT EXISTS recon_runs (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  pg                 ENUM('toss','kakaopay') NOT NULL,
  source             VARCHAR(255) NOT NULL,
  period             CHAR(10) CHARACTER SET ascii NULL,
  status             ENUM('running','done','failed') NOT NULL DEFAULT 'running',
  dry_run            TINYINT(1) NOT NULL,
  fencing_token      BIGINT NOT NULL,
  rows_read          BIGINT NOT NULL DEFAULT 0,
  n_match            BIGINT NOT NULL DEFAULT 0,
  n_amount_mismatch  BIGINT NOT NULL DEFAULT 0,
  n_missing_here     BIGINT NOT NULL DEFAULT 0,
  n_missing_pg       BIGINT NOT NULL DEFAULT 0,
  n_duplicate        BIGINT NOT NULL DEFAULT 0,
  repaired           BIGINT NOT NULL DEFAULT 0,
  note               VARCHAR(255) NULL,
  started_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  finished_at        DATETIME(3) NULL,
  UNIQUE KEY uq_recon_runs_token (fencing_token),
  KEY ix_recon_runs_status (status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per payment of the file (its rows aggregated), per extra row of a duplicate, and per
-- PAID payment of ours the file lacks; seq is the file order (our missing ones last).
CREATE TABLE IF NOT EXISTS recon_findings (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id      BIGINT UNSIGNED NOT NULL,
  seq         INT NOT NULL,
  cls         ENUM('match','amount_mismatch','missing_here','missing_pg','duplicate') NOT NULL,
  pg_key      VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NULL,
  order_id    CHAR(24) CHARACTER SET ascii COLLATE ascii_bin NULL,
  pg_amount   BIGINT NOT NULL,
  our_amount  BIGINT NOT NULL,
  action      VARCHAR(32) CHARACTER SET ascii NOT NULL,
  note        VARCHAR(255) NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_recon_findings_seq (run_id, seq),
  KEY ix_recon_findings_cls (run_id, cls),
  KEY ix_recon_findings_key (pg_key, action),
  CONSTRAINT fk_recon_findings_run FOREIGN KEY (run_id) REFERENCES recon_runs (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

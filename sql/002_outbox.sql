-- 002_outbox: jobs written in the same transaction as the state change that causes them.
-- A worker claims a row (claim_token, claimed_until), does the work and marks it done in the
-- transaction that applies the work's effect; the janitor re-pushes rows whose claim expired.

CREATE TABLE IF NOT EXISTS outbox (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind          VARCHAR(32) NOT NULL,
  payload       TEXT NOT NULL,
  status        ENUM('pending','claimed','done','dead') NOT NULL DEFAULT 'pending',
  attempts      INT NOT NULL DEFAULT 0,
  claim_token   CHAR(24) NULL,
  claimed_until DATETIME(3) NULL,
  available_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_error    VARCHAR(255) NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  done_at       DATETIME(3) NULL,
  KEY ix_outbox_pending (status, available_at),
  KEY ix_outbox_claimed (status, claimed_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The effect of the trivial "echo" job: one row per job, so "exactly once" is countable.
CREATE TABLE IF NOT EXISTS job_echo_effects (
  outbox_id  BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  message    VARCHAR(200) NOT NULL,
  worker_pid INT NOT NULL,
  done_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  CONSTRAINT fk_echo_outbox FOREIGN KEY (outbox_id) REFERENCES outbox (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

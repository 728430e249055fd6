-- 012_paychecks: the follow-up of payments whose outcome we do not know (lib/shop/paychecks.c).
-- One row per order that has been queued for a PG lookup (an UNKNOWN order, a stale
-- CONFIRMING one, or one a webhook named). checks counts the lookups that gave no answer;
-- next_at is when the janitor queues the next (payments.check_base_seconds, doubling);
-- needs_admin is set once checks reach payments.check_max, after which the janitor stops and
-- the order waits for a person. job_id is the last payment.check job queued, so an order
-- never has two of them pending at once. The order's own status stays the truth: a row of an
-- order that is PAID or FAILED now is history.

CREATE TABLE IF NOT EXISTS payment_checks (
  order_id     BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  checks       INT NOT NULL DEFAULT 0,
  next_at      DATETIME(3) NULL,
  last_result  VARCHAR(255) NULL,
  needs_admin  TINYINT(1) NOT NULL DEFAULT 0,
  job_id       BIGINT UNSIGNED NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY ix_payment_checks_due (needs_admin, next_at),
  CONSTRAINT fk_payment_checks_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT ck_payment_checks_checks CHECK (checks >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

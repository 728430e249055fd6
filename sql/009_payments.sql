-- 009_payments: one approved PG payment per order, as the PG reported it.
-- The confirm worker inserts the row in the transaction that marks the order PAID; the UNIQUE
-- key on order_id makes a replayed approval (a retried job, a second worker) a no-op.
-- approved_at is kept as the PG sent it (ISO 8601 with offset); amount is won.

CREATE TABLE IF NOT EXISTS payments (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id     BIGINT UNSIGNED NOT NULL,
  pg           ENUM('toss','kakaopay') NOT NULL,
  payment_key  VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  amount       BIGINT NOT NULL,
  status       ENUM('DONE','CANCELED','PARTIAL_CANCELED') NOT NULL DEFAULT 'DONE',
  approved_at  VARCHAR(40) NULL,
  method       VARCHAR(32) NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_payments_order (order_id),
  KEY ix_payments_key (payment_key),
  CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT ck_payments_amount CHECK (amount > 0 AND amount <= 1000000000000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 011_refunds: full and partial refunds of paid orders (lib/shop/refunds.c).
-- A refund is shown by public_id (24 random characters); id is internal. It is RESERVED when
-- it is inserted (status REQUESTED, with orders.refunded_amount and each line's
-- order_lines.canceled_quantity raised by guarded UPDATEs in the same transaction, so two
-- refunds that together pass what was paid can never both be inserted). The PG's yes makes it
-- DONE (done_at set); a definite no makes it FAILED (fail_code) and gives the reservation
-- back. Points refunds are DONE at once.
-- idem_key is the client's Idempotency-Key (or the refund form's hidden key), unique per
-- order: a replay finds the first refund. whole = 1 when the request asked for "everything
-- left" rather than naming lines; together with the lines it decides whether a replayed key
-- asks for the same refund. actor: "shopper", "admin:<id>" or "reconcile".

CREATE TABLE IF NOT EXISTS refunds (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id    CHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id     BIGINT UNSIGNED NOT NULL,
  amount       BIGINT NOT NULL,
  status       ENUM('REQUESTED','DONE','FAILED') NOT NULL DEFAULT 'REQUESTED',
  reason       VARCHAR(200) NULL,
  actor        VARCHAR(32) NOT NULL,
  idem_key     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  whole        TINYINT(1) NOT NULL DEFAULT 0,
  fail_code    VARCHAR(64) NULL,
  fail_message VARCHAR(512) NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  done_at      DATETIME(3) NULL,
  UNIQUE KEY uq_refunds_public (public_id),
  UNIQUE KEY uq_refunds_key (order_id, idem_key),
  KEY ix_refunds_order (order_id, id),
  KEY ix_refunds_status (status, created_at),
  CONSTRAINT fk_refunds_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT ck_refunds_amount CHECK (amount > 0 AND amount <= 1000000000000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What a refund cancels, line by line (none for an amount-only refund recorded by
-- reconciliation). amount = unit_price * quantity of the order line.
CREATE TABLE IF NOT EXISTS refund_lines (
  refund_id    BIGINT UNSIGNED NOT NULL,
  product_id   BIGINT UNSIGNED NOT NULL,
  quantity     INT NOT NULL,
  amount       BIGINT NOT NULL,
  PRIMARY KEY (refund_id, product_id),
  CONSTRAINT fk_refund_lines_refund FOREIGN KEY (refund_id) REFERENCES refunds (id),
  CONSTRAINT ck_refund_lines_quantity CHECK (quantity > 0),
  CONSTRAINT ck_refund_lines_amount CHECK (amount > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

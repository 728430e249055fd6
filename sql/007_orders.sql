-- 007_orders: orders, their lines and their status timeline.
-- An order is shown to everyone (URLs, the PG's orderId) by public_id, 24 random characters;
-- id is internal (foreign keys, cursor pagination). amount is the sum of the lines' amounts,
-- fixed at checkout from the database's prices. Every status change is a guarded UPDATE
-- (... WHERE id = ? AND status = ?) plus one order_events row in the same transaction.
-- checkout_key makes a double-submitted checkout (same form, same Idempotency-Key) create one
-- order: a second insert with the same (user_id, checkout_key) fails and the first is shown.

CREATE TABLE IF NOT EXISTS orders (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id        CHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id          BIGINT UNSIGNED NOT NULL,
  status           ENUM('PENDING','CONFIRMING','PAID','FAILED','UNKNOWN','EXPIRED','CANCELED',
                        'PARTIALLY_CANCELED') NOT NULL DEFAULT 'PENDING',
  pay_method       ENUM('points','toss','kakaopay') NOT NULL,
  amount           BIGINT NOT NULL,
  refunded_amount  BIGINT NOT NULL DEFAULT 0,
  order_name       VARCHAR(200) NOT NULL,
  item_count       INT NOT NULL,
  checkout_key     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  payment_key      VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NULL,
  pg_redirect_url  VARCHAR(1024) NULL,
  fail_code        VARCHAR(64) NULL,
  fail_message     VARCHAR(512) NULL,
  expires_at       DATETIME(3) NOT NULL,
  paid_at          DATETIME(3) NULL,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_orders_public (public_id),
  UNIQUE KEY uq_orders_checkout (user_id, checkout_key),
  KEY ix_orders_user (user_id, id),
  KEY ix_orders_expiry (status, expires_at),
  KEY ix_orders_status (status, updated_at),
  CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT ck_orders_amount CHECK (amount > 0 AND amount <= 1000000000000000),
  CONSTRAINT ck_orders_refunded CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Name and unit price are copied at checkout: the order shows what was bought at what price
-- even after the product changes.
CREATE TABLE IF NOT EXISTS order_lines (
  order_id     BIGINT UNSIGNED NOT NULL,
  product_id   BIGINT UNSIGNED NOT NULL,
  seller_id    BIGINT UNSIGNED NOT NULL,
  name         VARCHAR(200) NOT NULL,
  unit_price   BIGINT NOT NULL,
  quantity     INT NOT NULL,
  amount       BIGINT NOT NULL,
  canceled_quantity INT NOT NULL DEFAULT 0,
  PRIMARY KEY (order_id, product_id),
  KEY ix_order_lines_product (product_id),
  CONSTRAINT fk_order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_order_lines_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT ck_order_lines_quantity CHECK (quantity > 0),
  CONSTRAINT ck_order_lines_canceled CHECK (canceled_quantity >= 0 AND canceled_quantity <= quantity),
  CONSTRAINT ck_order_lines_amount CHECK (amount > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The timeline: one row per status change (from_status NULL for the creation).
CREATE TABLE IF NOT EXISTS order_events (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id     BIGINT UNSIGNED NOT NULL,
  from_status  VARCHAR(24) NULL,
  to_status    VARCHAR(24) NOT NULL,
  actor        VARCHAR(32) NOT NULL,
  note         VARCHAR(255) NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_order_events_order (order_id, id),
  CONSTRAINT fk_order_events_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

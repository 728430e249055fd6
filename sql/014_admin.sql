-- 014_admin: the admin console's records: the audit log of every admin action, and the
-- stock adjustments made by hand (each with its reason).
-- audit_log rows are written in the transaction of the action they record (lib/shop/audit.c), so
-- an action and its record commit or roll back together. Rows are never updated or deleted.
-- before_json / after_json hold the target as it was and as it became (NULL for a creation's
-- before or a deletion's after). Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS audit_log (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  actor_id    BIGINT UNSIGNED NOT NULL,
  action      VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  target      VARCHAR(128) NOT NULL,
  before_json LONGTEXT NULL,
  after_json  LONGTEXT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_audit_actor (actor_id, id),
  KEY ix_audit_action (action, id),
  KEY ix_audit_target (target, id),
  KEY ix_audit_created (created_at),
  CONSTRAINT fk_audit_actor FOREIGN KEY (actor_id) REFERENCES users (id),
  CONSTRAINT ck_audit_before CHECK (before_json IS NULL OR JSON_VALID(before_json)),
  CONSTRAINT ck_audit_after CHECK (after_json IS NULL OR JSON_VALID(after_json))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per manual stock change: who, by how much, from what to what, and why.
CREATE TABLE IF NOT EXISTS stock_adjustments (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  product_id  BIGINT UNSIGNED NOT NULL,
  actor_id    BIGINT UNSIGNED NOT NULL,
  delta       INT NOT NULL,
  before_qty  INT NOT NULL,
  after_qty   INT NOT NULL,
  reason      VARCHAR(200) NOT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_stock_adjustments_product (product_id, id),
  CONSTRAINT fk_stock_adjustments_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT fk_stock_adjustments_actor FOREIGN KEY (actor_id) REFERENCES users (id),
  CONSTRAINT ck_stock_adjustments_delta CHECK (delta <> 0 AND after_qty = before_qty + delta),
  CONSTRAINT ck_stock_adjustments_after CHECK (after_qty >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The order search filters by creation time.
CREATE INDEX IF NOT EXISTS ix_orders_created ON orders (created_at);

-- The dashboard's revenue today reads orders paid since midnight.
CREATE INDEX IF NOT EXISTS ix_orders_paid ON orders (paid_at);

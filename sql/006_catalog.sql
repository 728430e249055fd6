-- 006_catalog: units sold per product per day, for the popular-products list (the sum over
-- the last three days). The orders work adds to a row (catalog_sale_add) in the transaction
-- that marks an order paid, so the count commits or rolls back with the payment.
-- Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS sales_daily (
  product_id BIGINT UNSIGNED NOT NULL,
  day        DATE NOT NULL,
  quantity   BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (product_id, day),
  KEY ix_sales_daily_day (day),
  CONSTRAINT fk_sales_daily_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT ck_sales_daily_quantity CHECK (quantity >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The catalog pages walk active products by id, newest first (WHERE active = 1 AND id < ?).
CREATE INDEX IF NOT EXISTS ix_products_active_id ON products (active, id);

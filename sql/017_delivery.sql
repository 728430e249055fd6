-- 017_delivery: where an order goes and how it gets there.
-- addresses: a shopper's address book (recipient, phone, 우편번호 and address, a memo for the
-- courier). is_default is 1 on the default address and NULL on the others, so the unique key
-- lets a user have at most one default (NULLs never collide).
-- order_addresses: the address an order ships to, copied at checkout (a later edit of the
-- address book never changes where a paid order goes).
-- order_deliveries: one row per seller of an order (every seller ships their own goods): the
-- shipping fee that seller charged in this order, and the fulfilment status beside the
-- order's payment status: PREPARING (배송준비중) → SHIPPED (배송중, courier and tracking number
-- required) → DELIVERED (배송완료) → RETURN_REQUESTED (반품요청) → RETURNED (반품완료). A row is
-- written at checkout; an order from before this migration gets its rows when it first ships.
-- sellers.shipping_fee / free_shipping_over: a seller's own rule; NULL = the shop's
-- (shipping.fee, shipping.free_over). Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS addresses (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id     BIGINT UNSIGNED NOT NULL,
  label       VARCHAR(20) NOT NULL DEFAULT '',
  recipient   VARCHAR(50) NOT NULL,
  phone       VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  zipcode     CHAR(5) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  address1    VARCHAR(200) NOT NULL,
  address2    VARCHAR(200) NOT NULL DEFAULT '',
  memo        VARCHAR(100) NOT NULL DEFAULT '',
  is_default  TINYINT(1) NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY ix_addresses_user (user_id, id),
  UNIQUE KEY uq_addresses_default (user_id, is_default),
  CONSTRAINT fk_addresses_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT ck_addresses_default CHECK (is_default IS NULL OR is_default = 1),
  CONSTRAINT ck_addresses_zipcode CHECK (zipcode REGEXP '^[0-9]{5}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS order_addresses (
  order_id    BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  recipient   VARCHAR(50) NOT NULL,
  phone       VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  zipcode     CHAR(5) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  address1    VARCHAR(200) NOT NULL,
  address2    VARCHAR(200) NOT NULL DEFAULT '',
  memo        VARCHAR(100) NOT NULL DEFAULT '',
  CONSTRAINT fk_order_addresses_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS order_deliveries (
  order_id            BIGINT UNSIGNED NOT NULL,
  seller_id           BIGINT UNSIGNED NOT NULL,
  shipping_fee        BIGINT NOT NULL DEFAULT 0,
  status              ENUM('PREPARING','SHIPPED','DELIVERED','RETURN_REQUESTED','RETURNED')
                      NOT NULL DEFAULT 'PREPARING',
  courier             VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL,
  tracking_no         VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NULL,
  shipped_at          DATETIME(3) NULL,
  delivered_at        DATETIME(3) NULL,
  return_requested_at DATETIME(3) NULL,
  return_reason       VARCHAR(200) NULL,
  updated_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (order_id, seller_id),
  KEY ix_order_deliveries_status (status, updated_at),
  CONSTRAINT fk_order_deliveries_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_order_deliveries_seller FOREIGN KEY (seller_id) REFERENCES sellers (id),
  CONSTRAINT ck_order_deliveries_fee CHECK (shipping_fee >= 0 AND shipping_fee <= 1000000000),
  CONSTRAINT ck_order_deliveries_tracking CHECK
    (status = 'PREPARING' OR (courier IS NOT NULL AND tracking_no IS NOT NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE sellers ADD COLUMN IF NOT EXISTS shipping_fee BIGINT NULL;
ALTER TABLE sellers ADD COLUMN IF NOT EXISTS free_shipping_over BIGINT NULL;
ALTER TABLE sellers ADD CONSTRAINT IF NOT EXISTS ck_sellers_shipping CHECK ((shipping_fee IS NULL OR shipping_fee BETWEEN 0 AND 1000000) AND (free_shipping_over IS NULL OR free_shipping_over BETWEEN 0 AND 1000000000));

-- 001_core: people, sellers, products and stock (the tables every later feature stands on).
-- Money columns are BIGINT won. Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email         VARCHAR(254) NOT NULL,
  password_hash VARCHAR(255) NULL,
  name          VARCHAR(100) NOT NULL,
  role          ENUM('shopper','admin') NOT NULL DEFAULT 'shopper',
  status        ENUM('pending','active','disabled') NOT NULL DEFAULT 'pending',
  points        BIGINT NOT NULL DEFAULT 0,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_users_email (email),
  CONSTRAINT ck_users_points CHECK (points >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS sellers (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name          VARCHAR(100) NOT NULL,
  commission_bp INT NOT NULL DEFAULT 1000,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_sellers_name (name),
  CONSTRAINT ck_sellers_commission CHECK (commission_bp BETWEEN 0 AND 10000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS products (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  seller_id   BIGINT UNSIGNED NOT NULL,
  name        VARCHAR(200) NOT NULL,
  description TEXT NOT NULL,
  price       BIGINT NOT NULL,
  active      TINYINT(1) NOT NULL DEFAULT 1,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_products_seller_name (seller_id, name),
  CONSTRAINT fk_products_seller FOREIGN KEY (seller_id) REFERENCES sellers (id),
  CONSTRAINT ck_products_price CHECK (price > 0 AND price <= 1000000000000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Stock lives in its own row so reserving it never locks the product's descriptive row.
CREATE TABLE IF NOT EXISTS stock (
  product_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  available  INT NOT NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  CONSTRAINT fk_stock_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT ck_stock_available CHECK (available >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

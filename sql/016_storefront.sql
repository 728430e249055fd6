-- 016_storefront: what the storefront shows about a product besides its name and price: its
-- category, its list price (the price before the discount, shown struck through next to the
-- price with the discount rate; NULL or not above the price = no discount shown) and its
-- images (position 0 is the one lists show; the product page shows them all in order).
-- Image URLs are same-site paths under /static/ (the demo's SVGs) checked by the code that
-- writes them. Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS categories (
  id        INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  slug      VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name      VARCHAR(50) NOT NULL,
  icon_url  VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
  position  INT NOT NULL DEFAULT 0,
  UNIQUE KEY uq_categories_slug (slug),
  CONSTRAINT ck_categories_slug CHECK (slug REGEXP '^[a-z0-9-]{1,40}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE products ADD COLUMN IF NOT EXISTS category_id INT UNSIGNED NULL AFTER seller_id;
ALTER TABLE products ADD COLUMN IF NOT EXISTS list_price BIGINT NULL AFTER price;
ALTER TABLE products ADD CONSTRAINT IF NOT EXISTS ck_products_list_price CHECK (list_price IS NULL OR (list_price > 0 AND list_price <= 1000000000000000));
ALTER TABLE products ADD CONSTRAINT fk_products_category FOREIGN KEY IF NOT EXISTS (category_id) REFERENCES categories (id);

CREATE TABLE IF NOT EXISTS product_images (
  product_id BIGINT UNSIGNED NOT NULL,
  position   TINYINT UNSIGNED NOT NULL,
  url        VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  alt        VARCHAR(200) NOT NULL DEFAULT '',
  PRIMARY KEY (product_id, position),
  CONSTRAINT fk_product_images_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT ck_product_images_url CHECK (url LIKE '/static/%' AND url NOT LIKE '%..%')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The catalog's keyset pages: newest (active, id) exists (006); cheapest first walks
-- (price, id); a category walks (category_id, id) or (category_id, price, id).
CREATE INDEX IF NOT EXISTS ix_products_active_price ON products (active, price, id);
CREATE INDEX IF NOT EXISTS ix_products_active_category ON products (active, category_id, id);
CREATE INDEX IF NOT EXISTS ix_products_active_category_price ON products (active, category_id, price, id);

-- 019_checkout: a checkout's writes in one CALL (issue 13: as few round trips as MariaDB
-- allows). The C side still decides everything (lib/shop/orders_create.c prices the lines,
-- quotes the parcels, names the order); these procedures only write what it decided, so that a
-- card checkout is two client statements: the price query and CALL jt_checkout.
-- Each statement below mirrors the rule of the C module that owns it (docs/ARCHITECTURE.md):
-- those modules' own statements are no longer used at checkout. Change both together.
-- Rerunnable: CREATE OR REPLACE.

DELIMITER $$

-- jt_stock_take: takes each line's quantity from stock, in product-id order (every taker
-- locks the rows in the same order: no deadlock between two checkouts), each UPDATE guarded
-- (available >= quantity, as SQL_RESERVE was in lib/shop/order_state.c, which owns the rule
-- and calls this procedure). A line that cannot be taken: SIGNAL 45000 'sold out' (db.c:
-- DB_REFUSED); what this CALL took before stays in the caller's transaction, which rolls back.
-- p_lines: a JSON array of [product_id, quantity, ...]; a quantity <= 0 takes nothing.
CREATE OR REPLACE PROCEDURE jt_stock_take(IN p_lines LONGTEXT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
  DECLARE v_done BOOL DEFAULT FALSE;
  DECLARE v_pid BIGINT UNSIGNED;
  DECLARE v_qty INT;
  DECLARE c CURSOR FOR
    SELECT j.pid, j.qty FROM JSON_TABLE(p_lines, '$[*]' COLUMNS (n FOR ORDINALITY,
      pid BIGINT UNSIGNED PATH '$[0]', qty INT PATH '$[1]')) AS j
    WHERE j.qty > 0 ORDER BY j.pid, j.n;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = TRUE;

  OPEN c;
  take: LOOP
    FETCH c INTO v_pid, v_qty;
    IF v_done THEN
      LEAVE take;
    END IF;
    UPDATE stock SET available = available - v_qty
      WHERE product_id = v_pid AND available >= v_qty;
    IF ROW_COUNT() = 0 THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sold out';
    END IF;
  END LOOP;
  CLOSE c;
END$$

-- jt_checkout: the order, its lines, its first timeline row, its parcels, where they go, and
-- its stock, then one result row: the order's id and the times the checkout answers with.
-- p_tx 1: its own transaction (START TRANSACTION .. COMMIT; any error rolls back and is passed
-- on), the card checkout's single statement (db_tx1); 0: inside the caller's (the points
-- checkout's db_tx, which pays the order after it). A refusal is SIGNAL 45000 (jt_stock_take);
-- a checkout key used before is the duplicate key error of uq_orders_checkout.
--   p_lines   [[product_id, quantity, seller_id, name, unit_price, amount], ...]
--   p_parcels [[seller_id, shipping_fee], ...] (lib/shop/shipping.c's quote)
--   p_address [recipient, phone, zipcode, address1, address2, memo], or NULL
CREATE OR REPLACE PROCEDURE jt_checkout(IN p_tx BOOL,
    IN p_public_id CHAR(24) CHARACTER SET ascii, IN p_user_id BIGINT UNSIGNED,
    IN p_status VARCHAR(24), IN p_pay VARCHAR(16), IN p_amount BIGINT,
    IN p_name VARCHAR(200), IN p_items INT, IN p_key VARCHAR(64) CHARACTER SET ascii,
    IN p_expire_seconds INT, IN p_lines LONGTEXT, IN p_parcels LONGTEXT, IN p_address LONGTEXT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
  DECLARE v_id BIGINT UNSIGNED;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_tx THEN
      ROLLBACK;
    END IF;
    RESIGNAL;
  END;

  IF p_tx THEN
    START TRANSACTION;
  END IF;
  -- The order row (lib/shop/orders_create.c).
  INSERT INTO orders (public_id, user_id, status, pay_method, amount, order_name, item_count,
      checkout_key, expires_at, paid_at)
    VALUES (p_public_id, p_user_id, p_status, p_pay, p_amount, p_name, p_items, p_key,
      NOW(3) + INTERVAL p_expire_seconds SECOND, IF(p_status = 'PAID', NOW(3), NULL));
  SET v_id = LAST_INSERT_ID();
  -- Its lines, all in one statement.
  INSERT INTO order_lines (order_id, product_id, seller_id, name, unit_price, quantity, amount)
    SELECT v_id, j.product_id, j.seller_id, j.name, j.unit_price, j.quantity, j.amount
    FROM JSON_TABLE(p_lines, '$[*]' COLUMNS (product_id BIGINT UNSIGNED PATH '$[0]',
      quantity INT PATH '$[1]', seller_id BIGINT UNSIGNED PATH '$[2]',
      name VARCHAR(200) PATH '$[3]', unit_price BIGINT PATH '$[4]',
      amount BIGINT PATH '$[5]')) AS j;
  -- The timeline's first row: the row order_state_created writes (lib/shop/order_state.c).
  INSERT INTO order_events (order_id, from_status, to_status, actor, note)
    VALUES (v_id, NULL, p_status, 'shopper', NULL);
  -- Each seller's parcel with its fee: the rows fulfilment_open writes (lib/shop/fulfilment.c).
  INSERT INTO order_deliveries (order_id, seller_id, shipping_fee)
    SELECT v_id, j.seller_id, j.fee
    FROM JSON_TABLE(p_parcels, '$[*]' COLUMNS (n FOR ORDINALITY,
      seller_id BIGINT UNSIGNED PATH '$[0]', fee BIGINT PATH '$[1]')) AS j
    ORDER BY j.n;
  -- Where they go: the row addresses_copy_to_order writes (lib/shop/addresses.c).
  IF p_address IS NOT NULL THEN
    INSERT INTO order_addresses (order_id, recipient, phone, zipcode, address1, address2, memo)
      SELECT v_id, j.recipient, j.phone, j.zipcode, j.address1, j.address2, j.memo
      FROM JSON_TABLE(p_address, '$' COLUMNS (recipient VARCHAR(50) PATH '$[0]',
        phone VARCHAR(20) PATH '$[1]', zipcode VARCHAR(5) PATH '$[2]',
        address1 VARCHAR(200) PATH '$[3]', address2 VARCHAR(200) PATH '$[4]',
        memo VARCHAR(100) PATH '$[5]')) AS j;
  END IF;
  -- The stock last: its rows are the contended ones, locked until the commit
  -- (order_state_reserve's rule, lib/shop/order_state.c).
  CALL jt_stock_take(p_lines);
  SELECT v_id AS id, DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i:%s') AS expires_at,
      DATE_FORMAT(paid_at, '%Y-%m-%d %H:%i:%s') AS paid_at,
      DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at
    FROM orders WHERE id = v_id;
  IF p_tx THEN
    COMMIT;
  END IF;
END$$

DELIMITER ;

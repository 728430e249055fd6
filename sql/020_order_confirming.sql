-- 020_order_confirming: the PG's success return in one CALL (issue 13: as few round trips as
-- MariaDB allows). lib/shop/order_state.c owns the move PENDING -> CONFIRMING and calls this
-- procedure for it, inside a transaction (order_state_move) or as the return's whole
-- transaction with its payment.confirm job (order_state_confirming): the guard below is the
-- move's one text. Rerunnable: CREATE OR REPLACE.

DELIMITER $$

-- jt_order_confirming: the guarded move of order p_order_id from PENDING to CONFIRMING (the
-- amount must be the order's and the order not past expires_at; the payment key kept when
-- given), its timeline row (p_actor, p_note), and when p_payload is not NULL a job of kind
-- p_kind with that payload in the outbox; then one result row, the job's id (0 without one).
-- A move that matches nothing writes nothing: SIGNAL 45000 'not matched' (db.c: DB_REFUSED).
-- p_tx 1: its own transaction (START TRANSACTION .. COMMIT; any error rolls back and is
-- passed on: db_tx1); 0: inside the caller's.
CREATE OR REPLACE PROCEDURE jt_order_confirming(IN p_tx BOOL, IN p_order_id BIGINT UNSIGNED,
    IN p_amount BIGINT, IN p_payment_key VARCHAR(200) CHARACTER SET ascii,
    IN p_actor VARCHAR(32), IN p_note VARCHAR(255), IN p_kind VARCHAR(32),
    IN p_payload LONGTEXT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
  DECLARE v_job BIGINT UNSIGNED DEFAULT 0;
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
  UPDATE orders SET status = 'CONFIRMING', payment_key = COALESCE(p_payment_key, payment_key)
    WHERE id = p_order_id AND status = 'PENDING' AND amount = p_amount
      AND expires_at > NOW(3);
  IF ROW_COUNT() = 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'not matched';
  END IF;
  INSERT INTO order_events (order_id, from_status, to_status, actor, note)
    VALUES (p_order_id, 'PENDING', 'CONFIRMING', p_actor, p_note);
  IF p_payload IS NOT NULL THEN
    INSERT INTO outbox (kind, payload) VALUES (p_kind, p_payload);
    SET v_job = LAST_INSERT_ID();
  END IF;
  SELECT v_job AS job_id;
  IF p_tx THEN
    COMMIT;
  END IF;
END$$

DELIMITER ;

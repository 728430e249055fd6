-- 021_outbox_claim: a worker's claim in one CALL (issue 13): the claiming UPDATE and the read
-- of the rows it claimed were two round trips per batch. lib/infra/outbox.c
-- (outbox_claim_batch) owns the rule and calls this procedure. Rerunnable: CREATE OR REPLACE.

DELIMITER $$

-- jt_outbox_claim: takes up to p_cap due pending jobs of kind p_kind that have attempts left
-- (fewer than p_max_attempts), oldest due first (ix_outbox_due gives that order, so only the
-- rows taken are read and locked), under token p_token for p_seconds, counting an attempt;
-- then answers the rows it took (id, payload, attempts), oldest due first: none when it took
-- none. Under autocommit each of the two statements commits as before.
CREATE OR REPLACE PROCEDURE jt_outbox_claim(IN p_token CHAR(24) CHARACTER SET ascii,
    IN p_seconds INT, IN p_kind VARCHAR(32), IN p_max_attempts INT, IN p_cap INT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
  UPDATE outbox SET status = 'claimed', claim_token = p_token,
      claimed_until = NOW(3) + INTERVAL p_seconds SECOND, attempts = attempts + 1
    WHERE status = 'pending' AND kind = p_kind AND available_at <= NOW(3)
      AND attempts < p_max_attempts
    ORDER BY available_at, id LIMIT p_cap;
  IF ROW_COUNT() > 0 THEN
    SELECT id, payload, attempts FROM outbox
      WHERE status = 'claimed' AND kind = p_kind AND claim_token = p_token
      ORDER BY available_at, id;
  ELSE
    SELECT id, payload, attempts FROM outbox WHERE FALSE;
  END IF;
END$$

DELIMITER ;

-- 015_notify: KakaoTalk 알림톡 for order notices. The shopper's consent to receive them by
-- KakaoTalk sits beside the phone number (users.phone, 003), with the time it was given (a
-- consent is a record of when, not a flag); it needs a phone number. notify_deliveries holds
-- one row per notice event and channel (event_key "paid:<orderId>", "refunded:<refundId>";
-- only 알림톡 is recorded: mail stays at least once, see docs/ARCHITECTURE.md, Notify):
-- the notify worker writes the 알림톡 row in the transaction that completes its job (sent), or
-- alone when the provider refused for good (refused: the notice then goes by mail), and reads
-- it before sending, so a second job for the same event, or a retry after a refusal, never
-- sends the 알림톡 again. Rows are never updated. Each statement is rerunnable; statements
-- end with ';' at the end of a line.

ALTER TABLE users ADD COLUMN IF NOT EXISTS alimtalk_consent_at DATETIME(3) NULL AFTER phone;

ALTER TABLE users ADD CONSTRAINT IF NOT EXISTS ck_users_alimtalk_phone CHECK (alimtalk_consent_at IS NULL OR phone IS NOT NULL);

CREATE TABLE IF NOT EXISTS notify_deliveries (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_key    VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  channel      ENUM('alimtalk') NOT NULL,
  outcome      ENUM('sent','refused') NOT NULL,
  recipient    VARCHAR(254) NOT NULL,
  provider_ref VARCHAR(100) NULL,
  detail       VARCHAR(255) NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_notify_event_channel (event_key, channel)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

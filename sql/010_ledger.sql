-- 010_ledger: the double-entry ledger (lib/shop/ledger.c), seller settlements (lib/shop/settle.c) and
-- payouts (lib/shop/wallet.c). Money columns are BIGINT won.
-- ledger_accounts: one row per account of the chart in lib/shop/ledger.h, made on first use. code
-- compares byte for byte. debits_posted / credits_posted only grow, always in the transaction
-- that inserts the transfers they sum; not_negative = 1 keeps the balance on the account's
-- normal side at or above zero (customer points). owner_user_id / owner_seller_id / pg say
-- whose account it is (NULL for the shop's own).
-- ledger_transfers: immutable (the triggers refuse UPDATE and DELETE); a posting is the set
-- of rows sharing posting_id, leg numbering them from 0. A correction is a new posting.
-- Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS ledger_accounts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code            VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  kind            ENUM('asset','liability','revenue','expense') NOT NULL,
  owner_user_id   BIGINT UNSIGNED NULL,
  owner_seller_id BIGINT UNSIGNED NULL,
  pg              VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL,
  not_negative    TINYINT(1) NOT NULL DEFAULT 0,
  debits_posted   BIGINT NOT NULL DEFAULT 0,
  credits_posted  BIGINT NOT NULL DEFAULT 0,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_ledger_accounts_code (code),
  KEY ix_ledger_accounts_seller (owner_seller_id),
  KEY ix_ledger_accounts_user (owner_user_id),
  CONSTRAINT ck_ledger_accounts_posted CHECK (debits_posted >= 0 AND credits_posted >= 0),
  CONSTRAINT ck_ledger_accounts_limit CHECK (not_negative = 0
    OR (kind IN ('asset','expense') AND debits_posted >= credits_posted)
    OR (kind IN ('liability','revenue') AND credits_posted >= debits_posted))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS ledger_transfers (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  posting_id        VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  leg               SMALLINT NOT NULL,
  debit_account_id  BIGINT UNSIGNED NOT NULL,
  credit_account_id BIGINT UNSIGNED NOT NULL,
  amount            BIGINT NOT NULL,
  code              VARCHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ref_type          VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ref_id            VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_ledger_transfers_leg (posting_id, leg),
  KEY ix_ledger_transfers_debit (debit_account_id, id),
  KEY ix_ledger_transfers_credit (credit_account_id, id),
  KEY ix_ledger_transfers_ref (ref_type, ref_id),
  CONSTRAINT fk_ledger_transfers_debit FOREIGN KEY (debit_account_id) REFERENCES ledger_accounts (id),
  CONSTRAINT fk_ledger_transfers_credit FOREIGN KEY (credit_account_id) REFERENCES ledger_accounts (id),
  CONSTRAINT ck_ledger_transfers_amount CHECK (amount > 0 AND amount <= 1000000000000000),
  CONSTRAINT ck_ledger_transfers_accounts CHECK (debit_account_id <> credit_account_id),
  CONSTRAINT ck_ledger_transfers_leg CHECK (leg >= 0 AND leg < 16)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER IF NOT EXISTS tr_ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_transfers are immutable: post a reversing transfer';

CREATE TRIGGER IF NOT EXISTS tr_ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_transfers are immutable: post a reversing transfer';

-- One row per settled sale or refund per seller: kind 'sale' with ref = the order's public
-- id, kind 'refund' with ref = the refund's public id. order_id groups a refund with its
-- sale (the commission of refunds telescopes over them). commission_bp is the rate used, so
-- a refund reverses at the rate of its sale. The UNIQUE key makes a replayed job a no-op.
CREATE TABLE IF NOT EXISTS settlements (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind          ENUM('sale','refund') NOT NULL,
  ref           CHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id      BIGINT UNSIGNED NOT NULL,
  seller_id     BIGINT UNSIGNED NOT NULL,
  gross         BIGINT NOT NULL,
  commission    BIGINT NOT NULL,
  net           BIGINT NOT NULL,
  commission_bp INT NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_settlements_ref (kind, ref, seller_id),
  KEY ix_settlements_order (order_id, seller_id),
  KEY ix_settlements_seller (seller_id, id),
  CONSTRAINT fk_settlements_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_settlements_seller FOREIGN KEY (seller_id) REFERENCES sellers (id),
  CONSTRAINT ck_settlements_money CHECK (gross > 0 AND gross <= 1000000000000000
    AND commission >= 0 AND commission <= gross AND net = gross - commission),
  CONSTRAINT ck_settlements_bp CHECK (commission_bp BETWEEN 0 AND 10000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A payout moves a seller's payable to the bank (posting payout:<id>). actor_user_id is the
-- admin who ran it (NULL from jangteoctl). idempotency_key makes a retried payout a replay.
CREATE TABLE IF NOT EXISTS payouts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  seller_id       BIGINT UNSIGNED NOT NULL,
  amount          BIGINT NOT NULL,
  actor_user_id   BIGINT UNSIGNED NULL,
  idempotency_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_payouts_key (idempotency_key),
  KEY ix_payouts_seller (seller_id, id),
  CONSTRAINT fk_payouts_seller FOREIGN KEY (seller_id) REFERENCES sellers (id),
  CONSTRAINT fk_payouts_actor FOREIGN KEY (actor_user_id) REFERENCES users (id),
  CONSTRAINT ck_payouts_amount CHECK (amount > 0 AND amount <= 1000000000000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A seller without a rate of its own pays the config's settle.commission_bp.
ALTER TABLE sellers MODIFY COLUMN commission_bp INT NULL DEFAULT NULL;

-- The user who manages a seller sees its wallet at /seller/wallet.
ALTER TABLE sellers ADD COLUMN IF NOT EXISTS owner_user_id BIGINT UNSIGNED NULL;

CREATE UNIQUE INDEX IF NOT EXISTS uq_sellers_owner ON sellers (owner_user_id);

ALTER TABLE sellers ADD CONSTRAINT fk_sellers_owner FOREIGN KEY IF NOT EXISTS (owner_user_id) REFERENCES users (id);

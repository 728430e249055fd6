-- 003_accounts: what sign-up and login need beyond 001's users table.
-- phone: seed 002's hpNo (the points API shows it); optional, never required at sign-up.
-- verified_at: when the e-mailed code was confirmed (NULL while pending, and for accounts
-- made otherwise, e.g. by jangteoctl seed-demo). last_login_at: the latest password login.
-- ix_users_status_created: finds stale pending sign-ups (never confirmed) to purge them.
-- Each statement is rerunnable (IF NOT EXISTS): DDL commits implicitly in MariaDB.

ALTER TABLE users ADD COLUMN IF NOT EXISTS phone VARCHAR(20) NULL AFTER name;

ALTER TABLE users ADD COLUMN IF NOT EXISTS verified_at DATETIME(3) NULL AFTER status;

ALTER TABLE users ADD COLUMN IF NOT EXISTS last_login_at DATETIME(3) NULL AFTER verified_at;

CREATE INDEX IF NOT EXISTS ix_users_status_created ON users (status, created_at);

-- 004_oauth: social login identities: which user a Naver or Kakao account signs in as.
-- provider and subject compare byte for byte (a provider's ids are case-sensitive).
-- email is what the provider reported when the identity was linked (NULL when none).
-- Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS user_identities (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  provider   VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  subject    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id    BIGINT UNSIGNED NOT NULL,
  email      VARCHAR(254) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_user_identities_provider_subject (provider, subject),
  KEY ix_user_identities_user (user_id),
  CONSTRAINT fk_user_identities_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

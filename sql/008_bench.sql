-- 008_bench: the table the benchmarks' baseline writes to. POST /api/v1/_test/commit (a test
-- route, present only with fcgi.test_routes = true) inserts one row per request: "FastCGI
-- hello + one MariaDB commit", the yardstick bench/checkout.sh holds checkout against.

CREATE TABLE IF NOT EXISTS bench_commits (
  id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

"""jangteoctl against the stack's database: migrate and seed-demo are safe to repeat."""
import os

from jt import SRC, ctl, eq, sql


def test_migrate_twice_changes_nothing():
    before = sql("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    rc, out = ctl("migrate")
    eq(rc, 0, "exit status")
    assert "migrate: 0 applied" in out, out
    eq(sql("SELECT version, applied_at FROM schema_migrations ORDER BY version"), before, "rows")
    eq([r[0] for r in before][:2], ["1", "2"], "versions")


DEMO_SELLERS = "('제주농원', '테크마켓', '전통공방', '경북과수원', '이천미가')"


def counts():
    return sql("SELECT (SELECT COUNT(*) FROM sellers), (SELECT COUNT(*) FROM products),"
               " (SELECT COUNT(*) FROM stock), (SELECT COUNT(*) FROM users),"
               " (SELECT COUNT(*) FROM categories), (SELECT COUNT(*) FROM product_images)")


def test_seed_demo_is_idempotent():
    # Other tests share this database: compare before and after a second run.
    rc, out = ctl("seed-demo")
    eq(rc, 0, "exit status: " + out)
    first = counts()
    rc, out = ctl("seed-demo")
    eq(rc, 0, "exit status: " + out)
    eq(counts(), first, "a second run adds nothing")
    eq(sql("SELECT COUNT(*) FROM sellers WHERE name IN " + DEMO_SELLERS), [["5"]], "demo sellers")
    eq(sql("SELECT COUNT(*) FROM products p JOIN sellers s ON s.id = p.seller_id"
           " WHERE s.name IN " + DEMO_SELLERS), [["12"]], "demo products")
    # Each in a category, with three pictures that exist in static/products/; some discounted.
    eq(sql("SELECT COUNT(*), COUNT(p.category_id), SUM(p.list_price > p.price) FROM products p"
           " JOIN sellers s ON s.id = p.seller_id WHERE s.name IN " + DEMO_SELLERS),
       [["12", "12", "7"]], "categories and list prices")
    urls = sql("SELECT i.url FROM product_images i JOIN products p ON p.id = i.product_id"
               " JOIN sellers s ON s.id = p.seller_id WHERE s.name IN " + DEMO_SELLERS)
    eq(len(urls), 36, "three pictures each")
    for (url,) in urls:
        assert os.path.isfile(os.path.join(SRC, url.lstrip("/"))), url
    eq(sql("SELECT email, role, status FROM users"
           " WHERE email IN ('admin@jangteo.test', 'demo@jangteo.test') ORDER BY email"),
       [["admin@jangteo.test", "admin", "active"], ["demo@jangteo.test", "shopper", "active"]],
       "users")
    eq(sql("SELECT p.price, s.available FROM products p JOIN stock s ON s.product_id = p.id"
           " WHERE p.name = '한정판 기계식 키보드'"), [["159000", "5"]], "keyboard")
    # Passwords are stored as yescrypt hashes, never in clear (users of other tests made with
    # no password, like social logins, have none).
    for (h,) in sql("SELECT password_hash FROM users WHERE password_hash IS NOT NULL"):
        assert h.startswith("$y$"), h
        assert "pass" not in h


def test_unknown_command_and_bad_config_fail_cleanly():
    rc, out = ctl("no-such-command")
    eq(rc, 2, "exit status")
    assert "unknown command" in out, out

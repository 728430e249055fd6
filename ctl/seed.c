/* seed: demo data for the local shop (jangteoctl seed-demo). */
#include <stdio.h>

#include "base/arena.h"
#include "cmds.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/password.h"

static const char SQL_SELLER[] =
    "INSERT INTO sellers (name, commission_bp) VALUES (?, ?)"
    " ON DUPLICATE KEY UPDATE name = name";
static const char SQL_SELLER_ID[] = "SELECT id FROM sellers WHERE name = ?";
static const char SQL_PRODUCT[] =
    "INSERT INTO products (seller_id, name, description, price) VALUES (?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE name = name";
static const char SQL_PRODUCT_ID[] = "SELECT id FROM products WHERE seller_id = ? AND name = ?";
static const char SQL_STOCK[] =
    "INSERT INTO stock (product_id, available) VALUES (?, ?)"
    " ON DUPLICATE KEY UPDATE product_id = product_id";
static const char SQL_USER[] =
    "INSERT INTO users (email, password_hash, name, role, status, points)"
    " VALUES (?, ?, ?, ?, 'active', ?) ON DUPLICATE KEY UPDATE email = email";

struct demo_seller {
	const char *name;
	int commission_bp;
};

struct demo_product {
	int seller;              /* index into demo_sellers */
	const char *name;
	const char *description;
	int64_t price;           /* won */
	int64_t stock;
};

struct demo_user {
	const char *email;
	const char *password;    /* demo only: printed by seed-demo */
	const char *name;
	const char *role;
	int64_t points;
};

static const struct demo_seller demo_sellers[] = {
	{ "제주농원", 1000 },
	{ "테크마켓", 800 },
	{ "전통공방", 1200 },
};

static const struct demo_product demo_products[] = {
	{ 0, "제주 감귤 5kg", "당도 높은 노지 감귤을 산지에서 바로 보내 드립니다.", 29900, 100 },
	{ 0, "유기농 현미 10kg", "올해 수확한 유기농 현미입니다.", 45000, 50 },
	{ 2, "수제 한과 선물세트", "전통 방식으로 만든 약과와 유과 세트입니다.", 38000, 30 },
	{ 1, "무선 이어폰", "노이즈 캔슬링 무선 이어폰입니다.", 89000, 20 },
	{ 1, "스테인리스 텀블러 500ml", "보온·보냉이 되는 텀블러입니다.", 19800, 200 },
	{ 1, "한정판 기계식 키보드", "한정 수량으로 판매하는 기계식 키보드입니다.", 159000, 5 },
};

static const struct demo_user demo_users[] = {
	{ "demo@jangteo.test", "demo-pass-1234", "김장터", "shopper", 50000 },
	{ "admin@jangteo.test", "admin-pass-1234", "관리자", "admin", 0 },
};

int
seed_demo(struct db *db)
{
	struct arena *a = arena_new(4096);
	int64_t seller_ids[sizeof(demo_sellers) / sizeof(demo_sellers[0])];
	struct db_res res;
	char hash[PASSWORD_HASH_MAX];
	size_t i;
	int rc = -1;

	for (i = 0; i < sizeof(demo_sellers) / sizeof(demo_sellers[0]); i++) {
		if (db_exec(db, SQL_SELLER, "si", demo_sellers[i].name,
		    (int64_t)demo_sellers[i].commission_bp) < 0 ||
		    db_query(db, a, &res, SQL_SELLER_ID, "s", demo_sellers[i].name) != 1)
			goto out;
		seller_ids[i] = db_res_i64(&res, 0, 0);
	}
	for (i = 0; i < sizeof(demo_products) / sizeof(demo_products[0]); i++) {
		const struct demo_product *p = &demo_products[i];

		if (db_exec(db, SQL_PRODUCT, "issi", seller_ids[p->seller], p->name, p->description,
		    p->price) < 0 ||
		    db_query(db, a, &res, SQL_PRODUCT_ID, "is", seller_ids[p->seller], p->name) != 1 ||
		    db_exec(db, SQL_STOCK, "ii", db_res_i64(&res, 0, 0), p->stock) < 0)
			goto out;
	}
	for (i = 0; i < sizeof(demo_users) / sizeof(demo_users[0]); i++) {
		const struct demo_user *u = &demo_users[i];

		if (password_hash(u->password, hash, sizeof(hash)) != 0) {
			log_error(NULL, "seed-demo: cannot hash a password");
			goto out;
		}
		if (db_exec(db, SQL_USER, "ssssi", u->email, hash, u->name, u->role, u->points) < 0)
			goto out;
		printf("%-8s %s / %s\n", u->role, u->email, u->password);
	}
	printf("seeded %zu sellers and %zu products\n",
	    sizeof(demo_sellers) / sizeof(demo_sellers[0]),
	    sizeof(demo_products) / sizeof(demo_products[0]));
	rc = 0;
out:
	if (rc != 0)
		log_error(NULL, "seed-demo failed: %s", db_error(db));
	arena_free(&a);
	return rc;
}

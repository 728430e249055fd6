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
/* A seller's own shipping rule; -1 keeps the shop's (NULL). */
static const char SQL_SELLER_SHIPPING[] =
    "UPDATE sellers SET shipping_fee = NULLIF(?, -1), free_shipping_over = NULLIF(?, -1)"
    " WHERE id = ?";
static const char SQL_SELLER_ID[] = "SELECT id FROM sellers WHERE name = ?";
static const char SQL_CATEGORY[] =
    "INSERT INTO categories (slug, name, icon_url, position) VALUES (?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE name = VALUES(name), icon_url = VALUES(icon_url),"
    " position = VALUES(position)";
static const char SQL_CATEGORY_ID[] = "SELECT id FROM categories WHERE slug = ?";
/* A product seeded before keeps its price and stock (tests and demos may have changed them)
 * but gets the storefront's category, list price and description. */
static const char SQL_PRODUCT[] =
    "INSERT INTO products (seller_id, category_id, name, description, price, list_price)"
    " VALUES (?, ?, ?, ?, ?, NULLIF(?, 0))"
    " ON DUPLICATE KEY UPDATE category_id = VALUES(category_id),"
    " list_price = VALUES(list_price), description = VALUES(description)";
static const char SQL_IMAGE[] =
    "INSERT INTO product_images (product_id, position, url, alt) VALUES (?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE url = VALUES(url), alt = VALUES(alt)";
/* Some sales today, so the demo's 인기순 has an order; never lowers a real count. */
static const char SQL_SALES[] =
    "INSERT INTO sales_daily (product_id, day, quantity) VALUES (?, CURRENT_DATE(), ?)"
    " ON DUPLICATE KEY UPDATE quantity = GREATEST(quantity, VALUES(quantity))";
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
	int64_t shipping_fee;       /* won, or -1 for the shop's (shipping.fee) */
	int64_t free_shipping_over; /* won, or -1 for the shop's (shipping.free_over) */
};

struct demo_category {
	const char *slug;
	const char *name;
};

struct demo_product {
	int seller;              /* index into demo_sellers */
	int category;            /* index into demo_categories */
	const char *slug;        /* its pictures: static/products/<slug>-1..3.svg (script/demo-images) */
	const char *name;
	const char *description;
	int64_t price;           /* won */
	int64_t list_price;      /* won before the discount; 0 for none */
	int64_t stock;
	int64_t sold_today;      /* demo sales for the 인기순 order */
	const char *alt;         /* what the first picture shows */
};

struct demo_user {
	const char *email;
	const char *password;    /* demo only: printed by seed-demo */
	const char *name;
	const char *role;
	int64_t points;
};

static const struct demo_seller demo_sellers[] = {
	{ "제주농원", 1000, -1, -1 },
	{ "테크마켓", 800, 0, -1 },          /* always free */
	{ "전통공방", 1200, 2500, 50000 },
	{ "경북과수원", 1000, -1, -1 },
	{ "이천미가", 1000, 3500, -1 },      /* rice is heavy: never free */
};

static const struct demo_category demo_categories[] = {
	{ "fruit",   "과일" },
	{ "rice",    "쌀·잡곡" },
	{ "snack",   "전통간식" },
	{ "digital", "디지털" },
	{ "kitchen", "주방·생활" },
};

static const struct demo_product demo_products[] = {
	{ 0, 0, "gamgyul", "제주 감귤 5kg",
	  "당도 높은 노지 감귤을 산지에서 바로 보내 드립니다.\n"
	  "12브릭스 이상으로 선별한 소과·중과를 섞어 5kg 상자에 담았습니다.\n"
	  "받으신 날부터 서늘한 곳에 두고 일주일 안에 드시면 가장 맛있습니다.",
	  29900, 34900, 100, 42, "나무 상자에 담긴 제주 감귤" },
	{ 0, 1, "hyunmi", "유기농 현미 10kg",
	  "올해 수확한 유기농 현미입니다.\n유기농 인증을 받은 논에서 키워 고소하고 찰집니다.",
	  45000, 0, 50, 9, "유기농 현미 포대" },
	{ 2, 2, "hangwa", "수제 한과 선물세트",
	  "전통 방식으로 만든 약과와 유과 세트입니다.\n"
	  "국내산 찹쌀과 조청으로 만들어 보자기에 싸서 보내 드립니다.",
	  38000, 45000, 30, 17, "리본을 두른 한과 선물 상자" },
	{ 1, 3, "earbuds", "무선 이어폰",
	  "노이즈 캔슬링 무선 이어폰입니다.\n케이스를 포함해 최대 30시간 들을 수 있습니다.",
	  89000, 129000, 20, 26, "충전 케이스 위의 흰색 무선 이어폰" },
	{ 1, 4, "tumbler", "스테인리스 텀블러 500ml",
	  "보온·보냉이 되는 텀블러입니다.\n보온 12시간, 보냉 24시간, 식기세척기에 넣어도 됩니다.",
	  19800, 0, 200, 31, "파란색 스테인리스 텀블러" },
	{ 1, 3, "keyboard", "한정판 기계식 키보드",
	  "한정 수량으로 판매하는 기계식 키보드입니다.\n갈축 스위치와 PBT 이중사출 키캡을 썼습니다.",
	  159000, 0, 5, 4, "남색 텐키리스 기계식 키보드" },
	{ 3, 0, "chamoe", "성주 꿀참외 3kg",
	  "아삭하고 달콤한 성주 참외를 수확한 날 보내 드립니다.\n3kg 상자에 8~12과가 들어갑니다.",
	  24900, 27900, 60, 35, "노란 성주 참외 세 개" },
	{ 3, 0, "sagwa", "청송 꿀사과 5kg",
	  "일교차가 큰 청송에서 자라 과육이 단단하고 달콤합니다.\n흠과를 골라낸 14~18과를 보내 드립니다.",
	  39900, 0, 40, 12, "빨간 청송 사과 세 개" },
	{ 4, 1, "ssal", "이천 쌀 20kg",
	  "경기 이천의 추청벼를 주문받은 주에 도정해 보내 드립니다.\n윤기 있고 찰진 밥맛입니다.",
	  62000, 68000, 30, 8, "이천쌀 포대" },
	{ 2, 2, "yakgwa", "전통 약과 20입",
	  "조청에 재운 촉촉한 약과 20개를 하나씩 포장했습니다.\n실온에서 30일 동안 보관할 수 있습니다.",
	  15900, 0, 80, 21, "꽃 모양 전통 약과" },
	{ 1, 3, "charger", "고속 충전기 25W",
	  "USB-C PD 25W 고속 충전기입니다.\nKC 인증을 받았고 과열을 막는 보호 회로가 있습니다.",
	  19900, 24900, 150, 14, "흰색 25W 충전기와 케이블" },
	{ 2, 4, "pot", "무쇠 주물 냄비 22cm",
	  "두꺼운 무쇠가 열을 골고루 전해 밥과 찌개가 맛있게 익습니다.\n"
	  "인덕션과 가스레인지에서 모두 쓸 수 있습니다 (22cm, 3.2L).",
	  54000, 69000, 25, 6, "검은 무쇠 주물 냄비" },
};

static const struct demo_user demo_users[] = {
	{ "demo@jangteo.test", "demo-pass-1234", "김장터", "shopper", 50000 },
	{ "admin@jangteo.test", "admin-pass-1234", "관리자", "admin", 0 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The categories; their ids into ids. 0 or -1. */
static int
seed_categories(struct db *db, struct arena *a, int64_t *ids)
{
	struct db_res res;
	size_t i;

	for (i = 0; i < COUNT(demo_categories); i++) {
		const struct demo_category *c = &demo_categories[i];
		char icon[64];

		snprintf(icon, sizeof(icon), "/static/products/cat-%s.svg", c->slug);
		if (db_exec(db, SQL_CATEGORY, "sssi", c->slug, c->name, icon, (int64_t)i) < 0 ||
		    db_query(db, a, &res, SQL_CATEGORY_ID, "s", c->slug) != 1)
			return -1;
		ids[i] = db_res_i64(&res, 0, 0);
	}
	return 0;
}

/* One product with its stock, pictures and demo sales. 0 or -1. */
static int
seed_product(struct db *db, struct arena *a, const struct demo_product *p, int64_t seller_id,
    int64_t category_id)
{
	static const char *const extra_alt[] = { NULL, "가까이에서 본 모습", "상품 특징 안내" };
	struct db_res res;
	int64_t id;
	int k;

	if (db_exec(db, SQL_PRODUCT, "iissii", seller_id, category_id, p->name, p->description,
	    p->price, p->list_price) < 0 ||
	    db_query(db, a, &res, SQL_PRODUCT_ID, "is", seller_id, p->name) != 1)
		return -1;
	id = db_res_i64(&res, 0, 0);
	if (db_exec(db, SQL_STOCK, "ii", id, p->stock) < 0 ||
	    db_exec(db, SQL_SALES, "ii", id, p->sold_today) < 0)
		return -1;
	for (k = 0; k < 3; k++) {
		char url[96];
		const char *alt = k == 0 ? p->alt : arena_printf(a, "%s %s", p->name, extra_alt[k]);

		snprintf(url, sizeof(url), "/static/products/%s-%d.svg", p->slug, k + 1);
		if (db_exec(db, SQL_IMAGE, "iiss", id, (int64_t)k, url, alt) < 0)
			return -1;
	}
	return 0;
}

int
seed_demo(struct db *db)
{
	struct arena *a = arena_new(4096);
	int64_t seller_ids[COUNT(demo_sellers)], category_ids[COUNT(demo_categories)];
	struct db_res res;
	char hash[PASSWORD_HASH_MAX];
	size_t i;
	int rc = -1;

	for (i = 0; i < COUNT(demo_sellers); i++) {
		if (db_exec(db, SQL_SELLER, "si", demo_sellers[i].name,
		    (int64_t)demo_sellers[i].commission_bp) < 0 ||
		    db_query(db, a, &res, SQL_SELLER_ID, "s", demo_sellers[i].name) != 1)
			goto out;
		seller_ids[i] = db_res_i64(&res, 0, 0);
		if (db_exec(db, SQL_SELLER_SHIPPING, "iii", demo_sellers[i].shipping_fee,
		    demo_sellers[i].free_shipping_over, seller_ids[i]) < 0)
			goto out;
	}
	if (seed_categories(db, a, category_ids) != 0)
		goto out;
	for (i = 0; i < COUNT(demo_products); i++) {
		const struct demo_product *p = &demo_products[i];

		if (seed_product(db, a, p, seller_ids[p->seller], category_ids[p->category]) != 0)
			goto out;
	}
	for (i = 0; i < COUNT(demo_users); i++) {
		const struct demo_user *u = &demo_users[i];

		if (password_hash(u->password, hash, sizeof(hash)) != 0) {
			log_error(NULL, "seed-demo: cannot hash a password");
			goto out;
		}
		if (db_exec(db, SQL_USER, "ssssi", u->email, hash, u->name, u->role, u->points) < 0)
			goto out;
		printf("%-8s %s / %s\n", u->role, u->email, u->password);
	}
	printf("seeded %zu sellers, %zu categories and %zu products\n", COUNT(demo_sellers),
	    COUNT(demo_categories), COUNT(demo_products));
	rc = 0;
out:
	if (rc != 0)
		log_error(NULL, "seed-demo failed: %s", db_error(db));
	arena_free(&a);
	return rc;
}

/* route: the route table and the dispatcher that enforces each route's flags before the
 * handler runs. Handlers never re-check what a flag promises. */
#ifndef JT_ROUTE_H
#define JT_ROUTE_H

#include <stddef.h>
#include <stdio.h>
#include "req.h"

enum route_flag {
	ROUTE_HTML  = 1u << 0,  /* answers pages; errors are error pages */
	ROUTE_JSON  = 1u << 1,  /* answers JSON; errors are the envelope; bodies must be JSON */
	ROUTE_LOGIN = 1u << 2,  /* needs a signed-in user */
	ROUTE_ADMIN = 1u << 3,  /* needs an admin */
	ROUTE_CSRF  = 1u << 4,  /* state change: needs the session's CSRF token */
	ROUTE_TEST  = 1u << 5,  /* answered only with fcgi.test_routes = true (and built only
	                         * with --enable-test-routes: tests/routes/testing.c) */
	ROUTE_RAW   = 1u << 6,  /* answers its own content type (metrics) */
	ROUTE_TWIN  = 1u << 7,  /* one of two representations of a resource: an HTML route and
	                         * a JSON route with the same method and pattern, both flagged.
	                         * The dispatcher picks the JSON one when the Accept header
	                         * prefers application/json over text/html (accept_prefers),
	                         * the HTML one otherwise; both answer with Vary: Accept */
	ROUTE_UPLOAD = 1u << 8, /* an HTML POST that also takes multipart/form-data (a file
	                         * input): text fields in r->form, files in r->files */
};

struct route {
	enum req_method method;
	const char *pattern;     /* "/api/v1/orders/{id}": {x} matches one non-empty segment */
	int (*handler)(struct req *r);
	unsigned flags;
	const char *name;        /* metrics label */
};

/* The route tables of the page families, each ended by an entry whose handler is NULL. */
extern const struct route account_routes[];   /* account.c: sign-up, login, logout */
extern const struct route settings_routes[];  /* settings.c: the account page, notice settings */
extern const struct route oauth_routes[];     /* oauth.c: Naver and Kakao login */
extern const struct route catalog_routes[];   /* catalog.c: products, popular products */
extern const struct route points_routes[];    /* points.c: balance and charges */
extern const struct route checkout_routes[];  /* checkout.c: checkout, POST /api/v1/orders */
extern const struct route pg_return_routes[]; /* pg_return.c: the PGs' return URLs */
extern const struct route cart_routes[];      /* cart.c: the cart page and /api/v1/cart */
extern const struct route orders_routes[];    /* orders.c: the order pages, my orders, cancel */
extern const struct route refunds_routes[];   /* refunds.c: shopper cancels and refunds */
extern const struct route delivery_routes[];  /* delivery.c: a shopper's return */
extern const struct route addresses_routes[]; /* addresses.c: the address book */
extern const struct route webhook_routes[];   /* webhook.c: PG status-change webhooks */
extern const struct route wallet_routes[];    /* wallet.c: a seller's wallet */
extern const struct route admin_dashboard_routes[]; /* admin_dashboard.c: the front page */
extern const struct route admin_products_routes[]; /* admin_products.c: products and stock */
extern const struct route admin_orders_routes[]; /* admin_orders.c: orders and refunds */
extern const struct route admin_fulfilment_routes[]; /* admin_fulfilment.c: the shipping queue,
                                                      * tracking numbers, bulk upload */
extern const struct route admin_money_routes[]; /* admin_money.c: sellers, wallets, payouts,
                                                 * ledger */
extern const struct route admin_reconcile_routes[]; /* admin_reconcile.c: reconciliation runs,
                                                     * started from the console */
extern const struct route admin_ops_routes[]; /* admin_ops.c: outbox, breakers */
extern const struct route admin_audit_routes[]; /* admin_audit.c: the audit log */
extern const struct route testing_routes[];   /* tests/routes/testing.c: test-only routes,
                                               * built with --enable-test-routes only */

/* Joins the core table and the families' into the one table the dispatcher reads. Call once
 * per process before route_names or route_dispatch. */
void route_init(void);

/* Writes the route table to f, one route per line, in matching order:
 * "METHOD PATTERN FLAGS NAME", FLAGS being the route's flags as lower-case words joined by
 * '+' ("json+login+csrf"). For tests/check-api-doc.sh (jangteo-fcgi --routes). Call after
 * route_init. */
void route_dump(FILE *f);

/* The number of routes, and the metrics label of each in table order. */
size_t route_count(void);
const char *const *route_names(void);

/* Handles one request from start to finish: parse, match, enforce flags, read the body, call
 * the handler, answer 500 if it failed without answering, count it in the metrics. */
void route_dispatch(struct req *r);

#endif

/* orders.h: what the order page family's three files share: fcgi/checkout.c (creating an
 * order, the PG's window), fcgi/pg_return.c (the PGs' returns) and fcgi/orders.c (the order
 * pages). */
#ifndef JT_FCGI_ORDERS_H
#define JT_FCGI_ORDERS_H

#include <stdbool.h>

struct order;
struct req;

/* Where the shopper goes to pay a PENDING PG order (Toss's payment window URL with what it
 * needs in the query, or KakaoPay's page from its ready call): NULL when there is nowhere
 * (points, or a KakaoPay order whose ready call never answered). Memory from r's arena.
 * (checkout.c) */
const char *checkout_pay_url(struct req *r, const struct order *o);

/* Takes what order o (loaded with its lines) bought out of the signed-in shopper's cart: it is
 * paid for, or its payment is under way. What the shopper added since stays. (checkout.c) */
void checkout_forget_bought(struct req *r, const struct order *o);

/* Renders the page of order o with status: the "order received" page that polls until the
 * status is final (received: the row is enough, lines and timeline are not shown), or the
 * order page (o loaded with details); notice is a line at
 * the top (error: shown as a problem), or NULL. Returns resp_page's result. (orders.c) */
int orders_page_render(struct req *r, int status, const struct order *o, bool received,
    const char *notice, bool error);

#endif

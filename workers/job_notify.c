/* job_notify: the notify job: mails the shopper in Korean that their order was paid, a refund
 * of it completed, or a seller's parcel of it was shipped or delivered (seed 002's post-order
 * notification), through the SMTP relay (lib/infra/mail).
 *
 * Delivery is at least once, not exactly once: the mail is sent, then the outbox row is
 * completed. A crash, a lost database connection or a lost claim between the relay's
 * acceptance and that completion leaves the job to run again, and the shopper may get the same
 * mail twice. (The opposite order would lose mail on a crash; a duplicate notice is the
 * cheaper failure.) A relay failure of any kind is retried with the outbox back-off; an order,
 * refund or user that no longer exists, or a shopper without a deliverable address (a social
 * login's "...@oauth.invalid" placeholder), completes the job without mail, logged.
 *
 * Product and user names come from sellers and shoppers: they are cleaned here (control bytes
 * become spaces, long names are cut at a character boundary) before they reach the subject or
 * the body, and lib/infra/mail encodes a non-ASCII subject as RFC 2047 encoded-words and refuses any
 * header value holding CR or LF, so no name can add a header or a line of its own.
 *
 * A shopper who gave a mobile number and consented to KakaoTalk 알림톡 gets the notice there
 * instead, exactly once (workers/notify_alimtalk.c, asked first); the mail is for everyone
 * else, and the fallback when the provider refuses for good. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "infra/db.h"
#include "jobs.h"
#include "infra/mail.h"
#include "infra/payload.h"
#include "base/money.h"
#include "base/text.h"
#include "shop/orders.h"
#include "shop/refunds.h"
#include "base/valid.h"
#include "shop/account.h"
#include "shop/labels.h"

/* Bytes of a product name in the subject, and of any one name in the body (a line holds at
 * most 998 bytes; the longest line is "- <name> x <qty>: <amount>원"). */
#define NOTIFY_SUBJECT_NAME_MAX 60
#define NOTIFY_BODY_NAME_MAX 300
#define NOTIFY_USER_NAME_MAX 60

/* Who the mail goes to. */
struct notify_rcpt {
	const char *email;
	const char *name;
};

/* "<first product>" or "<first product> 외 N건", cleaned and bounded by name_max. */
static void
notify_summary(struct buf *out, const char *first, size_t nlines, size_t name_max)
{
	text_clean_line(out, first, name_max, "상품");
	if (nlines > 1)
		buf_printf(out, " 외 %zu건", nlines - 1);
}

/* True when mail to addr can reach a person: a valid address outside the reserved ".invalid"
 * top-level domain (RFC 2606), where social logins without an e-mail get their placeholder. */
static bool
notify_deliverable(const char *addr)
{
	size_t n;

	if (addr == NULL || !valid_email(addr))
		return false;
	n = strlen(addr);
	return !(n >= 8 && strcasecmp(addr + n - 8, ".invalid") == 0);
}

/* The greeting and the order lines shared by both mails. */
static void
notify_head(struct buf *b, const struct notify_rcpt *r, const char *what)
{
	text_clean_line(b, r->name, NOTIFY_USER_NAME_MAX, "고객");
	buf_printf(b, "님, 안녕하세요.\n%s\n\n", what);
}

static void
notify_foot(struct buf *b, const struct conf *c, const struct order *o)
{
	buf_printf(b, "\n주문 상세 보기: %s/orders/%s\n\n", conf_str(c, CONF_SITE_BASE_URL),
	    o->public_id);
	buf_puts(b, "장터를 이용해 주셔서 감사합니다.\n"
	    "이 메일은 발신 전용입니다. 문의는 장터 고객센터를 이용해 주세요.\n");
}

/* Subject and body of the "paid" mail. */
static void
notify_paid_text(const struct conf *c, const struct order *o, const struct notify_rcpt *r,
    struct buf *subject, struct buf *body)
{
	char won[MONEY_FMT_MAX], line_won[MONEY_FMT_MAX];
	size_t i;

	buf_puts(subject, "[장터] 결제 완료: ");
	notify_summary(subject, o->nlines > 0 ? o->lines[0].name : o->order_name, o->nlines,
	    NOTIFY_SUBJECT_NAME_MAX);
	buf_printf(subject, " %s원 (주문번호 %s)", money_format(o->amount, won), o->public_id);

	notify_head(body, r, "주문하신 상품의 결제가 완료되었습니다.");
	buf_printf(body, "주문번호: %s\n", o->public_id);
	buf_puts(body, "주문상품: ");
	notify_summary(body, o->nlines > 0 ? o->lines[0].name : o->order_name, o->nlines,
	    NOTIFY_BODY_NAME_MAX);
	buf_printf(body, "\n결제수단: %s\n", orders_pay_label(o->pay));
	buf_printf(body, "결제금액: %s원\n", won);
	if (o->nlines > 0)
		buf_puts(body, "\n[주문 내역]\n");
	for (i = 0; i < o->nlines; i++) {
		buf_puts(body, "- ");
		text_clean_line(body, o->lines[i].name, NOTIFY_BODY_NAME_MAX, "상품");
		buf_printf(body, " x %d: %s원\n", o->lines[i].quantity,
		    money_format(o->lines[i].amount, line_won));
	}
	notify_foot(body, c, o);
}

/* Subject and body of the "refunded" mail. */
static void
notify_refund_text(const struct conf *c, const struct order *o, const struct refund *rf,
    const struct notify_rcpt *r, struct buf *subject, struct buf *body)
{
	char won[MONEY_FMT_MAX], line_won[MONEY_FMT_MAX], left[MONEY_FMT_MAX];
	int64_t remaining = 0;
	const char *first;
	size_t i, n;

	first = rf->nlines > 0 ? rf->lines[0].name :
	    o->nlines > 0 ? o->lines[0].name : o->order_name;
	n = rf->nlines > 0 ? rf->nlines : o->nlines;
	buf_puts(subject, "[장터] 환불 완료: ");
	notify_summary(subject, first, n, NOTIFY_SUBJECT_NAME_MAX);
	buf_printf(subject, " %s원 (주문번호 %s)", money_format(rf->amount, won), o->public_id);

	notify_head(body, r, o->pay == ORDER_PAY_POINTS ?
	    "요청하신 환불이 완료되어 포인트로 돌려드렸습니다." :
	    "요청하신 환불이 완료되었습니다. 카드사에 따라 실제 환불까지 영업일 기준 3~5일이"
	    " 걸릴 수 있습니다.");
	buf_printf(body, "주문번호: %s\n환불번호: %s\n", o->public_id, rf->public_id);
	buf_puts(body, "환불상품: ");
	notify_summary(body, first, n, NOTIFY_BODY_NAME_MAX);
	buf_printf(body, "\n환불수단: %s\n", orders_pay_label(o->pay));
	buf_printf(body, "환불금액: %s원\n", won);
	if (money_sub(o->amount, o->refunded_amount, &remaining) == 0 && remaining >= 0)
		buf_printf(body, "남은 결제금액: %s원\n", money_format(remaining, left));
	if (rf->nlines > 0)
		buf_puts(body, "\n[환불 내역]\n");
	for (i = 0; i < rf->nlines; i++) {
		buf_puts(body, "- ");
		text_clean_line(body, rf->lines[i].name, NOTIFY_BODY_NAME_MAX, "상품");
		buf_printf(body, " x %d: %s원\n", rf->lines[i].quantity,
		    money_format(rf->lines[i].amount, line_won));
	}
	notify_foot(body, c, o);
}

/* The first of order o's lines of seller_id, and how many there are. */
static const char *
seller_first(const struct order *o, int64_t seller_id, size_t *n)
{
	const char *first = NULL;
	size_t i;

	*n = 0;
	for (i = 0; i < o->nlines; i++) {
		if (o->lines[i].seller_id != seller_id)
			continue;
		if (first == NULL)
			first = o->lines[i].name;
		(*n)++;
	}
	return first != NULL ? first : o->order_name;
}

/* Subject and body of the "shipped" and "delivered" mails of one seller's parcel. */
static void
notify_parcel_text(const struct conf *c, const struct order *o, const struct payload_notify *j,
    const struct notify_rcpt *r, struct buf *subject, struct buf *body)
{
	bool shipped = j->event == PAYLOAD_EVENT_SHIPPED;
	const char *first;
	size_t i, n;

	first = seller_first(o, j->seller_id, &n);
	buf_puts(subject, shipped ? "[장터] 배송 시작: " : "[장터] 배송 완료: ");
	notify_summary(subject, first, n, NOTIFY_SUBJECT_NAME_MAX);
	buf_printf(subject, " (주문번호 %s)", o->public_id);

	notify_head(body, r, shipped ? "주문하신 상품이 발송되었습니다." :
	    "주문하신 상품의 배송이 완료되었습니다. 상품에 문제가 있으면 주문 상세에서 반품을"
	    " 신청해 주세요.");
	buf_printf(body, "주문번호: %s\n", o->public_id);
	buf_puts(body, "배송상품: ");
	notify_summary(body, first, n, NOTIFY_BODY_NAME_MAX);
	buf_puts(body, "\n");
	if (shipped)
		buf_printf(body, "택배사: %s\n운송장 번호: %s\n",
		    labels_text(LABEL_COURIER, j->courier), j->tracking_no);
	if (n > 0)
		buf_puts(body, "\n[배송 내역]\n");
	for (i = 0; i < o->nlines; i++) {
		if (o->lines[i].seller_id != j->seller_id)
			continue;
		buf_puts(body, "- ");
		text_clean_line(body, o->lines[i].name, NOTIFY_BODY_NAME_MAX, "상품");
		buf_printf(body, " x %d\n", o->lines[i].quantity - o->lines[i].canceled_quantity);
	}
	notify_foot(body, c, o);
}

/* How a job's outbox row is completed: at once (a job alone), or by the batch's one
 * statement after every job of it ran (job_notify_batch). */
struct notify_done {
	bool defer;                 /* in a batch: completion left to job_notify_batch */
	bool pending;               /* out: the job is to be completed */
};

/* Marks the job done (the mail, if any, is already sent: see the top comment), or leaves it
 * to the batch (done->defer). */
static enum job_result
notify_finish(struct job_ctx *ctx, const struct outbox_claim *claim, bool sent,
    struct notify_done *done)
{
	int rc;

	if (done->defer) {
		done->pending = true;
		return JOB_DONE;
	}
	rc = outbox_complete(ctx->db, claim);

	if (rc == 1)
		return JOB_DONE;
	if (rc == 0)
		return JOB_LOST;
	if (sent)
		log_warn(&ctx->log, "notify: mail sent but the job could not be completed; it will"
		    " run again and may send the mail twice");
	return JOB_RETRY;
}

/* Finds the refund with public id among order o's refunds. Returns 1 found, 0 none, or an
 * enum db_rc. */
static int
notify_refund_load(struct job_ctx *ctx, const struct order *o, const char *public_id,
    struct refund *out)
{
	struct refund *all = NULL;
	int64_t n, i;

	n = refunds_of_order(ctx->db, ctx->a, o->id, &all);
	if (n < 0)
		return (int)n;
	for (i = 0; i < n; i++) {
		if (strcmp(all[i].public_id, public_id) == 0) {
			*out = all[i];
			return 1;
		}
	}
	return 0;
}

/* What a notify job mails, loaded and checked. */
struct notify_mail {
	struct payload_notify job;
	bool loaded;                    /* o was loaded by the batch, load_rc its result */
	int load_rc;
	struct notify_done done;
	struct order o;
	struct refund rf;               /* PAYLOAD_EVENT_REFUNDED */
	struct account_contact contact; /* the shopper: address, name, 알림톡 number and consent */
	bool contact_loaded;            /* contact was read by the batch, contact_rc its result */
	int contact_rc;
	struct notify_rcpt rcpt;        /* in contact */
};

/* Why a notify job sends nothing, logged; the job is completed (a reason never changes). */
static enum job_result
no_mail(struct job_ctx *ctx, const struct outbox_claim *claim, struct notify_mail *m)
{
	return notify_finish(ctx, claim, false, &m->done);
}

/* Loads the order (the refund) and the recipient of job m->job. Returns true when there is a
 * mail to send; false with *res the job's result otherwise (a reason to send nothing is
 * logged and the job completed; a database failure or a refund not done yet retries). */
static bool
notify_load(struct job_ctx *ctx, const struct outbox_claim *claim, struct notify_mail *m,
    enum job_result *res)
{
	const struct payload_notify *j = &m->job;
	int rc;

	*res = JOB_RETRY;
	rc = m->loaded ? m->load_rc : orders_get_lines(ctx->db, ctx->a, j->order_id, &m->o);
	if (rc < 0)
		return false;
	if (rc == 0) {
		log_warn(&ctx->log, "notify: no order %s: no mail", j->order_id);
		*res = no_mail(ctx, claim, m);
		return false;
	}
	if (m->o.paid_at == NULL) {
		log_warn(&ctx->log, "notify: order %s was never paid (%s): no mail", m->o.public_id,
		    orders_status_name(m->o.status));
		*res = no_mail(ctx, claim, m);
		return false;
	}
	if (j->event == PAYLOAD_EVENT_REFUNDED) {
		rc = notify_refund_load(ctx, &m->o, j->refund_id, &m->rf);
		if (rc < 0)
			return false;
		if (rc == 0 || m->rf.status == REFUND_FAILED) {
			log_warn(&ctx->log, "notify: refund %s of order %s %s: no mail", j->refund_id,
			    m->o.public_id, rc == 0 ? "does not exist" : "failed");
			*res = no_mail(ctx, claim, m);
			return false;
		}
		if (m->rf.status != REFUND_DONE) {
			log_warn(&ctx->log, "notify: refund %s is not done yet; later", m->rf.public_id);
			return false;
		}
	}
	rc = m->contact_loaded ? m->contact_rc :
	    account_contact_get(ctx->db, m->o.user_id, &m->contact);
	if (rc < 0)
		return false;
	m->rcpt.email = m->contact.email;
	m->rcpt.name = m->contact.name;
	if (rc == 1) {
		/* 알림톡 first for a shopper who asked for it; the mail otherwise or after it. */
		struct notify_alimtalk_in kakao = { &m->o,
			j->event == PAYLOAD_EVENT_REFUNDED ? &m->rf : NULL, &m->contact, j };

		if (notify_alimtalk(ctx, claim, &kakao, res))
			return false;
	}
	if (rc == 0 || !notify_deliverable(m->rcpt.email)) {
		log_info(&ctx->log, "notify: order %s: the shopper %s: no mail", m->o.public_id,
		    rc == 0 ? "no longer exists" : "has no deliverable e-mail address");
		*res = no_mail(ctx, claim, m);
		return false;
	}
	return true;
}

/* Runs job m (its payload parsed; its order loaded when m->loaded), completing it at once
 * or, with m->done.defer, leaving the completion to the batch (m->done.pending). */
static enum job_result
notify_one(struct job_ctx *ctx, const struct outbox_claim *claim, struct notify_mail *mp)
{
	struct buf subject = { 0 }, body = { 0 }, check = { 0 };
	struct notify_mail m = *mp;
	const char *event;
	enum job_result res;
	enum mail_rc mrc;

	if (!notify_load(ctx, claim, &m, &res)) {
		mp->done = m.done;
		return res;
	}
	event = payload_event_name(m.job.event);
	if (m.job.event == PAYLOAD_EVENT_PAID)
		notify_paid_text(ctx->conf, &m.o, &m.rcpt, &subject, &body);
	else if (m.job.event == PAYLOAD_EVENT_REFUNDED)
		notify_refund_text(ctx->conf, &m.o, &m.rf, &m.rcpt, &subject, &body);
	else
		notify_parcel_text(ctx->conf, &m.o, &m.job, &m.rcpt, &subject, &body);
	/* A message lib/infra/mail refuses to compose would be refused on every attempt: drop it
	 * here, so only what the relay says is retried. */
	if (mail_compose(&check, conf_str(ctx->conf, CONF_SMTP_FROM), m.rcpt.email,
	    buf_cstr(&subject), buf_cstr(&body), time(NULL)) != 0) {
		log_error(&ctx->log, "notify: order %s: the %s mail cannot be composed: no mail",
		    m.o.public_id, event);
		res = notify_finish(ctx, claim, false, &m.done);
		goto out;
	}
	mrc = mail_send(ctx->conf, &ctx->log, m.rcpt.email, buf_cstr(&subject), buf_cstr(&body));
	if (mrc != MAIL_OK) {
		log_warn(&ctx->log, "notify: order %s: %s mail not sent (%s); retrying later",
		    m.o.public_id, event, mail_rc_name(mrc));
		res = JOB_RETRY;
		goto out;
	}
	log_info(&ctx->log, "notify: order %s: %s mail sent", m.o.public_id, event);
	res = notify_finish(ctx, claim, true, &m.done);
out:
	mp->done = m.done;
	buf_release(&subject);
	buf_release(&body);
	buf_release(&check);
	return res;
}

enum job_result
job_notify_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct notify_mail m;

	memset(&m, 0, sizeof(m));
	if (payload_notify_parse(ctx->a, claim->payload, &m.job) != 0) {
		log_error(&ctx->log, "notify: malformed payload");
		return JOB_RETRY;  /* kept for a person; dead after outbox.max_attempts */
	}
	return notify_one(ctx, claim, &m);
}

bool
job_notify_batch(struct job_ctx *ctx, const struct outbox_claim *claims, size_t n,
    int64_t deadline_ms, enum job_result *res)
{
	struct notify_mail *m = arena_alloc(ctx->a, n * sizeof(*m));
	const struct outbox_claim **pending = arena_alloc(ctx->a, n * sizeof(*pending));
	const char **ids = arena_alloc(ctx->a, n * sizeof(*ids));
	struct order *o = arena_alloc(ctx->a, n * sizeof(*o));
	int *found = arena_alloc(ctx->a, n * sizeof(*found));
	int64_t *users = arena_alloc(ctx->a, n * sizeof(*users));
	struct account_contact *contacts = arena_alloc(ctx->a, n * sizeof(*contacts));
	int *reached = arena_alloc(ctx->a, n * sizeof(*reached));
	size_t i, np = 0;
	char label[32];
	bool lost = false;
	int rc, crc = 0;

	/* The batch's orders and lines in two statements, their shoppers' contacts in one. */
	memset(m, 0, n * sizeof(*m));
	for (i = 0; i < n; i++)
		ids[i] = payload_notify_parse(ctx->a, claims[i].payload, &m[i].job) == 0 ?
		    m[i].job.order_id : NULL;
	rc = orders_get_lines_many(ctx->db, ctx->a, ids, n, o, found);
	if (rc == 0) {
		for (i = 0; i < n; i++)
			users[i] = found[i] ? o[i].user_id : 0;
		crc = account_contact_get_many(ctx->db, users, n, contacts, reached);
	}
	for (i = 0; i < n; i++) {
		if (!job_batch_next(ctx, &claims[i], label, deadline_ms)) {
			res[i] = JOB_UNRUN;
			continue;
		}
		if (ids[i] == NULL) {
			log_error(&ctx->log, "notify: malformed payload");
			res[i] = JOB_RETRY;  /* kept for a person; dead after outbox.max_attempts */
			continue;
		}
		m[i].loaded = true;
		m[i].load_rc = rc < 0 ? rc : found[i];
		m[i].o = o[i];
		if (rc == 0 && found[i]) {
			m[i].contact_loaded = true;
			m[i].contact_rc = crc < 0 ? crc : reached[i];
			m[i].contact = contacts[i];
		}
		m[i].done.defer = true;
		res[i] = notify_one(ctx, &claims[i], &m[i]);
		if (m[i].done.pending)
			pending[np++] = &claims[i];
	}
	ctx->log.req_id = "batch";
	if (np == 0)
		return true;
	/* Every job sent (or with nothing to send) completed by one statement. */
	rc = outbox_finish_some(ctx->db, ctx->a, pending, np, &lost);
	if (rc == 0 && !lost) {
		log_info(&ctx->log, "notify: %zu jobs of a batch of %zu completed together", np, n);
		return true;
	}
	if (rc < 0)
		log_warn(&ctx->log, "notify: %zu jobs ran but could not be completed; they will run"
		    " again and may send their mail twice", np);
	for (i = 0; i < n; i++)
		if (m[i].done.pending)
			res[i] = rc < 0 ? JOB_RETRY : JOB_LOST;
	return true;
}

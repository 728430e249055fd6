/* notify_alimtalk: the KakaoTalk 알림톡 leg of the notify job. job_notify.c asks it first; it
 * either finishes the job (the notice went, or goes later, by 알림톡) or hands the notice back
 * to the mail.
 *
 * Who gets 알림톡: a shopper with a mobile number and the consent (lib/shop/account, set on
 * /account), while 알림톡 is configured. The provider resends the text as SMS/LMS to a number
 * without KakaoTalk (lib/clients/alimtalk.h); the mail takes over when the provider refuses
 * for good, or when the outcome is still unknown (provider down, breaker open) at the job's
 * alimtalk.mail_after_attempts-th attempt.
 *
 * Exactly one message per notice, also when a worker dies mid-send:
 *  - Every try of a notice sends the same key ("paid:<orderId>", "refunded:<refundId>",
 *    "shipped:<orderId>-<sellerId>", "delivered:<orderId>-<sellerId>": one per parcel) as
 *    the provider's X-NC-API-IDEMPOTENCY-KEY: a retry after a lost answer or a killed worker
 *    (the janitor re-queues the job once its claim expires, within outbox.claim_seconds plus
 *    the back-off) is refused with -1005 and sends nothing; -1005 is taken as "sent".
 *  - The send is recorded (notify_deliveries, lib/shop/notices) in the transaction that
 *    completes the job, and read before sending: a second job for the same event, or a
 *    replay, sends nothing. A refusal is recorded before the mail goes, so a retry of the job
 *    goes straight to the mail instead of meeting -1005 on a key that sent nothing.
 *  - What is left: the provider keeps a key for 10 minutes. A worker killed after the
 *    provider took the message and before the commit, with no worker taking the job up again
 *    within 10 minutes (all workers down), makes the retry send a second message. The
 *    provider's message list can be searched by recipientGroupingKey (the same key) to close
 *    that too; not done yet.
 * Nothing here holds a transaction across the call. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/log.h"
#include "base/money.h"
#include "base/text.h"
#include "clients/alimtalk.h"
#include "infra/db.h"
#include "infra/payload.h"
#include "jobs.h"
#include "shop/account.h"
#include "shop/labels.h"
#include "shop/notices.h"
#include "shop/orders.h"
#include "shop/refunds.h"

/* Bytes of a name in a template variable (Kakao renders the template; keep lines short). */
#define ALIMTALK_NAME_MAX 60

/* This process's client, made on first use (its connection and breaker are kept). */
static struct alimtalk *notify_at;

/* "<first>" or "<first> 외 N건", cleaned and bounded, appended to out. */
static void
summary(struct buf *out, const char *first, size_t nlines)
{
	text_clean_line(out, first, ALIMTALK_NAME_MAX, "상품");
	if (nlines > 1)
		buf_printf(out, " 외 %zu건", nlines - 1);
}

/* The template variables of the notice into p (values in the bufs, which the caller
 * releases): see docs/ARCHITECTURE.md, Notify, for each template's list. Returns the count. */
static size_t
notice_params(const struct job_ctx *ctx, const struct notify_alimtalk_in *in,
    struct alimtalk_param *p, struct buf *name, struct buf *items, struct buf *url,
    char *amount)
{
	const struct order *o = in->order;
	const struct refund *rf = in->refund;
	size_t n = 0;

	text_clean_line(name, in->contact->name, ALIMTALK_NAME_MAX, "고객");
	buf_printf(url, "%s/orders/%s", conf_str(ctx->conf, CONF_SITE_BASE_URL), o->public_id);
	p[n++] = (struct alimtalk_param){ "name", buf_cstr(name) };
	p[n++] = (struct alimtalk_param){ "orderId", o->public_id };
	if (in->job->event == PAYLOAD_EVENT_SHIPPED || in->job->event == PAYLOAD_EVENT_DELIVERED) {
		const char *first = NULL;
		size_t i, k = 0;

		for (i = 0; i < o->nlines; i++) {
			if (o->lines[i].seller_id == in->job->seller_id && k++ == 0)
				first = o->lines[i].name;
		}
		summary(items, first != NULL ? first : o->order_name, k);
		p[n++] = (struct alimtalk_param){ "items", buf_cstr(items) };
		if (in->job->event == PAYLOAD_EVENT_SHIPPED) {
			p[n++] = (struct alimtalk_param){ "courier",
				labels_text(LABEL_COURIER, in->job->courier) };
			p[n++] = (struct alimtalk_param){ "trackingNo", in->job->tracking_no };
		}
		p[n++] = (struct alimtalk_param){ "url", buf_cstr(url) };
		return n;
	}
	if (rf == NULL) {
		summary(items, o->nlines > 0 ? o->lines[0].name : o->order_name, o->nlines);
		money_format(o->amount, amount);
		p[n++] = (struct alimtalk_param){ "orderName", buf_cstr(items) };
		p[n++] = (struct alimtalk_param){ "payMethod", orders_pay_label(o->pay) };
	} else {
		summary(items, rf->nlines > 0 ? rf->lines[0].name : o->nlines > 0 ?
		    o->lines[0].name : o->order_name, rf->nlines > 0 ? rf->nlines : o->nlines);
		money_format(rf->amount, amount);
		p[n++] = (struct alimtalk_param){ "refundId", rf->public_id };
		p[n++] = (struct alimtalk_param){ "items", buf_cstr(items) };
	}
	p[n++] = (struct alimtalk_param){ "amount", amount };
	p[n++] = (struct alimtalk_param){ "url", buf_cstr(url) };
	return n;
}

/* The template code setting of each notice. */
static const enum conf_key templates[PAYLOAD_EVENT__MAX] = {
	[PAYLOAD_EVENT_PAID] = CONF_ALIMTALK_TEMPLATE_PAID,
	[PAYLOAD_EVENT_REFUNDED] = CONF_ALIMTALK_TEMPLATE_REFUNDED,
	[PAYLOAD_EVENT_SHIPPED] = CONF_ALIMTALK_TEMPLATE_SHIPPED,
	[PAYLOAD_EVENT_DELIVERED] = CONF_ALIMTALK_TEMPLATE_DELIVERED,
};

/* What the notice's key names after its event: the order, the refund, or the parcel
 * ("<orderId>-<sellerId>", written into buf). */
static const char *
notice_id(const struct notify_alimtalk_in *in, char *buf, size_t cap)
{
	switch (in->job->event) {
	case PAYLOAD_EVENT_REFUNDED:
		return in->refund->public_id;
	case PAYLOAD_EVENT_SHIPPED:
	case PAYLOAD_EVENT_DELIVERED:
		snprintf(buf, cap, "%s-%" PRId64, in->order->public_id, in->job->seller_id);
		return buf;
	default:
		return in->order->public_id;
	}
}

/* The sent record and the job's completion, one transaction. */
struct sent_tx {
	const struct outbox_claim *claim;
	const char *key, *phone, *request_id;
	bool lost;
};

static int
sent_tx_fn(struct db *db, void *arg)
{
	struct sent_tx *t = arg;
	int64_t rc;

	t->lost = false;
	rc = notices_record_sent(db, t->key, NOTICES_ALIMTALK, t->phone,
	    t->request_id[0] != '\0' ? t->request_id : NULL);
	if (rc < 0 && rc != DB_DUP)
		return (int)rc;  /* DB_DUP: another job recorded this notice: completing is right */
	rc = outbox_complete(db, t->claim);
	if (rc < 0)
		return (int)rc;
	if (rc == 0) {
		t->lost = true;
		return -1;
	}
	return 0;
}

/* Records the notice as sent and completes the job. */
static enum job_result
finish_sent(struct job_ctx *ctx, const struct outbox_claim *claim, const char *key,
    const char *phone, const char *request_id)
{
	struct sent_tx t = { claim, key, phone, request_id, false };

	if (db_tx(ctx->db, sent_tx_fn, &t) == 0)
		return JOB_DONE;
	if (t.lost)
		return JOB_LOST;
	log_warn(&ctx->log, "notify: 알림톡 %s was sent but the job could not be completed; the"
	    " retry's idempotency key keeps it from being sent again", key);
	return JOB_RETRY;
}

/* Completes a job whose notice an earlier job already sent. */
static enum job_result
finish_already(struct job_ctx *ctx, const struct outbox_claim *claim, const char *key)
{
	int rc = outbox_complete(ctx->db, claim);

	log_info(&ctx->log, "notify: 알림톡 %s was sent before: nothing sent", key);
	return rc == 1 ? JOB_DONE : rc == 0 ? JOB_LOST : JOB_RETRY;
}

bool
notify_alimtalk(struct job_ctx *ctx, const struct outbox_claim *claim,
    const struct notify_alimtalk_in *in, enum job_result *res)
{
	struct buf name = { 0 }, items = { 0 }, url = { 0 };
	struct alimtalk_param params[ALIMTALK_PARAMS_MAX];
	const struct account_contact *contact = in->contact;
	struct alimtalk_result ar;
	struct alimtalk_msg m;
	char key[NOTICES_KEY_MAX + 1], amount[MONEY_FMT_MAX], parcel[NOTICES_KEY_MAX + 1];
	bool done = true;
	int rc;

	if (!alimtalk_enabled(ctx->conf))
		return false;
	if (!contact->alimtalk || contact->phone[0] == '\0')
		return false;
	if (notices_event_key(key, sizeof(key), payload_event_name(in->job->event),
	    notice_id(in, parcel, sizeof(parcel))) != 0) {
		log_error(&ctx->log, "notify: order %s: no 알림톡 key: by mail", in->order->public_id);
		return false;
	}
	rc = notices_state(ctx->db, key, NOTICES_ALIMTALK);
	if (rc < 0) {
		*res = JOB_RETRY;
		return true;
	}
	if (rc == NOTICES_SENT) {
		*res = finish_already(ctx, claim, key);
		return true;
	}
	if (rc == NOTICES_REFUSED)
		return false;

	memset(&m, 0, sizeof(m));
	m.template_code = conf_str(ctx->conf, templates[in->job->event]);
	m.recipient = contact->phone;
	m.params = params;
	m.nparams = notice_params(ctx, in, params, &name, &items, &url, amount);
	m.key = key;
	if (notify_at == NULL)
		notify_at = alimtalk_new(ctx->conf);
	alimtalk_send(notify_at, &m, &ctx->log, &ar);
	switch (ar.outcome) {
	case ALIMTALK_SENT:
	case ALIMTALK_DUPLICATE:
		log_info(&ctx->log, "notify: order %s: 알림톡 %s %s (request %s)",
		    in->order->public_id, key, ar.outcome == ALIMTALK_SENT ? "sent" :
		    "had been sent by an earlier try", ar.request_id[0] != '\0' ? ar.request_id : "-");
		*res = finish_sent(ctx, claim, key, contact->phone, ar.request_id);
		break;
	case ALIMTALK_REFUSED:
		log_warn(&ctx->log, "notify: order %s: 알림톡 %s refused (%d %s): by mail",
		    in->order->public_id, key, ar.result_code, ar.message);
		rc = notices_record_refused(ctx->db, key, NOTICES_ALIMTALK, contact->phone,
		    ar.message);
		if (rc < 0 && rc != DB_DUP)
			log_error(&ctx->log, "notify: the refusal of %s is not recorded", key);
		done = false;
		break;
	case ALIMTALK_UNKNOWN:
	case ALIMTALK_BREAKER_OPEN:
		if (claim->attempts >= conf_int(ctx->conf, CONF_ALIMTALK_MAIL_AFTER_ATTEMPTS)) {
			log_warn(&ctx->log, "notify: order %s: 알림톡 %s still %s at attempt %d: by mail",
			    in->order->public_id, key, alimtalk_outcome_name(ar.outcome),
			    claim->attempts);
			done = false;
			break;
		}
		log_info(&ctx->log, "notify: order %s: 알림톡 %s %s; retrying later",
		    in->order->public_id, key, alimtalk_outcome_name(ar.outcome));
		*res = JOB_RETRY;
		break;
	default:
		done = false;
		break;
	}
	buf_release(&name);
	buf_release(&items);
	buf_release(&url);
	return done;
}

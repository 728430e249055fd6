/* fuzz_oauth: an OAuth provider's token and profile answers through oauth_parse_token and
 * oauth_parse_profile (lib/clients/oauth.c): whatever they accept is what the sign-in code
 * relies on (a printable token; a subject of [A-Za-z0-9_-]; an e-mail that is valid_email or
 * empty; a name that is valid text or empty).
 *
 * Input: a first line "<provider> <token|profile> [status]" (provider naver or kakao, status
 * 200 when absent), then the body; without it, both parsers of both providers with 200. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/valid.h"
#include "clients/oauth.h"
#include "fuzz.h"

static const char *const providers[] = { "naver", "kakao", NULL };
static const char *const kinds[] = { "token", "profile", NULL };

static void
token(enum oauth_provider p, long status, const char *body, size_t len)
{
	char tok[OAUTH_TOKEN_MAX + 1], err[64];
	enum oauth_rc rc;
	size_t i;

	memset(tok, 'x', sizeof(tok));
	memset(err, 'x', sizeof(err));
	rc = oauth_parse_token(p, status, body, len, tok, sizeof(tok), err, sizeof(err));
	if ((unsigned)rc >= OAUTH_RC__MAX)
		abort();
	if (rc != OAUTH_OK)
		return;
	fuzz_terminated(tok, sizeof(tok));
	if (tok[0] == '\0')
		abort();
	for (i = 0; tok[i] != '\0'; i++)
		if (tok[i] < 0x21 || tok[i] > 0x7e)
			abort();
}

static void
profile(enum oauth_provider p, long status, const char *body, size_t len)
{
	struct oauth_profile pr;
	enum oauth_rc rc = oauth_parse_profile(p, status, body, len, &pr);

	if ((unsigned)rc >= OAUTH_RC__MAX)
		abort();
	if (rc != OAUTH_OK)
		return;
	fuzz_terminated(pr.subject, sizeof(pr.subject));
	fuzz_terminated(pr.email, sizeof(pr.email));
	fuzz_terminated(pr.name, sizeof(pr.name));
	if (!valid_token(pr.subject, 1, sizeof(pr.subject) - 1))
		abort();
	if (pr.email[0] != '\0' ? !valid_email(pr.email) : pr.email_verified)
		abort();
	if (pr.name[0] != '\0' && !valid_text(pr.name, strlen(pr.name), 100, false))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line, *body;
	size_t line_len, len, pos = 0;
	char *copy;
	int p, kind;
	long status;

	fuzz_split(data, size, &line, &line_len, &body, &len);
	p = fuzz_word(line, line_len, &pos, providers);
	kind = fuzz_word(line, line_len, &pos, kinds);
	status = fuzz_number(line, line_len, &pos, 200);
	copy = malloc(len > 0 ? len : 1);   /* exact size: ASan sees a read past the end */
	if (copy == NULL)
		abort();
	memcpy(copy, body, len);
	if (p >= 0 && kind >= 0) {
		if (kind == 0)
			token((enum oauth_provider)p, status, copy, len);
		else
			profile((enum oauth_provider)p, status, copy, len);
	} else {
		for (p = 0; p < OAUTH_PROVIDER__MAX; p++) {
			token((enum oauth_provider)p, 200, copy, len);
			profile((enum oauth_provider)p, 200, copy, len);
		}
	}
	free(copy);
	return 0;
}

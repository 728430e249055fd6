/* password: yescrypt hashing and constant-time verification (see password.h). */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "infra/password.h"
#include "base/valid.h"

/* A yescrypt hash of a password nobody knows, with libcrypt's default cost for "$y$"
 * (crypt_gensalt_rn with count 0 gives "j9T"), verified in place of a missing hash so that an
 * unknown account costs the same time as a wrong password. If the default cost changes, make
 * a new one: the cost is the third field. */
static const char password_dummy[] =
    "$y$j9T$h1c8kGRcTO/fAPr6ho5bc.$sGPgR8j3MVtTqwRagYDtVLv9ha9Mo.6vJBJ.paXCX92";

static const char *const password_messages[PASSWORD_POLICY__MAX] = {
	"",                                                          /* PASSWORD_OK */
	"비밀번호는 8자 이상이어야 합니다.",                         /* PASSWORD_TOO_SHORT */
	"비밀번호는 72바이트(영문 72자)를 넘을 수 없습니다.",        /* PASSWORD_TOO_LONG */
	"비밀번호에는 영문자와 숫자가 모두 포함되어야 합니다.",      /* PASSWORD_WEAK */
	"비밀번호에 사용할 수 없는 문자가 포함되어 있습니다.",       /* PASSWORD_BAD_CHARS */
};

/* struct crypt_data is 32 KiB: kept off the stack. Aborts when memory is gone. */
static struct crypt_data *
password_crypt_data(void)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));

	if (cd == NULL) {
		log_error(NULL, "password: out of memory");
		abort();
	}
	return cd;
}

enum password_policy
password_check(const char *pw, size_t len)
{
	bool letter = false, digit = false;
	size_t i;

	if (pw == NULL || len < PASSWORD_MIN_LEN)
		return PASSWORD_TOO_SHORT;
	if (len > PASSWORD_MAX_LEN)
		return PASSWORD_TOO_LONG;
	if (!valid_utf8(pw, len))
		return PASSWORD_BAD_CHARS;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];

		if (c < 0x20 || c == 0x7f)
			return PASSWORD_BAD_CHARS;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letter = true;
		else if (c >= '0' && c <= '9')
			digit = true;
	}
	return letter && digit ? PASSWORD_OK : PASSWORD_WEAK;
}

const char *
password_policy_message(enum password_policy p)
{
	if ((unsigned)p >= PASSWORD_POLICY__MAX)
		return "";
	return password_messages[p];
}

int
password_hash(const char *pw, char *out, size_t cap)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	size_t len;
	int rc = -1;

	if (cap > 0)
		out[0] = '\0';
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL) {
		log_error(NULL, "password: crypt_gensalt_rn failed");
		return -1;
	}
	cd = password_crypt_data();
	if (crypt_r(pw, setting, cd) == NULL || cd->output[0] == '*') {
		log_error(NULL, "password: crypt_r failed");
		goto out;
	}
	len = strlen(cd->output);
	if (len + 1 > cap)
		goto out;
	memcpy(out, cd->output, len + 1);
	rc = 0;
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

bool
password_verify(const char *pw, const char *hash)
{
	struct crypt_data *cd;
	const char *stored = hash;
	unsigned char diff = 0;
	size_t i, n;
	bool real = true;

	if (stored == NULL || stored[0] == '\0') {
		stored = password_dummy;
		real = false;
	}
	cd = password_crypt_data();
	if (crypt_r(pw != NULL ? pw : "", stored, cd) == NULL || cd->output[0] == '*') {
		/* A malformed stored hash: nothing matches it. */
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
		return false;
	}
	n = strlen(stored);
	if (strlen(cd->output) != n)
		diff = 1;
	else
		for (i = 0; i < n; i++)
			diff |= (unsigned char)(cd->output[i] ^ stored[i]);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return real && diff == 0;
}

/* fuzz_conf: a configuration file's bytes through conf_parse_len (lib/base/conf.c), as
 * conf_load reads a file: a refused file says why in one terminated line; an accepted one
 * answers every key with a value of its type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	char err[512];
	int k;

	memset(err, 'x', sizeof(err));
	c = conf_parse_len((const char *)data, size, err, sizeof(err));
	fuzz_terminated(err, sizeof(err));
	if (c == NULL) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	for (k = 0; k < CONF__MAX; k++) {
		switch (conf_key_type((enum conf_key)k)) {
		case CONF_T_STR:
			if (conf_str(c, (enum conf_key)k) == NULL)
				abort();
			break;
		case CONF_T_INT:
			(void)conf_int(c, (enum conf_key)k);
			break;
		case CONF_T_BOOL:
			(void)conf_bool(c, (enum conf_key)k);
			break;
		}
	}
	conf_free(&c);
	if (c != NULL)
		abort();
	return 0;
}

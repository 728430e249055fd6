/* fuzz_tmpl: feeds the input as a template to tmpl_set_from_strings and renders what loads. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "infra/tmpl.h"

/* A fixed context with a value of every kind the engine distinguishes. */
static const char fuzz_tmpl_ctx[] =
    "{\"name\":\"<kim & 'lee'>\",\"n\":0,\"won\":1234567,\"neg\":-5000,\"t\":true,"
    "\"f\":false,\"nil\":null,\"s\":\"\",\"zero\":\"0\",\"d\":1.5,\"empty\":[],\"eo\":{},"
    "\"items\":[{\"name\":\"a\",\"price\":100,\"tags\":[\"x\",\"<y>\"]},"
    "{\"name\":\"b\",\"price\":-5,\"tags\":[]},7,\"str\",null],"
    "\"obj\":{\"a\":{\"b\":\"c\"},\"d\":[1,2]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer entry point: never fails; crashes and sanitizer reports are the findings. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_object *ctx;
	const char *names[] = { "page", "part" };
	const char *texts[2];
	struct tmpl_set *set;
	struct buf out;
	char err[256], *text;

	if (ctx == NULL) {
		ctx = json_tokener_parse(fuzz_tmpl_ctx);
		if (ctx == NULL)
			abort();
	}
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	texts[0] = text;
	texts[1] = "<b>{{name}}</b>{{#each items}}{{@index}}{{/each}}";

	err[0] = '\0';
	set = tmpl_set_from_strings(names, texts, 2, err, sizeof(err));
	if (set == NULL) {
		/* A refused template always says why, as "page:line: reason". */
		if (strncmp(err, "page", 4) != 0)
			abort();
		goto out;
	}
	buf_init(&out);
	tmpl_render_err(set, NULL, "page", ctx, &out, err, sizeof(err));
	buf_reset(&out);
	tmpl_render_err(set, "page", "part", ctx, &out, err, sizeof(err));
	buf_release(&out);
	tmpl_set_free(&set);
out:
	free(text);
	return 0;
}

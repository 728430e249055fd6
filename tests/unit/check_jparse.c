/* check_jparse: strict JSON parsing refuses everything RFC 8259 or our caps refuse, and the
 * typed readers return exact values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jparse.h"
#include "suites.h"

/* Parses the C string s with generous caps and returns the verdict, dropping the object. */
static enum jparse_err
verdict(const char *s)
{
	struct json_object *o = (struct json_object *)1;
	enum jparse_err err = jparse(s, strlen(s), 1 << 20, 32, &o);

	if (err != JPARSE_OK)
		ck_assert_ptr_null(o);
	json_object_put(o);
	return err;
}

/* Same, for a literal with embedded NULs. */
#define VERDICT_N(lit) verdict_n((lit), sizeof(lit) - 1)

static enum jparse_err
verdict_n(const char *s, size_t len)
{
	struct json_object *o = NULL;
	enum jparse_err err = jparse(s, len, 1 << 20, 32, &o);

	json_object_put(o);
	return err;
}

/* n levels of arrays (open == '[') or objects {"k": ...} around 0. Caller frees. */
static char *
nested(int n, char open)
{
	size_t cap = (size_t)n * 6 + 2, i = 0;
	char *s = malloc(cap);
	int k;

	ck_assert_ptr_nonnull(s);
	for (k = 0; k < n; k++) {
		if (open == '[') {
			s[i++] = '[';
		} else {
			memcpy(s + i, "{\"k\":", 5);
			i += 5;
		}
	}
	s[i++] = '0';
	for (k = 0; k < n; k++)
		s[i++] = open == '[' ? ']' : '}';
	s[i] = '\0';
	return s;
}

START_TEST(test_jparse_good)
{
	struct json_object *o = NULL, *v;
	const char *text = " {\"name\":\"장터\",\"qty\":3,\"ok\":true,\"list\":[1,2.5,-0,1e3,null],"
	    "\"esc\":\"\\u00e9\\ud83d\\ude00\\n\\\"\\/\"} ";

	ck_assert_int_eq(jparse(text, strlen(text), 1024, 2, &o), JPARSE_OK);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert(json_object_object_get_ex(o, "esc", &v));
	ck_assert_str_eq(json_object_get_string(v), "é😀\n\"/");
	ck_assert(json_object_object_get_ex(o, "list", &v));
	ck_assert_uint_eq(json_object_array_length(v), 5);
	json_object_put(o);

	ck_assert_int_eq(verdict("0"), JPARSE_OK);
	ck_assert_int_eq(verdict("-1.5e-3"), JPARSE_OK);
	ck_assert_int_eq(verdict("\"\""), JPARSE_OK);
	ck_assert_int_eq(verdict("[]"), JPARSE_OK);
	ck_assert_int_eq(verdict("{}"), JPARSE_OK);
	ck_assert_int_eq(verdict("\t\r\n true \n"), JPARSE_OK);
	ck_assert_int_eq(verdict("9223372036854775807"), JPARSE_OK);
	ck_assert_int_eq(verdict("-9223372036854775808"), JPARSE_OK);
	ck_assert_int_eq(verdict("12345678901234567890.5"), JPARSE_OK);
	ck_assert_int_eq(verdict("1e400"), JPARSE_OK);
	/* Keys that differ only after decoding escapes are different keys. */
	ck_assert_int_eq(verdict("{\"a\":1,\"A\":2,\"ab\":3,\"a\\u0062c\":4}"), JPARSE_OK);
	/* Same key in sibling and nested objects is fine. */
	ck_assert_int_eq(verdict("{\"a\":{\"a\":1},\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":1}]}"),
	    JPARSE_OK);

	o = (struct json_object *)1;
	ck_assert_int_eq(jparse("null", 4, 10, 1, &o), JPARSE_OK);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(test_jparse_empty_and_size)
{
	struct json_object *o = (struct json_object *)1;

	ck_assert_int_eq(jparse("", 0, 10, 4, &o), JPARSE_EMPTY);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(jparse(NULL, 0, 10, 4, &o), JPARSE_EMPTY);
	ck_assert_int_eq(jparse("[1,2,3]", 7, 7, 4, &o), JPARSE_OK);
	json_object_put(o);
	o = (struct json_object *)1;
	ck_assert_int_eq(jparse("[1,2,3]", 7, 6, 4, &o), JPARSE_TOO_BIG);
	ck_assert_ptr_null(o);
	/* Only len bytes are read: a valid prefix parses, the rest is never looked at. */
	ck_assert_int_eq(jparse("[1]garbage", 3, 100, 4, &o), JPARSE_OK);
	json_object_put(o);
	/* Truncated input. */
	ck_assert_int_eq(jparse("[1,2,3]", 6, 100, 4, &o), JPARSE_SYNTAX);
	ck_assert_int_eq(jparse("{\"a\":1}", 6, 100, 4, &o), JPARSE_SYNTAX);
	ck_assert_int_eq(jparse("\"abc\"", 4, 100, 4, &o), JPARSE_SYNTAX);
	ck_assert_int_eq(jparse("true", 3, 100, 4, &o), JPARSE_SYNTAX);
	ck_assert_int_eq(jparse("\"\\u00e9\"", 6, 100, 4, &o), JPARSE_SYNTAX);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(test_jparse_syntax)
{
	static const char *const bad[] = {
		" ", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\" 1}", "{a:1}",
		"{'a':1}", "['a']", "[1 2]", "[1]]", "[[1]", "{}}", "1 2", "[1] x", "[1]/* c */",
		"// c\n1", "#1", "NaN", "Infinity", "-Infinity", "nul", "True", "nulll", "+1",
		"01", "-01", "00", "1.", ".5", "1.e3", "1e", "1e+", "-", "--1", "0x10", "1_000",
		"\"\\x41\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\U0041\"", "\"\\a\"", "\"a\tb\"",
		"\"a\nb\"", "\"\\\"", "\"abc", "\x0c" "1", "[1,\x0b" "2]", "\xef\xbb\xbf" "1",
		"{\"a\":1 \"b\":2}", "[\"a\":1]", "{\"a\":[}]", "9223372036854775808",
		"-9223372036854775809", "18446744073709551616", "[99999999999999999999999]",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(verdict(bad[i]) == JPARSE_SYNTAX, "%zu: \"%s\" gave %d", i, bad[i],
		    verdict(bad[i]));
}
END_TEST

START_TEST(test_jparse_utf8)
{
	ck_assert_int_eq(VERDICT_N("\"\xc0\x80\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("\"\xed\xa0\x80\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("\"\xf5\x80\x80\x80\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("\"\xe2\x82\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("\"\xff\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("{\"\xc3\":1}"), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("\"a\x00" "b\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("[1]\x00"), JPARSE_BAD_UTF8);
	ck_assert_int_eq(VERDICT_N("\x00"), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"a\\u0000b\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("{\"\\u0000\":1}"), JPARSE_BAD_UTF8);
	/* Lone and misordered surrogates. */
	ck_assert_int_eq(verdict("\"\\ud800\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"\\udbff\\u0041\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"\\ud800\\ud800\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"\\udc00\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"\\ude00\\ud83d\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"\\ud83d\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"\\ud83dx\""), JPARSE_BAD_UTF8);
	ck_assert_int_eq(verdict("\"\\uD83D\\uDE00\""), JPARSE_OK);
	ck_assert_int_eq(verdict("\"\\uffff\""), JPARSE_OK);
}
END_TEST

START_TEST(test_jparse_dup_keys)
{
	ck_assert_int_eq(verdict("{\"a\":1,\"a\":2}"), JPARSE_DUP_KEY);
	ck_assert_int_eq(verdict("{\"a\":1,\"b\":2,\"c\":3,\"b\":4}"), JPARSE_DUP_KEY);
	ck_assert_int_eq(verdict("{\"a\":1,\"\\u0061\":2}"), JPARSE_DUP_KEY);
	ck_assert_int_eq(verdict("{\"\\/\":1,\"/\":2}"), JPARSE_DUP_KEY);
	ck_assert_int_eq(verdict("{\"😀\":1,\"\\ud83d\\ude00\":2}"), JPARSE_DUP_KEY);
	ck_assert_int_eq(verdict("{\"\":1,\"\":2}"), JPARSE_DUP_KEY);
	ck_assert_int_eq(verdict("[{\"x\":{\"y\":1,\"y\":1}}]"), JPARSE_DUP_KEY);
	ck_assert_int_eq(verdict("{\"o\":{\"a\":1},\"o\":{\"a\":1}}"), JPARSE_DUP_KEY);
	/* Keys of a closed inner object do not leak into the outer one. */
	ck_assert_int_eq(verdict("{\"in\":{\"a\":1,\"b\":2},\"a\":3,\"b\":4}"), JPARSE_OK);
	ck_assert_int_eq(verdict("{\"a\":{\"b\":{\"c\":1}},\"b\":1,\"c\":{\"a\":1,\"b\":1}}"),
	    JPARSE_OK);
}
END_TEST

START_TEST(test_jparse_many_keys)
{
	struct json_object *o = NULL;
	size_t i, n = 5000;
	char *s = malloc(n * 16 + 16), *p = s;

	ck_assert_ptr_nonnull(s);
	*p++ = '{';
	for (i = 0; i < n; i++)
		p += snprintf(p, 16, "%s\"k%zu\":%zu", i == 0 ? "" : ",", i, i);
	*p++ = '}';
	ck_assert_int_eq(jparse(s, (size_t)(p - s), 1 << 20, 2, &o), JPARSE_OK);
	ck_assert_int_eq(json_object_object_length(o), 5000);
	json_object_put(o);
	/* The same with key 0 repeated at the very end. */
	p[-1] = ',';
	p += snprintf(p, 16, "\"k0\":1}");
	ck_assert_int_eq(jparse(s, (size_t)(p - s), 1 << 20, 2, &o), JPARSE_DUP_KEY);
	ck_assert_ptr_null(o);
	free(s);
}
END_TEST

START_TEST(test_jparse_depth)
{
	struct json_object *o = NULL;
	char *s;
	int max;

	for (max = 1; max <= 40; max += 13) {
		s = nested(max, '[');
		ck_assert_int_eq(jparse(s, strlen(s), 1 << 20, max, &o), JPARSE_OK);
		json_object_put(o);
		ck_assert_int_eq(jparse(s, strlen(s), 1 << 20, max - 1, &o), JPARSE_TOO_DEEP);
		ck_assert_ptr_null(o);
		free(s);
		s = nested(max, '{');
		ck_assert_int_eq(jparse(s, strlen(s), 1 << 20, max, &o), JPARSE_OK);
		json_object_put(o);
		ck_assert_int_eq(jparse(s, strlen(s), 1 << 20, max - 1, &o), JPARSE_TOO_DEEP);
		free(s);
	}
	/* Empty containers count too. */
	ck_assert_int_eq(jparse("[[]]", 4, 100, 2, &o), JPARSE_OK);
	json_object_put(o);
	ck_assert_int_eq(jparse("[[]]", 4, 100, 1, &o), JPARSE_TOO_DEEP);
	ck_assert_int_eq(jparse("{}", 2, 100, 0, &o), JPARSE_TOO_DEEP);
	ck_assert_int_eq(jparse("1", 1, 100, 0, &o), JPARSE_OK);
	json_object_put(o);
	/* Depth is the nesting, not the number of containers. */
	ck_assert_int_eq(jparse("[[],[],{}]", 10, 100, 2, &o), JPARSE_OK);
	json_object_put(o);
	/* 100000 levels against a cap of 64: refused quickly, no recursion. */
	s = nested(100000, '[');
	ck_assert_int_eq(jparse(s, strlen(s), 1 << 20, 64, &o), JPARSE_TOO_DEEP);
	free(s);
	/* A huge cap does not make json-c allocate a huge stack: it gets the depth seen. */
	s = nested(5000, '[');
	ck_assert_int_eq(jparse(s, strlen(s), 1 << 20, 1 << 30, &o), JPARSE_OK);
	json_object_put(o);
	free(s);
}
END_TEST

START_TEST(test_jparse_int64)
{
	struct json_object *o = NULL;
	const char *text = "{\"n\":42,\"neg\":-7,\"big\":9223372036854775807,"
	    "\"small\":-9223372036854775808,\"f\":1.0,\"e\":1e3,\"s\":\"1\",\"b\":true,\"z\":null,"
	    "\"nz\":-0,\"arr\":[1]}";
	int64_t v = 5;

	ck_assert_int_eq(jparse(text, strlen(text), 1024, 4, &o), JPARSE_OK);
	ck_assert_int_eq(jparse_int64(o, "n", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(jparse_int64(o, "neg", -10, 10, &v), 0);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(jparse_int64(o, "big", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_int_eq(jparse_int64(o, "small", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MIN);
	ck_assert_int_eq(jparse_int64(o, "nz", -1, 1, &v), 0);
	ck_assert_int_eq(v, 0);
	v = 5;
	ck_assert_int_eq(jparse_int64(o, "n", 0, 41, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "n", 43, 100, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "big", INT64_MIN, INT64_MAX - 1, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "f", 0, 100, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "e", 0, 10000, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "s", 0, 100, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "b", 0, 100, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "z", 0, 100, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "arr", 0, 100, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "missing", 0, 100, &v), 1);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(jparse_int64(NULL, "n", 0, 100, &v), -1);
	json_object_put(o);

	/* An array is not an object. */
	ck_assert_int_eq(jparse("[1]", 3, 100, 4, &o), JPARSE_OK);
	ck_assert_int_eq(jparse_int64(o, "n", 0, 100, &v), -1);
	json_object_put(o);

	/* A uint64 built by other code is not an int64. */
	o = json_object_new_object();
	json_object_object_add(o, "u", json_object_new_uint64(UINT64_C(9223372036854775808)));
	json_object_object_add(o, "m", json_object_new_uint64(UINT64_C(9223372036854775807)));
	ck_assert_int_eq(jparse_int64(o, "u", INT64_MIN, INT64_MAX, &v), -1);
	ck_assert_int_eq(jparse_int64(o, "m", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
	json_object_put(o);
}
END_TEST

START_TEST(test_jparse_string_bool)
{
	struct json_object *o = NULL;
	const char *text = "{\"s\":\"주문\",\"e\":\"\",\"n\":1,\"t\":true,\"f\":false,\"z\":null,"
	    "\"st\":\"true\"}";
	const char *sv = "unset";
	int b = 7;

	ck_assert_int_eq(jparse(text, strlen(text), 1024, 4, &o), JPARSE_OK);
	ck_assert_int_eq(jparse_string(o, "s", 6, &sv), 0);
	ck_assert_str_eq(sv, "주문");
	ck_assert_int_eq(jparse_string(o, "e", 0, &sv), 0);
	ck_assert_str_eq(sv, "");
	sv = "unset";
	ck_assert_int_eq(jparse_string(o, "s", 5, &sv), -1);
	ck_assert_int_eq(jparse_string(o, "n", 10, &sv), -1);
	ck_assert_int_eq(jparse_string(o, "z", 10, &sv), -1);
	ck_assert_int_eq(jparse_string(o, "t", 10, &sv), -1);
	ck_assert_int_eq(jparse_string(o, "nope", 10, &sv), 1);
	ck_assert_str_eq(sv, "unset");
	ck_assert_int_eq(jparse_bool(o, "t", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(jparse_bool(o, "f", &b), 0);
	ck_assert_int_eq(b, 0);
	b = 7;
	ck_assert_int_eq(jparse_bool(o, "n", &b), -1);
	ck_assert_int_eq(jparse_bool(o, "st", &b), -1);
	ck_assert_int_eq(jparse_bool(o, "z", &b), -1);
	ck_assert_int_eq(jparse_bool(o, "nope", &b), 1);
	ck_assert_int_eq(b, 7);
	json_object_put(o);
}
END_TEST

START_TEST(test_jparse_strerror)
{
	ck_assert_str_eq(jparse_strerror(JPARSE_OK), "ok");
	ck_assert_str_eq(jparse_strerror(JPARSE_DUP_KEY), "duplicate key in JSON object");
	ck_assert_str_eq(jparse_strerror(JPARSE_TOO_DEEP), "JSON nested too deeply");
	ck_assert_str_eq(jparse_strerror(JPARSE__MAX), "unknown error");
	ck_assert_str_eq(jparse_strerror((enum jparse_err)-1), "unknown error");
}
END_TEST

/* The strict JSON suite. */
START_TEST(test_jparse_only_keys)
{
	static const char *const allowed[] = { "a", "b", NULL };
	static const char *const none[] = { NULL };
	struct json_object *o = NULL;

	ck_assert_int_eq(jparse("{\"a\":1,\"b\":2}", 13, 100, 4, &o), JPARSE_OK);
	ck_assert_int_eq(jparse_only_keys(o, allowed), 0);
	ck_assert_int_eq(jparse_only_keys(o, none), -1);
	json_object_put(o);
	ck_assert_int_eq(jparse("{\"a\":1,\"c\":2}", 13, 100, 4, &o), JPARSE_OK);
	ck_assert_int_eq(jparse_only_keys(o, allowed), -1);
	json_object_put(o);
	ck_assert_int_eq(jparse("{}", 2, 100, 4, &o), JPARSE_OK);
	ck_assert_int_eq(jparse_only_keys(o, none), 0);
	json_object_put(o);
	ck_assert_int_eq(jparse("[1]", 3, 100, 4, &o), JPARSE_OK);
	ck_assert_int_eq(jparse_only_keys(o, allowed), -1);
	json_object_put(o);
	ck_assert_int_eq(jparse_only_keys(NULL, allowed), -1);
}
END_TEST

Suite *
jparse_suite(void)
{
	Suite *s = suite_create("jparse");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_jparse_good);
	tcase_add_test(tc, test_jparse_empty_and_size);
	tcase_add_test(tc, test_jparse_syntax);
	tcase_add_test(tc, test_jparse_utf8);
	tcase_add_test(tc, test_jparse_dup_keys);
	tcase_add_test(tc, test_jparse_many_keys);
	tcase_add_test(tc, test_jparse_depth);
	tcase_add_test(tc, test_jparse_int64);
	tcase_add_test(tc, test_jparse_string_bool);
	tcase_add_test(tc, test_jparse_strerror);
	tcase_add_test(tc, test_jparse_only_keys);
	suite_add_tcase(s, tc);
	return s;
}

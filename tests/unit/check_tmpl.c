/* check_tmpl: the template engine, from syntax errors with their line to exact rendered bytes. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "suites.h"
#include "infra/tmpl.h"

#define HOSTILE_ESC "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;x&#39;;"

/* Loads the n templates or fails the test with the loader's message. */
static struct tmpl_set *
load(const char *const *names, const char *const *texts, size_t n)
{
	char err[256] = "";
	struct tmpl_set *set = tmpl_set_from_strings(names, texts, n, err, sizeof(err));

	ck_assert_msg(set != NULL, "load failed: %s", err);
	return set;
}

/* Renders name (inside layout unless NULL) against the JSON text ctx and returns the output
 * (free it), or NULL on a render error with its message in err. */
static char *
render(const struct tmpl_set *set, const char *layout, const char *name, const char *ctx,
    char *err, size_t err_len)
{
	struct json_object *root = json_tokener_parse(ctx);
	struct buf out;
	char *s = NULL;

	ck_assert_msg(root != NULL, "bad test JSON: %s", ctx);
	buf_init(&out);
	if (tmpl_render_err(set, layout, name, root, &out, err, err_len) == 0)
		s = buf_steal(&out);
	buf_release(&out);
	json_object_put(root);
	return s;
}

/* One template "t" rendered against ctx must give exactly want. */
static void
expect(const char *text, const char *ctx, const char *want)
{
	const char *names[] = { "t" };
	struct tmpl_set *set = load(names, &text, 1);
	char err[256] = "";
	char *got = render(set, NULL, "t", ctx, err, sizeof(err));

	ck_assert_msg(got != NULL, "render of %s failed: %s", text, err);
	ck_assert_str_eq(got, want);
	free(got);
	tmpl_set_free(&set);
	ck_assert_ptr_null(set);
}

/* One template "t" must load but fail to render against ctx with message want. */
static void
expect_render_error(const char *text, const char *ctx, const char *want)
{
	const char *names[] = { "t" };
	struct tmpl_set *set = load(names, &text, 1);
	char err[256] = "";
	char *got = render(set, NULL, "t", ctx, err, sizeof(err));

	ck_assert_msg(got == NULL, "render of %s gave \"%s\"", text, got);
	ck_assert_str_eq(err, want);
	tmpl_set_free(&set);
}

/* Templates names/texts must be refused at load time with message want. */
static void
expect_load_error_n(const char *const *names, const char *const *texts, size_t n,
    const char *want)
{
	char err[256] = "";
	struct tmpl_set *set = tmpl_set_from_strings(names, texts, n, err, sizeof(err));

	ck_assert_msg(set == NULL, "loaded: %s", texts[0]);
	ck_assert_str_eq(err, want);
}

static void
expect_load_error(const char *text, const char *want)
{
	const char *names[] = { "t" };

	expect_load_error_n(names, &text, 1, want);
}

START_TEST(test_escape_text_and_attribute)
{
	expect("<p>{{s}}</p><input value=\"{{s}}\">", "{\"s\":\"" "<script>alert(1)</script>"
	    "\\\"'&x';\"}",
	    "<p>" HOSTILE_ESC "</p><input value=\"" HOSTILE_ESC "\">");
	expect("<a title=\"{{t}}\">", "{\"t\":\"\\\" onmouseover=\\\"alert(1)\"}",
	    "<a title=\"&quot; onmouseover=&quot;alert(1)\">");
	expect("{{a.b}}", "{\"a\":{\"b\":\"&amp;\"}}", "&amp;amp;");
}
END_TEST

START_TEST(test_raw_is_not_escaped)
{
	expect("{{raw html}}|{{html}}", "{\"html\":\"<b>x&amp;y</b>\"}",
	    "<b>x&amp;y</b>|&lt;b&gt;x&amp;amp;y&lt;/b&gt;");
}
END_TEST

START_TEST(test_scalars)
{
	expect("[{{i}}][{{neg}}][{{big}}][{{t}}][{{f}}][{{n}}][{{missing}}][{{a.missing.b}}]",
	    "{\"i\":42,\"neg\":-7,\"big\":9223372036854775807,\"t\":true,\"f\":false,"
	    "\"n\":null,\"a\":{}}",
	    "[42][-7][9223372036854775807][true][false][][][]");
	expect("{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep");
	expect("{{.}}", "\"root string\"", "root string");
	expect("no tags at all", "{}", "no tags at all");
	expect("", "{}", "");
}
END_TEST

START_TEST(test_whitespace_comments_and_stray_braces)
{
	expect("{{  name\t}}|{{\n# if \r\n ok }}y{{ / if }}|{{ won   n }}",
	    "{\"name\":\"kim\",\"ok\":1,\"n\":1000}", "kim|y|1,000");
	expect("a{{! a comment with {{braces }}b", "{}", "ab");
	expect("a{{!}}b{{! multi\nline }}c", "{}", "abc");
	expect("}} and } and { alone", "{}", "}} and } and { alone");
	expect("x}}{{v}}}}", "{\"v\":1}", "x}}1}}");
}
END_TEST

START_TEST(test_each)
{
	expect("<ul>{{#each items}}<li>{{@index}}:{{name}}</li>{{/each}}</ul>",
	    "{\"items\":[{\"name\":\"a<\"},{\"name\":\"b\"},{\"name\":\"c\"}]}",
	    "<ul><li>0:a&lt;</li><li>1:b</li><li>2:c</li></ul>");
	expect("{{#each xs}}[{{.}}]{{/each}}", "{\"xs\":[\"<i>\",2,true,null]}",
	    "[&lt;i&gt;][2][true][]");
	expect("{{#each xs}}x{{else}}empty{{/each}}", "{\"xs\":[]}", "empty");
	expect("{{#each xs}}x{{else}}empty{{/each}}", "{}", "empty");
	expect("{{#each xs}}x{{else}}empty{{/each}}", "{\"xs\":null}", "empty");
	expect("{{#each xs}}{{.}}{{else}}empty{{/each}}", "{\"xs\":[1,2]}", "12");
	expect("{{#each xs}}x{{/each}}", "{\"xs\":[]}", "");
}
END_TEST

START_TEST(test_nested_each_outer_lookup)
{
	/* "title" is found on the order, "shop" only at the root, "name" on the line; an inner
	 * value shadows an outer one of the same name; @index is the innermost loop's. */
	expect("{{#each orders}}{{title}}:{{#each lines}}{{@index}}{{name}}@{{title}}/{{shop}};"
	    "{{/each}}{{@index}}|{{/each}}",
	    "{\"shop\":\"S\",\"orders\":["
	    "{\"title\":\"o1\",\"lines\":[{\"name\":\"x\"},{\"name\":\"y\",\"title\":\"own\"}]},"
	    "{\"title\":\"o2\",\"lines\":[]}]}",
	    "o1:0x@o1/S;1y@own/S;0|o2:1|");
	/* A member that is present but null stops the outward search. */
	expect("{{#each xs}}[{{v}}]{{/each}}", "{\"v\":\"root\",\"xs\":[{\"v\":null},{}]}",
	    "[][root]");
	/* Items that are not objects: lookup goes straight outward. */
	expect("{{#each xs}}{{.}}{{sep}}{{/each}}", "{\"sep\":\",\",\"xs\":[1,2]}", "1,2,");
}
END_TEST

START_TEST(test_truthiness)
{
	static const struct {
		const char *value;
		const char *want;
	} table[] = {
		{ "0", "F" }, { "\"\"", "F" }, { "[]", "F" }, { "{}", "F" }, { "false", "F" },
		{ "null", "F" }, { "1", "T" }, { "-1", "T" }, { "\"0\"", "T" }, { "\"x\"", "T" },
		{ "[0]", "T" }, { "{\"a\":0}", "T" }, { "true", "T" }, { "\"false\"", "T" },
	};
	char ctx[64], want[8];
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		snprintf(ctx, sizeof(ctx), "{\"v\":%s}", table[i].value);
		expect("{{#if v}}T{{else}}F{{/if}}", ctx, table[i].want);
		snprintf(want, sizeof(want), "%s", table[i].want[0] == 'T' ? "" : "F");
		expect("{{#unless v}}F{{/unless}}", ctx, want);
		expect("{{#unless v}}F{{else}}T{{/unless}}", ctx, table[i].want);
	}
	expect("{{#if missing}}T{{else}}F{{/if}}", "{}", "F");
	expect("{{#if a.b}}T{{else}}F{{/if}}", "{\"a\":{\"b\":1}}", "T");
	expect("{{#if v}}T{{/if}}", "{\"v\":0}", "");
}
END_TEST

START_TEST(test_includes)
{
	const char *names[] = { "page", "row", "money" };
	const char *texts[] = {
		"<table>{{#each items}}{{> row}}{{/each}}</table>{{> money}}",
		"<tr><td>{{@index}}</td><td>{{name}}</td><td>{{> money }}</td></tr>",
		"{{won price}}원",
	};
	struct tmpl_set *set = load(names, texts, 3);
	char err[256] = "";
	char *got;

	ck_assert(tmpl_exists(set, "page"));
	ck_assert(tmpl_exists(set, "row"));
	ck_assert(!tmpl_exists(set, "nope"));
	ck_assert(!tmpl_exists(set, "pag"));
	got = render(set, NULL, "page",
	    "{\"price\":500,\"items\":[{\"name\":\"<a>\",\"price\":12000},{\"name\":\"b\"}]}",
	    err, sizeof(err));
	ck_assert_msg(got != NULL, "%s", err);
	ck_assert_str_eq(got, "<table><tr><td>0</td><td>&lt;a&gt;</td><td>12,000원</td></tr>"
	    "<tr><td>1</td><td>b</td><td>500원</td></tr></table>500원");
	free(got);
	got = render(set, NULL, "nope", "{}", err, sizeof(err));
	ck_assert_ptr_null(got);
	ck_assert_str_eq(err, "no template \"nope\"");
	tmpl_set_free(&set);
	tmpl_set_free(&set);
}
END_TEST

START_TEST(test_layout_yield)
{
	const char *names[] = { "layout", "home", "nav", "badlayout" };
	const char *texts[] = {
		"<title>{{title}}</title>{{> nav}}<main>{{yield}}</main>",
		"<h1>{{title}}</h1>{{#each xs}}{{.}}{{/each}}",
		"<nav>{{user}}</nav>",
		"{{yield}}\n{{@index}}",
	};
	struct tmpl_set *set = load(names, texts, 4);
	struct json_object *ctx = json_tokener_parse(
	    "{\"title\":\"A&B\",\"user\":\"<kim>\",\"xs\":[1,2]}");
	struct buf out;
	char err[256] = "";

	buf_init(&out);
	buf_puts(&out, "HTTP body: ");
	ck_assert_int_eq(tmpl_render_layout(set, "layout", "home", ctx, &out), 0);
	ck_assert_str_eq(buf_cstr(&out), "HTTP body: <title>A&amp;B</title><nav>&lt;kim&gt;</nav>"
	    "<main><h1>A&amp;B</h1>12</main>");
	/* The page body is not escaped a second time, and yield outside a layout fails. */
	buf_reset(&out);
	ck_assert_int_eq(tmpl_render(set, "layout", ctx, &out), -1);
	ck_assert_int_eq(tmpl_render_err(set, NULL, "layout", ctx, &out, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "layout:1: {{yield}}: not rendered as a layout");
	buf_reset(&out);
	ck_assert_int_eq(tmpl_render(set, "home", ctx, &out), 0);
	ck_assert_str_eq(buf_cstr(&out), "<h1>A&amp;B</h1>12");
	ck_assert_int_eq(tmpl_render_err(set, "badlayout", "home", ctx, &out, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "badlayout:2: {{@index}}: outside #each");
	ck_assert_int_eq(tmpl_render_layout(set, "missing", "home", ctx, &out), -1);
	ck_assert_int_eq(tmpl_render_layout(set, "layout", "missing", ctx, &out), -1);
	buf_release(&out);
	json_object_put(ctx);
	tmpl_set_free(&set);
}
END_TEST

START_TEST(test_won)
{
	expect("{{won a}}|{{won b}}|{{won c}}|{{won d}}|{{won e}}",
	    "{\"a\":0,\"b\":1000,\"c\":1234567,\"d\":-5000,\"e\":999}",
	    "0|1,000|1,234,567|-5,000|999");
	expect("{{#each xs}}{{won .}} {{/each}}", "{\"xs\":[1000000000000000,-1]}",
	    "1,000,000,000,000,000 -1 ");
	expect_render_error("{{won p}}", "{\"p\":\"1000\"}", "t:1: {{won p}}: not an integer amount");
	expect_render_error("\n{{won p}}", "{}", "t:2: {{won p}}: not an integer amount");
	expect_render_error("{{won p}}", "{\"p\":10.5}", "t:1: {{won p}}: not an integer amount");
}
END_TEST

START_TEST(test_render_errors)
{
	expect_render_error("a\nb {{price}}", "{\"price\":1.5}",
	    "t:2: {{price}}: a double (amounts and counts must be integers)");
	expect_render_error("{{o}}", "{\"o\":{\"a\":1}}",
	    "t:1: {{o}}: an object or array cannot be printed");
	expect_render_error("{{raw o.a}}", "{\"o\":{\"a\":[1]}}",
	    "t:1: {{raw o.a}}: an object or array cannot be printed");
	expect_render_error("{{.}}", "{}", "t:1: {{.}}: an object or array cannot be printed");
	expect_render_error("{{#if d}}x{{/if}}", "{\"d\":0.0}",
	    "t:1: {{#if d}}: a double (amounts and counts must be integers)");
	expect_render_error("{{#each s}}x{{/each}}", "{\"s\":\"abc\"}",
	    "t:1: {{#each s}}: not an array");
	expect_render_error("{{#each s}}x{{/each}}", "{\"s\":{\"a\":1}}",
	    "t:1: {{#each s}}: not an array");
	expect_render_error("{{@index}}", "{}", "t:1: {{@index}}: outside #each");
}
END_TEST

START_TEST(test_load_errors)
{
	expect_load_error("a\n{{#foo x}}", "t:2: unknown tag {{#foo x}}");
	expect_load_error("{{/if}}", "t:1: {{/if}} without an open block");
	expect_load_error("\n\n{{ raw }}", "t:3: {{raw}} needs a path");
	expect_load_error("{{won}}", "t:1: {{won}} needs a path");
	expect_load_error("x\ny {{name", "t:2: {{ without }}");
	expect_load_error("{{a}}\n{{b}\n}", "t:2: {{ without }}");
	expect_load_error("{{}}", "t:1: empty tag {{}}");
	expect_load_error("{{  }}", "t:1: empty tag {{}}");
	expect_load_error("{{#}}", "t:1: unknown tag {{#}}");
	expect_load_error("{{{x}}}", "t:1: unknown tag {{{x}}");
	expect_load_error("{{a b c d}}", "t:1: unknown tag {{a b c d}}");
	expect_load_error("{{a b}}", "t:1: unknown tag {{a b}}");
	expect_load_error("{{a..b}}", "t:1: unknown tag {{a..b}}");
	expect_load_error("{{a.}}", "t:1: unknown tag {{a.}}");
	expect_load_error("{{<b>}}", "t:1: unknown tag {{<b>}}");
	expect_load_error("{{raw a/b}}", "t:1: bad path in {{raw a/b}}");
	expect_load_error("{{#if}}x{{/if}}", "t:1: {{#if}} takes one path: {{#if}}");
	expect_load_error("{{#each a b}}x{{/each}}", "t:1: {{#each}} takes one path: {{#each a b}}");
	expect_load_error("{{#if a..b}}x{{/if}}", "t:1: bad path in {{#if a..b}}");
	expect_load_error("{{#if a}}\n{{#each b}}\n{{/if}}",
	    "t:3: {{/if}} closes {{#each}} from line 2");
	expect_load_error("{{#if a}}\n{{#unless b}}x{{/unless}}\n", "t:1: {{#if}} is never closed");
	expect_load_error("{{#if a}}x{{/if}}\n{{#each b}}", "t:2: {{#each}} is never closed");
	expect_load_error("x\n{{else}}", "t:2: {{else}} outside #if, #unless or #each");
	expect_load_error("{{#if a}}{{else}}\n{{else}}{{/if}}",
	    "t:2: second {{else}} in {{#if}} from line 1");
	expect_load_error("{{/if x}}", "t:1: unknown tag {{/if x}}");
	expect_load_error("{{/foo}}", "t:1: unknown tag {{/foo}}");
	expect_load_error("{{> }}", "t:1: unknown tag {{>}}");
	expect_load_error("{{> a b}}", "t:1: bad include {{> a b}}");
	expect_load_error("{{> ../etc/passwd}}", "t:1: bad include {{> ../etc/passwd}}");
	expect_load_error("\n\n\n{{> nothere}}", "t:4: include of unknown template \"nothere\"");
	expect_load_error("{{bad\x01tag}}", "t:1: unknown tag {{bad?tag}}");
	expect_load_error("{{a xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}}",
	    "t:1: unknown tag {{a xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...}}");
}
END_TEST

START_TEST(test_load_errors_set)
{
	const char *dup_names[] = { "a", "b", "a" };
	const char *bad_names[] = { "ok", "../x" };
	const char *texts[] = { "1", "2", "3" };
	const char *cyc_names[] = { "a", "b", "c" };
	const char *cyc_texts[] = { "{{> b}}", "x\n{{#if y}}{{> c}}{{/if}}", "\n\n{{> a}}" };
	const char *self_texts[] = { "{{> b}}", "{{> c}}", "c\n{{#each x}}{{> c}}{{/each}}" };
	char *big;
	const char *big_text;

	expect_load_error_n(dup_names, texts, 3, "a: template \"a\" defined twice");
	expect_load_error_n(bad_names, texts, 2,
	    "../x: template names are letters, digits, '_' and '-'");
	expect_load_error_n(cyc_names, cyc_texts, 3, "c:3: include cycle: a -> b -> c -> a");
	expect_load_error_n(cyc_names, self_texts, 3, "c:2: include cycle: c -> c");

	big = malloc(512 * 1024 + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 512 * 1024 + 1);
	big[512 * 1024 + 1] = '\0';
	big_text = big;
	expect_load_error_n(cyc_names, &big_text, 1, "a: larger than 524288 bytes");
	big[512 * 1024] = '\0';
	expect_load_error_n(cyc_names, (const char *const[]){ big, "{{" }, 2, "b:1: {{ without }}");
	free(big);
}
END_TEST

START_TEST(test_include_depth)
{
	char names_buf[20][8], texts_buf[20][16];
	const char *names[20], *texts[20];
	struct tmpl_set *set;
	char err[256] = "", *got;
	size_t i;

	/* t0 includes t1 ... includes t16: 16 levels are fine. */
	for (i = 0; i < 20; i++) {
		snprintf(names_buf[i], sizeof(names_buf[i]), "t%zu", i);
		snprintf(texts_buf[i], sizeof(texts_buf[i]), "%zu{{> t%zu}}", i, i + 1);
		names[i] = names_buf[i];
		texts[i] = texts_buf[i];
	}
	texts[16] = "16";
	set = load(names, texts, 17);
	got = render(set, NULL, "t0", "{}", err, sizeof(err));
	ck_assert_str_eq(got, "012345678910111213141516");
	free(got);
	tmpl_set_free(&set);
	texts[16] = texts_buf[16];
	texts[17] = "17";
	expect_load_error_n(names, texts, 18, "t0:1: includes nested deeper than 16");
}
END_TEST

START_TEST(test_deep_nesting)
{
	struct buf text;
	const char *names[] = { "t" };
	const char *t;
	struct tmpl_set *set;
	char err[256] = "", *got;
	size_t i;

	/* 1000 nested #if: loads and renders without recursion. */
	buf_init(&text);
	for (i = 0; i < 1000; i++)
		buf_puts(&text, "{{#if a}}");
	buf_puts(&text, "deep");
	for (i = 0; i < 1000; i++)
		buf_puts(&text, "{{/if}}");
	t = buf_cstr(&text);
	set = load(names, &t, 1);
	got = render(set, NULL, "t", "{\"a\":1}", err, sizeof(err));
	ck_assert_str_eq(got, "deep");
	free(got);
	got = render(set, NULL, "t", "{\"a\":0}", err, sizeof(err));
	ck_assert_str_eq(got, "");
	free(got);
	tmpl_set_free(&set);

	/* 1000 nested #each over a one-element array, with @index at the bottom. */
	buf_reset(&text);
	for (i = 0; i < 1000; i++)
		buf_puts(&text, "{{#each xs}}");
	buf_puts(&text, "{{@index}}{{.}}");
	for (i = 0; i < 1000; i++)
		buf_puts(&text, "{{/each}}");
	t = buf_cstr(&text);
	set = load(names, &t, 1);
	got = render(set, NULL, "t", "{\"xs\":[7]}", err, sizeof(err));
	ck_assert_str_eq(got, "07");
	free(got);
	tmpl_set_free(&set);

	/* Deeper than the limit: refused cleanly. */
	buf_reset(&text);
	for (i = 0; i < 5000; i++)
		buf_puts(&text, "{{#unless a}}\n");
	t = buf_cstr(&text);
	expect_load_error_n(names, &t, 1, "t:1025: blocks nested deeper than 1024");
	buf_release(&text);
}
END_TEST

START_TEST(test_runaway_render_is_bounded)
{
	/* 30 nested loops over two items would take 2^30 steps: refused, not hung. */
	struct buf text;
	const char *names[] = { "t" };
	const char *t;
	struct tmpl_set *set;
	char err[256] = "", *got;
	size_t i;

	buf_init(&text);
	for (i = 0; i < 30; i++)
		buf_puts(&text, "{{#each xs}}");
	for (i = 0; i < 30; i++)
		buf_puts(&text, "{{/each}}");
	t = buf_cstr(&text);
	set = load(names, &t, 1);
	got = render(set, NULL, "t", "{\"xs\":[1,2]}", err, sizeof(err));
	ck_assert_ptr_null(got);
	ck_assert_msg(strncmp(err, "t:1: {{", 7) == 0, "%s", err);
	ck_assert_msg(strstr(err, "}}: render takes too many steps") != NULL, "%s", err);
	tmpl_set_free(&set);

	/* 400 KB of text inside 6 nested loops over two items is 25 MB of output: refused. */
	buf_reset(&text);
	for (i = 0; i < 6; i++)
		buf_puts(&text, "{{#each xs}}");
	for (i = 0; i < 400 * 1024 / 8; i++)
		buf_puts(&text, "<p></p>\n");
	for (i = 0; i < 6; i++)
		buf_puts(&text, "{{/each}}");
	t = buf_cstr(&text);
	set = load(names, &t, 1);
	got = render(set, NULL, "t", "{\"xs\":[1,2]}", err, sizeof(err));
	ck_assert_ptr_null(got);
	ck_assert_msg(strstr(err, "}}: output too large") != NULL, "%s", err);
	tmpl_set_free(&set);
	buf_release(&text);
}
END_TEST

/* Writes text to dir/name. */
static void
write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void
write_text(const char *dir, const char *name, const char *text)
{
	write_file(dir, name, text, strlen(text));
}

static void
remove_file(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

START_TEST(test_load_directory)
{
	char dir[] = "/tmp/check_tmpl.XXXXXX";
	char err[512] = "", want[512];
	struct tmpl_set *set;
	struct json_object *ctx;
	struct buf out;
	char *big;

	ck_assert_ptr_nonnull(mkdtemp(dir));

	/* An empty directory is refused. */
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s: no *.html templates", dir);
	ck_assert_str_eq(err, want);

	write_text(dir, "layout.html", "<body>{{yield}}</body>\n");
	write_text(dir, "item.html", "{{#each items}}\n<p>{{name}} {{won price}}</p>\n{{/each}}");
	write_text(dir, "notes.txt", "{{ not a template");
	write_text(dir, ".swap.html", "{{ editor junk");
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_msg(set != NULL, "%s", err);
	ck_assert(tmpl_exists(set, "layout"));
	ck_assert(tmpl_exists(set, "item"));
	ck_assert(!tmpl_exists(set, "notes"));
	ck_assert(!tmpl_exists(set, ".swap"));
	ctx = json_tokener_parse("{\"items\":[{\"name\":\"<신발>\",\"price\":39000}]}");
	buf_init(&out);
	ck_assert_int_eq(tmpl_render_layout(set, "layout", "item", ctx, &out), 0);
	ck_assert_str_eq(buf_cstr(&out), "<body>\n<p>&lt;신발&gt; 39,000</p>\n</body>\n");
	buf_release(&out);
	json_object_put(ctx);
	tmpl_set_free(&set);

	/* A syntax error names the file and line. */
	write_text(dir, "bad.html", "line 1\nline 2 {{#each x}}\n");
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s/bad.html:2: {{#each}} is never closed", dir);
	ck_assert_str_eq(err, want);
	remove_file(dir, "bad.html");

	/* A NUL byte, a file too large, a bad name. */
	write_file(dir, "nul.html", "a\nb\0c", 5);
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s/nul.html:2: NUL byte", dir);
	ck_assert_str_eq(err, want);
	remove_file(dir, "nul.html");

	big = malloc(600 * 1024);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 600 * 1024);
	write_file(dir, "big.html", big, 600 * 1024);
	free(big);
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s/big.html: larger than 524288 bytes", dir);
	ck_assert_str_eq(err, want);
	remove_file(dir, "big.html");

	/* A directory or a FIFO named like a template is refused, without blocking. */
	snprintf(want, sizeof(want), "%s/sub.html", dir);
	ck_assert_int_eq(mkdir(want, 0700), 0);
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s/sub.html: not a regular file", dir);
	ck_assert_str_eq(err, want);
	snprintf(want, sizeof(want), "%s/sub.html", dir);
	ck_assert_int_eq(rmdir(want), 0);
	snprintf(want, sizeof(want), "%s/pipe.html", dir);
	ck_assert_int_eq(mkfifo(want, 0600), 0);
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s/pipe.html: not a regular file", dir);
	ck_assert_str_eq(err, want);
	remove_file(dir, "pipe.html");

	write_text(dir, "a b.html", "x");
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s/a b.html: template names are letters, digits, '_' and '-'",
	    dir);
	ck_assert_str_eq(err, want);
	remove_file(dir, "a b.html");

	remove_file(dir, "layout.html");
	remove_file(dir, "item.html");
	remove_file(dir, "notes.txt");
	remove_file(dir, ".swap.html");
	ck_assert_int_eq(rmdir(dir), 0);

	/* A directory that does not exist. */
	set = tmpl_set_load(dir, err, sizeof(err));
	ck_assert_ptr_null(set);
	snprintf(want, sizeof(want), "%s: No such file or directory", dir);
	ck_assert_str_eq(err, want);
}
END_TEST

/* The Check suite for lib/infra/tmpl.c. */
Suite *
tmpl_suite(void)
{
	Suite *s = suite_create("tmpl");
	TCase *tc = tcase_create("tmpl");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_escape_text_and_attribute);
	tcase_add_test(tc, test_raw_is_not_escaped);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_whitespace_comments_and_stray_braces);
	tcase_add_test(tc, test_each);
	tcase_add_test(tc, test_nested_each_outer_lookup);
	tcase_add_test(tc, test_truthiness);
	tcase_add_test(tc, test_includes);
	tcase_add_test(tc, test_layout_yield);
	tcase_add_test(tc, test_won);
	tcase_add_test(tc, test_render_errors);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_load_errors_set);
	tcase_add_test(tc, test_include_depth);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_runaway_render_is_bounded);
	tcase_add_test(tc, test_load_directory);
	suite_add_tcase(s, tc);
	return s;
}

/* tmpl: HTML templates, parsed once into flat node lists and rendered by a loop (no recursion). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/esc.h"
#include "base/money.h"
#include "infra/tmpl.h"

#define TMPL_MAX_BYTES   (512 * 1024)        /* largest template file or string */
#define TMPL_MAX_NEST    1024                /* blocks open at once inside one template */
#define TMPL_MAX_INCLUDE 16                  /* longest chain of {{> name}} */
#define TMPL_MAX_NAME    128                 /* longest template name */
#define TMPL_MAX_OUTPUT  (16 * 1024 * 1024)  /* bytes one render may append */
#define TMPL_MAX_STEPS   (1UL << 24)         /* nodes one render may execute */
#define TMPL_NONE        SIZE_MAX            /* "no node" in the parser's block stack */

/* One instruction of a parsed template. Blocks compile to jumps:
 *   {{#if p}} A {{else}} B {{/if}}      IF(->B) A JUMP(->end) B
 *   {{#each p}} A {{else}} B {{/each}}  EACH(->B) A NEXT(->end) B
 * so render walks the list with a program counter and a stack of open loops. */
enum tmpl_op {
	TMPL_OP_TEXT,    /* literal bytes from the source */
	TMPL_OP_VAR,     /* {{path}}: HTML-escaped value */
	TMPL_OP_RAW,     /* {{raw path}}: value as it is */
	TMPL_OP_WON,     /* {{won path}}: integer as money */
	TMPL_OP_INDEX,   /* {{@index}} of the innermost #each */
	TMPL_OP_YIELD,   /* {{yield}}: the page body in a layout */
	TMPL_OP_INCLUDE, /* {{> name}}: target is the template's index in the set */
	TMPL_OP_IF,      /* falsy: jump to target */
	TMPL_OP_UNLESS,  /* truthy: jump to target */
	TMPL_OP_JUMP,    /* end of the first branch of an #if / #unless with an else */
	TMPL_OP_EACH,    /* empty or missing: jump to target; else start the loop */
	TMPL_OP_NEXT,    /* end of an #each body: next element, or leave to target */
	TMPL_OP__MAX
};

static const char *const tmpl_op_names[TMPL_OP__MAX] = {
	[TMPL_OP_TEXT] = "text", [TMPL_OP_VAR] = "", [TMPL_OP_RAW] = "raw ",
	[TMPL_OP_WON] = "won ", [TMPL_OP_INDEX] = "@index", [TMPL_OP_YIELD] = "yield",
	[TMPL_OP_INCLUDE] = "> ", [TMPL_OP_IF] = "#if ", [TMPL_OP_UNLESS] = "#unless ",
	[TMPL_OP_JUMP] = "else", [TMPL_OP_EACH] = "#each ", [TMPL_OP_NEXT] = "/each",
};

struct tmpl_node {
	enum tmpl_op op;
	unsigned line;     /* where the tag starts, 1-based */
	const char *text;  /* TEXT: bytes inside the template's src */
	size_t len;        /* TEXT: their count */
	char *path;        /* value ops: segments separated by NUL, owned; NULL for ".".
	                    * INCLUDE: the template name until includes are resolved */
	size_t nseg;       /* segments in path; 0 for "." */
	size_t target;     /* jump target, or INCLUDE's template index */
};

struct tmpl {
	char *name;               /* owned; file name without ".html" */
	char *file;               /* owned; what error messages call it */
	char *src;                /* owned source; TEXT nodes point into it */
	size_t len;
	struct tmpl_node *nodes;  /* owned */
	size_t nnodes, cap;
};

struct tmpl_set {
	struct tmpl *t;  /* owned, sorted by name once loading is done */
	size_t n;
};

/* ---- memory and messages ------------------------------------------------------------------ */

/* realloc for n elements of size bytes; aborts on overflow or OOM. */
static void *
tmpl_xrealloc(void *p, size_t n, size_t size)
{
	void *q;

	if (size != 0 && n > SIZE_MAX / size) {
		fprintf(stderr, "tmpl: size overflow\n");
		abort();
	}
	q = realloc(p, n * size == 0 ? 1 : n * size);
	if (q == NULL) {
		fprintf(stderr, "tmpl: out of memory\n");
		abort();
	}
	return q;
}

/* Zeroed array of n elements of size bytes; aborts on overflow or OOM. */
static void *
tmpl_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL) {
		fprintf(stderr, "tmpl: out of memory\n");
		abort();
	}
	return p;
}

/* Copies n bytes of s into a new NUL-terminated string. */
static char *
tmpl_xstrndup(const char *s, size_t n)
{
	char *p = tmpl_xrealloc(NULL, n + 1, 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Writes a printf-formatted message into err (NULL or err_len 0: nothing). */
static void __attribute__((format(printf, 3, 4)))
tmpl_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* Copies at most 40 bytes of s into out (48 bytes) for a message, with control bytes as '?'
 * and "..." when cut. */
static void
tmpl_excerpt(char out[48], const char *s, size_t n)
{
	size_t i, m = n > 40 ? 40 : n;

	for (i = 0; i < m; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (m < n) {
		memcpy(out + m, "...", 3);
		m += 3;
	}
	out[m] = '\0';
}

/* Writes a node's path as "a.b.c" (or ".") into out for a message. */
static void
tmpl_path_show(char *out, size_t out_len, const struct tmpl_node *n)
{
	const char *seg = n->path;
	size_t i, used = 0;
	int w;

	if (n->nseg == 0) {
		snprintf(out, out_len, ".");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < n->nseg && used < out_len; i++) {
		w = snprintf(out + used, out_len - used, "%s%s", i > 0 ? "." : "", seg);
		if (w < 0)
			return;
		used += (size_t)w;
		seg += strlen(seg) + 1;
	}
}

/* ---- lexical helpers ---------------------------------------------------------------------- */

static int
tmpl_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Letters, digits, '_' and '-': the bytes of names and path segments. */
static int
tmpl_is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-';
}

/* True when s[0..n) is a valid template name. */
static int
tmpl_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TMPL_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++)
		if (!tmpl_is_word(s[i]))
			return 0;
	return 1;
}

static size_t
tmpl_count_lines(const char *p, size_t n)
{
	const char *end = p + n, *q;
	size_t lines = 0;

	while (p < end) {
		q = memchr(p, '\n', (size_t)(end - p));
		if (q == NULL)
			break;
		lines++;
		p = q + 1;
	}
	return lines;
}

/* The number of segments in path word s[0..n): 0 for ".", else segments of word bytes joined
 * by single dots. Returns TMPL_NONE when s is not a path. */
static size_t
tmpl_path_segments(const char *s, size_t n)
{
	size_t i, segs = 1;

	if (n == 1 && s[0] == '.')
		return 0;
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return TMPL_NONE;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return TMPL_NONE;
			segs++;
		} else if (!tmpl_is_word(s[i])) {
			return TMPL_NONE;
		}
	}
	return segs;
}

/* Parses a path word (see tmpl_path_segments). Stores a NUL-separated copy (NULL for ".")
 * and the segment count. Returns 0, or -1 when s is not a path. */
static int
tmpl_path_parse(const char *s, size_t n, char **path, size_t *nseg)
{
	size_t i, segs = tmpl_path_segments(s, n);
	char *p;

	*path = NULL;
	*nseg = 0;
	if (segs == TMPL_NONE)
		return -1;
	if (segs == 0)
		return 0;
	p = tmpl_xstrndup(s, n);
	for (i = 0; i < n; i++)
		if (p[i] == '.')
			p[i] = '\0';
	*path = p;
	*nseg = segs;
	return 0;
}

/* ---- parser ------------------------------------------------------------------------------- */

struct tmpl_word {
	const char *p;
	size_t n;
};

/* A block opened and not yet closed. */
struct tmpl_block {
	enum tmpl_op op;  /* IF, UNLESS or EACH */
	size_t open;      /* its opening node */
	size_t mid;       /* its JUMP / NEXT node once {{else}} was seen, else TMPL_NONE */
	unsigned line;
};

struct tmpl_parser {
	struct tmpl *t;
	struct tmpl_block *blocks;  /* owned */
	size_t nblocks, cap;
	char *err;
	size_t err_len;
};

/* Reports "file:line: reason" and returns -1. */
static int __attribute__((format(printf, 3, 4)))
tmpl_perr(struct tmpl_parser *ps, unsigned line, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	tmpl_err(ps->err, ps->err_len, "%s:%u: %s", ps->t->file, line, reason);
	return -1;
}

/* Appends a zeroed node and returns its index. */
static size_t
tmpl_add(struct tmpl *t, enum tmpl_op op, unsigned line)
{
	struct tmpl_node *n;

	if (t->nnodes == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->nodes = tmpl_xrealloc(t->nodes, t->cap, sizeof(*t->nodes));
	}
	n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->line = line;
	return t->nnodes++;
}

static int
tmpl_word_is(const struct tmpl_word *w, const char *s)
{
	return w->n == strlen(s) && memcmp(w->p, s, w->n) == 0;
}

/* The block op named by w ("if", "unless", "each"), or TMPL_OP__MAX. */
static enum tmpl_op
tmpl_block_op(const struct tmpl_word *w)
{
	if (tmpl_word_is(w, "if"))
		return TMPL_OP_IF;
	if (tmpl_word_is(w, "unless"))
		return TMPL_OP_UNLESS;
	if (tmpl_word_is(w, "each"))
		return TMPL_OP_EACH;
	return TMPL_OP__MAX;
}

static const char *
tmpl_block_name(enum tmpl_op op)
{
	return op == TMPL_OP_IF ? "if" : op == TMPL_OP_UNLESS ? "unless" : "each";
}

/* Adds a value node (VAR, RAW, WON, IF, UNLESS, EACH) for path word w. */
static int
tmpl_add_value(struct tmpl_parser *ps, enum tmpl_op op, const struct tmpl_word *w,
    unsigned line, const char *shown)
{
	char *path;
	size_t nseg, i;

	if (tmpl_path_parse(w->p, w->n, &path, &nseg) == -1)
		return tmpl_perr(ps, line, "bad path in {{%s}}", shown);
	i = tmpl_add(ps->t, op, line);
	ps->t->nodes[i].path = path;
	ps->t->nodes[i].nseg = nseg;
	return 0;
}

/* {{#kw path}} */
static int
tmpl_open_block(struct tmpl_parser *ps, const struct tmpl_word *w, size_t nw, unsigned line,
    const char *shown)
{
	enum tmpl_op op = tmpl_block_op(&w[0]);
	struct tmpl_block *b;

	if (op == TMPL_OP__MAX)
		return tmpl_perr(ps, line, "unknown tag {{%s}}", shown);
	if (nw != 2)
		return tmpl_perr(ps, line, "{{#%s}} takes one path: {{%s}}", tmpl_block_name(op),
		    shown);
	if (ps->nblocks == TMPL_MAX_NEST)
		return tmpl_perr(ps, line, "blocks nested deeper than %d", TMPL_MAX_NEST);
	if (tmpl_add_value(ps, op, &w[1], line, shown) == -1)
		return -1;
	if (ps->nblocks == ps->cap) {
		ps->cap = ps->cap == 0 ? 16 : ps->cap * 2;
		ps->blocks = tmpl_xrealloc(ps->blocks, ps->cap, sizeof(*ps->blocks));
	}
	b = &ps->blocks[ps->nblocks++];
	b->op = op;
	b->open = ps->t->nnodes - 1;
	b->mid = TMPL_NONE;
	b->line = line;
	return 0;
}

/* {{else}} */
static int
tmpl_else(struct tmpl_parser *ps, unsigned line)
{
	struct tmpl_block *b;

	if (ps->nblocks == 0)
		return tmpl_perr(ps, line, "{{else}} outside #if, #unless or #each");
	b = &ps->blocks[ps->nblocks - 1];
	if (b->mid != TMPL_NONE)
		return tmpl_perr(ps, line, "second {{else}} in {{#%s}} from line %u",
		    tmpl_block_name(b->op), b->line);
	b->mid = tmpl_add(ps->t, b->op == TMPL_OP_EACH ? TMPL_OP_NEXT : TMPL_OP_JUMP, line);
	ps->t->nodes[b->open].target = b->mid + 1;
	return 0;
}

/* {{/kw}} */
static int
tmpl_close_block(struct tmpl_parser *ps, const struct tmpl_word *w, size_t nw, unsigned line,
    const char *shown)
{
	enum tmpl_op op = tmpl_block_op(&w[0]);
	struct tmpl_block *b;
	struct tmpl *t = ps->t;

	if (op == TMPL_OP__MAX || nw != 1)
		return tmpl_perr(ps, line, "unknown tag {{%s}}", shown);
	if (ps->nblocks == 0)
		return tmpl_perr(ps, line, "{{/%s}} without an open block", tmpl_block_name(op));
	b = &ps->blocks[ps->nblocks - 1];
	if (b->op != op)
		return tmpl_perr(ps, line, "{{/%s}} closes {{#%s}} from line %u",
		    tmpl_block_name(op), tmpl_block_name(b->op), b->line);
	if (b->mid == TMPL_NONE) {
		if (op == TMPL_OP_EACH)
			b->mid = tmpl_add(t, TMPL_OP_NEXT, line);
		t->nodes[b->open].target = t->nnodes;
	}
	if (b->mid != TMPL_NONE)
		t->nodes[b->mid].target = t->nnodes;
	ps->nblocks--;
	return 0;
}

/* {{> name}}: the name stays in path until tmpl_resolve. */
static int
tmpl_include(struct tmpl_parser *ps, const struct tmpl_word *w, size_t nw, unsigned line,
    const char *shown)
{
	size_t i;

	if (nw != 1 || !tmpl_name_ok(w[0].p, w[0].n))
		return tmpl_perr(ps, line, "bad include {{%s}}", shown);
	i = tmpl_add(ps->t, TMPL_OP_INCLUDE, line);
	ps->t->nodes[i].path = tmpl_xstrndup(w[0].p, w[0].n);
	return 0;
}

/* A tag without a sigil: else, yield, @index, path, raw path, won path. */
static int
tmpl_plain_tag(struct tmpl_parser *ps, const struct tmpl_word *w, size_t nw, unsigned line,
    const char *shown)
{
	if (nw == 1) {
		if (tmpl_word_is(&w[0], "else"))
			return tmpl_else(ps, line);
		if (tmpl_word_is(&w[0], "yield")) {
			tmpl_add(ps->t, TMPL_OP_YIELD, line);
			return 0;
		}
		if (tmpl_word_is(&w[0], "@index")) {
			tmpl_add(ps->t, TMPL_OP_INDEX, line);
			return 0;
		}
		if (tmpl_word_is(&w[0], "raw") || tmpl_word_is(&w[0], "won"))
			return tmpl_perr(ps, line, "{{%s}} needs a path", shown);
		if (tmpl_path_segments(w[0].p, w[0].n) == TMPL_NONE)
			return tmpl_perr(ps, line, "unknown tag {{%s}}", shown);
		return tmpl_add_value(ps, TMPL_OP_VAR, &w[0], line, shown);
	}
	if (nw == 2 && tmpl_word_is(&w[0], "raw"))
		return tmpl_add_value(ps, TMPL_OP_RAW, &w[1], line, shown);
	if (nw == 2 && tmpl_word_is(&w[0], "won"))
		return tmpl_add_value(ps, TMPL_OP_WON, &w[1], line, shown);
	return tmpl_perr(ps, line, "unknown tag {{%s}}", shown);
}

/* Parses the inside of one {{ }} (c[0..n)) that starts on line. */
static int
tmpl_tag(struct tmpl_parser *ps, const char *c, size_t n, unsigned line)
{
	struct tmpl_word w[3];
	char shown[48], sigil = '\0';
	size_t nw = 0, i = 0, start;

	while (n > 0 && tmpl_is_space(c[0])) {
		c++;
		n--;
	}
	while (n > 0 && tmpl_is_space(c[n - 1]))
		n--;
	tmpl_excerpt(shown, c, n);
	if (n == 0)
		return tmpl_perr(ps, line, "empty tag {{}}");
	if (c[0] == '!')
		return 0;
	if (c[0] == '#' || c[0] == '/' || c[0] == '>') {
		sigil = c[0];
		i = 1;
	}
	for (;;) {
		while (i < n && tmpl_is_space(c[i]))
			i++;
		if (i == n)
			break;
		if (nw == sizeof(w) / sizeof(w[0]))
			return tmpl_perr(ps, line, "unknown tag {{%s}}", shown);
		start = i;
		while (i < n && !tmpl_is_space(c[i]))
			i++;
		w[nw].p = c + start;
		w[nw].n = i - start;
		nw++;
	}
	if (nw == 0)
		return tmpl_perr(ps, line, "unknown tag {{%s}}", shown);
	switch (sigil) {
	case '#':
		return tmpl_open_block(ps, w, nw, line, shown);
	case '/':
		return tmpl_close_block(ps, w, nw, line, shown);
	case '>':
		return tmpl_include(ps, w, nw, line, shown);
	default:
		return tmpl_plain_tag(ps, w, nw, line, shown);
	}
}

/* Parses t->src into t->nodes. Returns 0, or -1 with "file:line: reason" in err. */
static int
tmpl_parse(struct tmpl *t, char *err, size_t err_len)
{
	struct tmpl_parser ps = { .t = t, .err = err, .err_len = err_len };
	const char *p = t->src, *end = t->src + t->len, *open, *close;
	unsigned line = 1, tag_line;
	size_t i;
	int rc = -1;

	while (p < end) {
		open = memmem(p, (size_t)(end - p), "{{", 2);
		if (open == NULL)
			open = end;
		if (open > p) {
			i = tmpl_add(t, TMPL_OP_TEXT, line);
			t->nodes[i].text = p;
			t->nodes[i].len = (size_t)(open - p);
			line += (unsigned)tmpl_count_lines(p, (size_t)(open - p));
		}
		if (open == end)
			break;
		tag_line = line;
		close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
		if (close == NULL) {
			tmpl_perr(&ps, tag_line, "{{ without }}");
			goto out;
		}
		line += (unsigned)tmpl_count_lines(open + 2, (size_t)(close - open - 2));
		if (tmpl_tag(&ps, open + 2, (size_t)(close - open - 2), tag_line) == -1)
			goto out;
		p = close + 2;
	}
	if (ps.nblocks > 0) {
		struct tmpl_block *b = &ps.blocks[ps.nblocks - 1];

		tmpl_perr(&ps, b->line, "{{#%s}} is never closed", tmpl_block_name(b->op));
		goto out;
	}
	rc = 0;
out:
	free(ps.blocks);
	return rc;
}

/* ---- the set ------------------------------------------------------------------------------ */

static int
tmpl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tmpl *)a)->name, ((const struct tmpl *)b)->name);
}

/* Index of the template called name, or TMPL_NONE. */
static size_t
tmpl_find(const struct tmpl_set *set, const char *name)
{
	size_t lo = 0, hi = set->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, set->t[mid].name);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return TMPL_NONE;
}

/* Turns every include's name into the index of its template. */
static int
tmpl_resolve(struct tmpl_set *set, char *err, size_t err_len)
{
	struct tmpl_node *n;
	size_t i, j, k;

	for (i = 0; i < set->n; i++) {
		for (j = 0; j < set->t[i].nnodes; j++) {
			n = &set->t[i].nodes[j];
			if (n->op != TMPL_OP_INCLUDE)
				continue;
			k = tmpl_find(set, n->path);
			if (k == TMPL_NONE) {
				tmpl_err(err, err_len, "%s:%u: include of unknown template \"%s\"",
				    set->t[i].file, n->line, n->path);
				return -1;
			}
			free(n->path);
			n->path = NULL;
			n->target = k;
		}
	}
	return 0;
}

/* A template being walked by tmpl_check_includes: which one, and its next node to look at. */
struct tmpl_walk {
	size_t t;
	size_t pc;
};

/* Refuses include cycles and include chains longer than TMPL_MAX_INCLUDE, by an iterative
 * depth-first walk (so a long chain of templates cannot overflow the C stack). */
static int
tmpl_check_includes(struct tmpl_set *set, char *err, size_t err_len)
{
	enum { WHITE, GREY, BLACK };
	unsigned char *state = tmpl_xcalloc(set->n, 1);
	size_t *depth = tmpl_xcalloc(set->n, sizeof(*depth));
	struct tmpl_walk *stack = tmpl_xcalloc(set->n, sizeof(*stack));
	size_t s, sp, u, k, d;
	const struct tmpl_node *n;
	struct tmpl_walk *top;
	struct buf chain;
	int rc = -1;

	buf_init(&chain);
	for (s = 0; s < set->n; s++) {
		if (state[s] != WHITE)
			continue;
		sp = 0;
		stack[sp++] = (struct tmpl_walk){ s, 0 };
		state[s] = GREY;
		while (sp > 0) {
			top = &stack[sp - 1];
			while (top->pc < set->t[top->t].nnodes &&
			    set->t[top->t].nodes[top->pc].op != TMPL_OP_INCLUDE)
				top->pc++;
			if (top->pc == set->t[top->t].nnodes) {
				/* Done with this one; its parent's pc still points at the include. */
				state[top->t] = BLACK;
				d = depth[top->t] + 1;
				sp--;
				if (sp == 0)
					break;
				top = &stack[sp - 1];
				n = &set->t[top->t].nodes[top->pc];
				if (d > depth[top->t])
					depth[top->t] = d;
				if (depth[top->t] > TMPL_MAX_INCLUDE) {
					tmpl_err(err, err_len, "%s:%u: includes nested deeper than %d",
					    set->t[top->t].file, n->line, TMPL_MAX_INCLUDE);
					goto out;
				}
				top->pc++;
				continue;
			}
			n = &set->t[top->t].nodes[top->pc];
			u = n->target;
			if (state[u] == GREY) {
				for (k = 0; stack[k].t != u; k++)
					;
				for (; k < sp; k++)
					buf_printf(&chain, "%s -> ", set->t[stack[k].t].name);
				buf_puts(&chain, set->t[u].name);
				tmpl_err(err, err_len, "%s:%u: include cycle: %s", set->t[top->t].file,
				    n->line, buf_cstr(&chain));
				goto out;
			}
			if (state[u] == BLACK) {
				if (depth[u] + 1 > depth[top->t])
					depth[top->t] = depth[u] + 1;
				if (depth[top->t] > TMPL_MAX_INCLUDE) {
					tmpl_err(err, err_len, "%s:%u: includes nested deeper than %d",
					    set->t[top->t].file, n->line, TMPL_MAX_INCLUDE);
					goto out;
				}
				top->pc++;
				continue;
			}
			state[u] = GREY;
			stack[sp++] = (struct tmpl_walk){ u, 0 };
		}
	}
	rc = 0;
out:
	buf_release(&chain);
	free(stack);
	free(depth);
	free(state);
	return rc;
}

/* Sorts the set, refuses duplicate names, parses every template and resolves includes.
 * Frees the set and returns NULL on any error. */
static struct tmpl_set *
tmpl_set_finish(struct tmpl_set *set, char *err, size_t err_len)
{
	size_t i;

	qsort(set->t, set->n, sizeof(*set->t), tmpl_cmp);
	for (i = 1; i < set->n; i++) {
		if (strcmp(set->t[i - 1].name, set->t[i].name) == 0) {
			tmpl_err(err, err_len, "%s: template \"%s\" defined twice", set->t[i].file,
			    set->t[i].name);
			goto fail;
		}
	}
	for (i = 0; i < set->n; i++)
		if (tmpl_parse(&set->t[i], err, err_len) == -1)
			goto fail;
	if (tmpl_resolve(set, err, err_len) == -1)
		goto fail;
	if (tmpl_check_includes(set, err, err_len) == -1)
		goto fail;
	return set;
fail:
	tmpl_set_free(&set);
	return NULL;
}

/* Adds an empty slot to set (capacity *cap) and returns it. */
static struct tmpl *
tmpl_set_push(struct tmpl_set *set, size_t *cap)
{
	struct tmpl *t;

	if (set->n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		set->t = tmpl_xrealloc(set->t, *cap, sizeof(*set->t));
	}
	t = &set->t[set->n++];
	memset(t, 0, sizeof(*t));
	return t;
}

/* Parses templates from memory: names[i] is the name of texts[i] (see tmpl.h). Returns the set
 * (caller frees with tmpl_set_free) or NULL with "name:line: reason" in err. */
struct tmpl_set *
tmpl_set_from_strings(const char *const *names, const char *const *texts, size_t n, char *err,
    size_t err_len)
{
	struct tmpl_set *set = tmpl_xcalloc(1, sizeof(*set));
	struct tmpl *t;
	size_t i, cap = 0, len;

	for (i = 0; i < n; i++) {
		t = tmpl_set_push(set, &cap);
		t->name = tmpl_xstrndup(names[i], strlen(names[i]));
		t->file = tmpl_xstrndup(names[i], strlen(names[i]));
		if (!tmpl_name_ok(names[i], strlen(names[i]))) {
			tmpl_err(err, err_len, "%s: template names are letters, digits, '_' and '-'",
			    t->file);
			goto fail;
		}
		len = strlen(texts[i]);
		if (len > TMPL_MAX_BYTES) {
			tmpl_err(err, err_len, "%s: larger than %d bytes", t->file, TMPL_MAX_BYTES);
			goto fail;
		}
		t->src = tmpl_xstrndup(texts[i], len);
		t->len = len;
	}
	return tmpl_set_finish(set, err, err_len);
fail:
	tmpl_set_free(&set);
	return NULL;
}

/* Reads the regular file name (in directory dfd) into t->src. Returns 0, or -1 with
 * "file: reason" in err. */
static int
tmpl_read_file(int dfd, const char *name, struct tmpl *t, char *err, size_t err_len)
{
	struct buf b;
	struct stat st;
	char chunk[16384];
	const char *nul;
	ssize_t got;
	int fd, rc = -1;

	buf_init(&b);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		tmpl_err(err, err_len, "%s: %s", t->file, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		tmpl_err(err, err_len, "%s: %s", t->file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		tmpl_err(err, err_len, "%s: not a regular file", t->file);
		goto out;
	}
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			tmpl_err(err, err_len, "%s: %s", t->file, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		buf_append(&b, chunk, (size_t)got);
		if (b.len > TMPL_MAX_BYTES) {
			tmpl_err(err, err_len, "%s: larger than %d bytes", t->file, TMPL_MAX_BYTES);
			goto out;
		}
	}
	nul = memchr(buf_cstr(&b), '\0', b.len);
	if (nul != NULL) {
		tmpl_err(err, err_len, "%s:%zu: NUL byte", t->file,
		    1 + tmpl_count_lines(b.data, (size_t)(nul - b.data)));
		goto out;
	}
	t->len = b.len;
	t->src = buf_steal(&b);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_release(&b);
	return rc;
}

/* Loads every "*.html" file directly under dir (see tmpl.h). Files starting with '.' are
 * skipped. A directory without templates is an error. Returns the set (caller frees with
 * tmpl_set_free) or NULL with "file:line: reason" in err. */
struct tmpl_set *
tmpl_set_load(const char *dir, char *err, size_t err_len)
{
	struct tmpl_set *set = tmpl_xcalloc(1, sizeof(*set));
	struct dirent *de;
	struct tmpl *t;
	struct buf file;
	size_t cap = 0, len;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		tmpl_err(err, err_len, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".html") != 0)
			continue;
		t = tmpl_set_push(set, &cap);
		buf_init(&file);
		buf_printf(&file, "%s/%s", dir, de->d_name);
		t->file = buf_steal(&file);
		t->name = tmpl_xstrndup(de->d_name, len - 5);
		if (!tmpl_name_ok(t->name, len - 5)) {
			tmpl_err(err, err_len, "%s: template names are letters, digits, '_' and '-'",
			    t->file);
			goto fail;
		}
		if (tmpl_read_file(dirfd(d), de->d_name, t, err, err_len) == -1)
			goto fail;
	}
	if (errno != 0) {
		tmpl_err(err, err_len, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (set->n == 0) {
		tmpl_err(err, err_len, "%s: no *.html templates", dir);
		goto fail;
	}
	closedir(d);
	return tmpl_set_finish(set, err, err_len);
fail:
	if (d != NULL)
		closedir(d);
	tmpl_set_free(&set);
	return NULL;
}

/* Frees the set and everything it owns, then sets *set to NULL. NULL-safe. */
void
tmpl_set_free(struct tmpl_set **set)
{
	struct tmpl *t;
	size_t i, j;

	if (set == NULL || *set == NULL)
		return;
	for (i = 0; i < (*set)->n; i++) {
		t = &(*set)->t[i];
		for (j = 0; j < t->nnodes; j++)
			free(t->nodes[j].path);
		free(t->nodes);
		free(t->name);
		free(t->file);
		free(t->src);
	}
	free((*set)->t);
	free(*set);
	*set = NULL;
}

/* Returns 1 when set has a template called name, else 0. */
int
tmpl_exists(const struct tmpl_set *set, const char *name)
{
	return set != NULL && name != NULL && tmpl_find(set, name) != TMPL_NONE;
}

/* ---- render ------------------------------------------------------------------------------- */

/* An #each being rendered. */
struct tmpl_loop {
	struct json_object *arr;   /* borrowed from the context */
	struct json_object *item;  /* arr[idx], borrowed */
	size_t idx, n;
	size_t body;               /* pc of the body's first node */
};

/* A template being rendered (the page, or an include inside it). */
struct tmpl_frame {
	const struct tmpl *t;
	size_t pc;
};

struct tmpl_render {
	const struct tmpl_set *set;
	struct json_object *root;               /* borrowed */
	const char *body;                       /* {{yield}} output, or NULL */
	size_t body_len;
	struct tmpl_frame frames[TMPL_MAX_INCLUDE + 1];
	size_t nframes;
	struct tmpl_loop *loops;                /* owned */
	size_t nloops, cap;
	struct buf *out;
	size_t out_start;
	size_t steps;
	char *err;
	size_t err_len;
};

/* Reports "file:line: {{tag}}: reason" for node n and returns -1. */
static int
tmpl_rerr(struct tmpl_render *r, const struct tmpl *t, const struct tmpl_node *n,
    const char *reason)
{
	char path[128];

	path[0] = '\0';
	if (n->op == TMPL_OP_VAR || n->op == TMPL_OP_RAW || n->op == TMPL_OP_WON ||
	    n->op == TMPL_OP_IF || n->op == TMPL_OP_UNLESS || n->op == TMPL_OP_EACH)
		tmpl_path_show(path, sizeof(path), n);
	tmpl_err(r->err, r->err_len, "%s:%u: {{%s%s}}: %s", t->file, n->line, tmpl_op_names[n->op],
	    path, reason);
	return -1;
}

/* Stores o's member key in *v (NULL for a JSON null) and returns 1, or returns 0 when o is
 * not an object or has no such member. */
static int
tmpl_member(struct json_object *o, const char *key, struct json_object **v)
{
	if (!json_object_is_type(o, json_type_object))
		return 0;
	return json_object_object_get_ex(o, key, v) ? 1 : 0;
}

/* The value at n's path: "." is the innermost #each item (or the root); a name is looked up
 * in the #each items from the innermost out, then in the root. NULL when missing or null. */
static struct json_object *
tmpl_lookup(const struct tmpl_render *r, const struct tmpl_node *n)
{
	struct json_object *v = NULL;
	const char *seg = n->path;
	size_t i;
	int found = 0;

	if (n->nseg == 0)
		return r->nloops > 0 ? r->loops[r->nloops - 1].item : r->root;
	for (i = r->nloops; i > 0 && !found; i--)
		found = tmpl_member(r->loops[i - 1].item, seg, &v);
	if (!found && !tmpl_member(r->root, seg, &v))
		return NULL;
	for (i = 1; i < n->nseg; i++) {
		seg += strlen(seg) + 1;
		if (!tmpl_member(v, seg, &v))
			return NULL;
	}
	return v;
}

/* Appends v for a VAR (escaped) or RAW node. */
static int
tmpl_put(struct tmpl_render *r, const struct tmpl *t, const struct tmpl_node *n,
    struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_string:
		if (n->op == TMPL_OP_RAW)
			buf_puts(r->out, json_object_get_string(v));
		else
			esc_html(r->out, json_object_get_string(v));
		return 0;
	case json_type_int:
		buf_printf(r->out, "%" PRId64, json_object_get_int64(v));
		return 0;
	case json_type_boolean:
		buf_puts(r->out, json_object_get_boolean(v) ? "true" : "false");
		return 0;
	case json_type_double:
		return tmpl_rerr(r, t, n, "a double (amounts and counts must be integers)");
	default:
		return tmpl_rerr(r, t, n, "an object or array cannot be printed");
	}
}

/* Stores v's truth in *truth: false for missing, null, false, 0, "", [] and {}. A double is
 * refused like in tmpl_put. */
static int
tmpl_truthy(struct tmpl_render *r, const struct tmpl *t, const struct tmpl_node *n,
    struct json_object *v, int *truth)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		*truth = 0;
		return 0;
	case json_type_boolean:
		*truth = json_object_get_boolean(v) ? 1 : 0;
		return 0;
	case json_type_int:
		*truth = json_object_get_int64(v) != 0;
		return 0;
	case json_type_string:
		*truth = json_object_get_string_len(v) > 0;
		return 0;
	case json_type_array:
		*truth = json_object_array_length(v) > 0;
		return 0;
	case json_type_object:
		*truth = json_object_object_length(v) > 0;
		return 0;
	default:
		return tmpl_rerr(r, t, n, "a double (amounts and counts must be integers)");
	}
}

/* Starts the #each at node n (pc already past it) of frame f. */
static int
tmpl_each(struct tmpl_render *r, struct tmpl_frame *f, const struct tmpl_node *n)
{
	struct json_object *v = tmpl_lookup(r, n);
	struct tmpl_loop *l;
	size_t len;

	if (v == NULL) {
		f->pc = n->target;
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return tmpl_rerr(r, f->t, n, "not an array");
	len = json_object_array_length(v);
	if (len == 0) {
		f->pc = n->target;
		return 0;
	}
	if (r->nloops == r->cap) {
		r->cap = r->cap == 0 ? 8 : r->cap * 2;
		r->loops = tmpl_xrealloc(r->loops, r->cap, sizeof(*r->loops));
	}
	l = &r->loops[r->nloops++];
	l->arr = v;
	l->n = len;
	l->idx = 0;
	l->item = json_object_array_get_idx(v, 0);
	l->body = f->pc;
	return 0;
}

/* Executes node n of frame f (f->pc already points past it). */
static int
tmpl_step(struct tmpl_render *r, struct tmpl_frame *f, const struct tmpl_node *n)
{
	char won[MONEY_FMT_MAX];
	struct json_object *v;
	struct tmpl_loop *l;
	int truth = 0;

	switch (n->op) {
	case TMPL_OP_TEXT:
		buf_append(r->out, n->text, n->len);
		return 0;
	case TMPL_OP_VAR:
	case TMPL_OP_RAW:
		return tmpl_put(r, f->t, n, tmpl_lookup(r, n));
	case TMPL_OP_WON:
		v = tmpl_lookup(r, n);
		if (!json_object_is_type(v, json_type_int))
			return tmpl_rerr(r, f->t, n, "not an integer amount");
		buf_puts(r->out, money_format(json_object_get_int64(v), won));
		return 0;
	case TMPL_OP_INDEX:
		if (r->nloops == 0)
			return tmpl_rerr(r, f->t, n, "outside #each");
		buf_printf(r->out, "%zu", r->loops[r->nloops - 1].idx);
		return 0;
	case TMPL_OP_YIELD:
		if (r->body == NULL)
			return tmpl_rerr(r, f->t, n, "not rendered as a layout");
		buf_append(r->out, r->body, r->body_len);
		return 0;
	case TMPL_OP_INCLUDE:
		/* tmpl_check_includes bounded the depth at load time; this is a backstop. */
		if (r->nframes == sizeof(r->frames) / sizeof(r->frames[0]))
			return tmpl_rerr(r, f->t, n, "includes nested too deep");
		r->frames[r->nframes].t = &r->set->t[n->target];
		r->frames[r->nframes].pc = 0;
		r->nframes++;
		return 0;
	case TMPL_OP_IF:
	case TMPL_OP_UNLESS:
		if (tmpl_truthy(r, f->t, n, tmpl_lookup(r, n), &truth) == -1)
			return -1;
		if (truth == (n->op == TMPL_OP_UNLESS))
			f->pc = n->target;
		return 0;
	case TMPL_OP_JUMP:
		f->pc = n->target;
		return 0;
	case TMPL_OP_EACH:
		return tmpl_each(r, f, n);
	case TMPL_OP_NEXT:
		l = &r->loops[r->nloops - 1];
		if (++l->idx < l->n) {
			l->item = json_object_array_get_idx(l->arr, l->idx);
			f->pc = l->body;
		} else {
			r->nloops--;
			f->pc = n->target;
		}
		return 0;
	default:
		return tmpl_rerr(r, f->t, n, "bad node");
	}
}

/* Renders template t into r->out. */
static int
tmpl_run(struct tmpl_render *r, const struct tmpl *t)
{
	struct tmpl_frame *f;
	const struct tmpl_node *n;

	r->nframes = 1;
	r->frames[0].t = t;
	r->frames[0].pc = 0;
	r->nloops = 0;
	while (r->nframes > 0) {
		f = &r->frames[r->nframes - 1];
		if (f->pc == f->t->nnodes) {
			r->nframes--;
			continue;
		}
		n = &f->t->nodes[f->pc++];
		if (++r->steps > TMPL_MAX_STEPS)
			return tmpl_rerr(r, f->t, n, "render takes too many steps");
		if (r->out->len - r->out_start > TMPL_MAX_OUTPUT)
			return tmpl_rerr(r, f->t, n, "output too large");
		if (tmpl_step(r, f, n) == -1)
			return -1;
	}
	return 0;
}

/* Renders page (and then layout around it, when layout is not NULL) with ctx as the root,
 * appending to out. Returns 0, or -1 on an unknown name or a render error, with
 * "file:line: {{tag}}: reason" in err (err may be NULL). out may then hold a partial page. */
int
tmpl_render_err(const struct tmpl_set *set, const char *layout, const char *page,
    struct json_object *ctx, struct buf *out, char *err, size_t err_len)
{
	struct tmpl_render r;
	struct buf body;
	size_t pi, li = TMPL_NONE;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	buf_init(&body);
	pi = tmpl_find(set, page);
	if (pi == TMPL_NONE) {
		tmpl_err(err, err_len, "no template \"%s\"", page);
		return -1;
	}
	if (layout != NULL) {
		li = tmpl_find(set, layout);
		if (li == TMPL_NONE) {
			tmpl_err(err, err_len, "no template \"%s\"", layout);
			return -1;
		}
	}
	r.set = set;
	r.root = ctx;
	r.err = err;
	r.err_len = err_len;
	r.out = layout != NULL ? &body : out;
	r.out_start = r.out->len;
	if (tmpl_run(&r, &set->t[pi]) == -1)
		goto out;
	if (layout != NULL) {
		r.body = buf_cstr(&body);
		r.body_len = body.len;
		r.out = out;
		r.out_start = out->len;
		if (tmpl_run(&r, &set->t[li]) == -1)
			goto out;
	}
	rc = 0;
out:
	free(r.loops);
	buf_release(&body);
	return rc;
}

/* Renders template name with ctx as the root value (see tmpl.h). Returns 0 or -1. */
int
tmpl_render(const struct tmpl_set *set, const char *name, struct json_object *ctx,
    struct buf *out)
{
	return tmpl_render_err(set, NULL, name, ctx, out, NULL, 0);
}

/* Renders page inside layout (see tmpl.h). Returns 0 or -1. */
int
tmpl_render_layout(const struct tmpl_set *set, const char *layout, const char *page,
    struct json_object *ctx, struct buf *out)
{
	return tmpl_render_err(set, layout, page, ctx, out, NULL, 0);
}

/* text: one safe line of plain text from names sellers and shoppers typed (see text.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/text.h"
#include "base/valid.h"

void
text_clean_line(struct buf *out, const char *s, size_t max, const char *fallback)
{
	static const char ellipsis[] = "…";
	size_t len = s != NULL ? strlen(s) : 0, i = 0, mark = out->len, used = 0, n;
	bool space = false;
	uint32_t cp;

	while (i < len) {
		n = valid_utf8_next((const unsigned char *)s + i, len - i, &cp);
		if (n > 0 && (cp <= 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
		    cp == 0x2028 || cp == 0x2029)) {
			space = used > 0;  /* white space and control characters: one space */
			i += n;
			continue;
		}
		if (used + (space ? 1 : 0) + (n == 0 ? 1 : n) > max)
			goto cut;
		if (space) {
			buf_putc(out, ' ');
			used++;
			space = false;
		}
		if (n == 0) {
			buf_putc(out, '?');  /* not UTF-8: a visible mark, never the raw byte */
			used++;
			i++;
			continue;
		}
		buf_append(out, s + i, n);
		used += n;
		i += n;
	}
	if (used == 0)
		buf_puts(out, fallback);
	return;
cut:
	/* Make room for the ellipsis, cutting back to a character boundary. */
	while (used > 0 && used + sizeof(ellipsis) - 1 > max) {
		do
			used--;
		while (used > 0 && ((unsigned char)out->data[mark + used] & 0xC0) == 0x80);
	}
	buf_truncate(out, mark + used);
	buf_puts(out, ellipsis);
}


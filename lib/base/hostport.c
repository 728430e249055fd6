/* hostport: parsing of "host[:port]" entries and comma-separated lists of them. */
#include <string.h>

#include "base/hostport.h"

static int
hostport_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
hostport_port(const char *d, size_t len, unsigned *port)
{
	const char *end = d + len;
	unsigned long p = 0;

	if (d == end || end - d > 5)
		return -1;
	for (; d < end; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		p = p * 10 + (unsigned long)(*d - '0');
	}
	if (p == 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

int
hostport_parse(const char *entry, size_t len, unsigned def, char *host, size_t cap,
    unsigned *port)
{
	const char *h = entry, *end = entry + len, *colon = NULL, *p;
	unsigned pt = def;

	while (h < end && hostport_blank(*h))
		h++;
	while (end > h && hostport_blank(end[-1]))
		end--;
	if (h < end && *h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close == NULL || (close + 1 < end && close[1] != ':'))
			return -1;
		if (close + 1 < end)
			colon = close + 1;
		h++;
		p = close;
	} else {
		for (p = h; p < end; p++)
			if (*p == ':')
				colon = p;
		p = colon != NULL ? colon : end;
	}
	if (colon != NULL && hostport_port(colon + 1, (size_t)(end - colon - 1), &pt) != 0)
		return -1;
	if (p <= h || (size_t)(p - h) >= cap)
		return -1;
	memcpy(host, h, (size_t)(p - h));
	host[p - h] = '\0';
	*port = pt;
	return 0;
}

int
hostport_next(const char **cursor, unsigned def, char *host, size_t cap, unsigned *port)
{
	const char *s = *cursor, *comma;
	size_t len;

	while (hostport_blank(*s))
		s++;
	if (*s == '\0')
		return 0;
	comma = strchr(s, ',');
	len = comma != NULL ? (size_t)(comma - s) : strlen(s);
	*cursor = comma != NULL ? comma + 1 : s + len;
	return hostport_parse(s, len, def, host, cap, port) == 0 ? 1 : -1;
}

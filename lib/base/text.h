/* text: turning text from sellers and shoppers (product and user names) into one safe line
 * of plain text for messages: mails, 알림톡 template variables. Pure: no I/O. */
#ifndef JT_TEXT_H
#define JT_TEXT_H

#include <stddef.h>
#include "base/buf.h"

/* Appends s to out as one line of plain text of at most max bytes: control characters
 * (C0, DEL, C1, U+2028/2029) and runs of white space become one space, bytes that are not
 * UTF-8 become '?', leading and trailing spaces are dropped, and a longer text is cut at a
 * character boundary and ends with "…" (within max). An empty result (s NULL, empty or only
 * spaces) appends fallback instead. */
void text_clean_line(struct buf *out, const char *s, size_t max, const char *fallback);

#endif

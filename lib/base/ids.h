/* ids: unguessable identifiers and tokens from getrandom(2). */
#ifndef JT_IDS_H
#define JT_IDS_H

#include <stddef.h>

/* Fills p with n cryptographically random bytes. Aborts if the kernel cannot supply them. */
void ids_bytes(void *p, size_t n);

/* Writes len-1 random characters from [0-9a-z] and a NUL into out (len >= 2). With
 * len - 1 = 24 that is ~124 bits. Used for order ids, session ids, request ids. */
void ids_new(char *out, size_t len);

/* Uniform random integer in [0, bound) (bound > 0), for jitter. */
unsigned long ids_uniform(unsigned long bound);

#endif

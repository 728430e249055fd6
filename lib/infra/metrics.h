/* metrics: request counters and latency histograms in a shared memory file, so that every
 * pre-forked process adds to the same numbers and any one of them can render the total. */
#ifndef JT_METRICS_H
#define JT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"

struct metrics;

/* Maps path (created if missing) for routes route_names[0..nroutes) plus one extra slot for
 * requests that matched no route. The file is (re)initialised under an exclusive flock when
 * its layout does not match. Returns NULL (and logs) on failure. route_names must outlive
 * the handle. */
struct metrics *metrics_open(const char *path, const char *const *route_names, size_t nroutes);
void metrics_close(struct metrics **m);

/* The slot for requests that matched no route. */
size_t metrics_unmatched(const struct metrics *m);

/* Counts one request on route (0..nroutes, nroutes = unmatched) with its status and duration.
 * Lock-free (atomic adds). */
void metrics_observe(struct metrics *m, size_t route, int status, uint64_t usec);

/* Appends the Prometheus text exposition of every counter to out. */
void metrics_render(const struct metrics *m, struct buf *out);

/* Reads one counter (for tests): requests on route with status. */
uint64_t metrics_count(const struct metrics *m, size_t route, int status);

#endif

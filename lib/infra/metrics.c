/* metrics: shared-memory request counters and latency histograms across pre-forked processes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "infra/metrics.h"

/* The status codes counted one by one; anything else lands in "other". */
static const int status_codes[] = {
	200, 201, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429,
	500, 502, 503,
};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]) + 1)

/* Histogram upper bounds in microseconds (Prometheus "le" in seconds). */
static const uint64_t bucket_usec[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};
#define NBUCKET (sizeof(bucket_usec) / sizeof(bucket_usec[0]))

#define METRICS_MAGIC UINT64_C(0x6a616e677465306d) /* "jangte0m" */

struct metrics_slot {
	uint64_t by_status[NSTATUS];
	uint64_t buckets[NBUCKET + 1]; /* cumulative counts are computed when rendering */
	uint64_t sum_usec;
};

struct metrics_file {
	uint64_t magic;
	uint64_t layout;  /* hash of the route names and table sizes */
	struct metrics_slot slots[];
};

struct metrics {
	struct metrics_file *map;
	size_t map_len;
	const char *const *route_names;
	size_t nroutes;
};

static uint64_t
layout_hash(const char *const *names, size_t n)
{
	uint64_t h = UINT64_C(1469598103934665603);
	size_t i;
	const char *p;

	for (i = 0; i < n; i++) {
		for (p = names[i]; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
		h = (h ^ 0xff) * UINT64_C(1099511628211);
	}
	h ^= (uint64_t)NSTATUS << 32 | (uint64_t)NBUCKET << 16 | n;
	return h;
}

struct metrics *
metrics_open(const char *path, const char *const *route_names, size_t nroutes)
{
	struct metrics *m;
	struct metrics_file *map;
	size_t len = sizeof(struct metrics_file) + (nroutes + 1) * sizeof(struct metrics_slot);
	uint64_t layout = layout_hash(route_names, nroutes);
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_error(NULL, "metrics: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1) {
		log_error(NULL, "metrics: cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size != len) {
		/* New file or a different layout (another build): start from zero. */
		if (ftruncate(fd, 0) == -1 || ftruncate(fd, (off_t)len) == -1) {
			log_error(NULL, "metrics: cannot size %s: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		log_error(NULL, "metrics: cannot map %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (map->magic != METRICS_MAGIC || map->layout != layout) {
		memset(map, 0, len);
		map->layout = layout;
		__atomic_store_n(&map->magic, METRICS_MAGIC, __ATOMIC_RELEASE);
	}
	flock(fd, LOCK_UN);
	close(fd);

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		abort();
	m->map = map;
	m->map_len = len;
	m->route_names = route_names;
	m->nroutes = nroutes;
	return m;
}

void
metrics_close(struct metrics **m)
{
	if (*m == NULL)
		return;
	munmap((*m)->map, (*m)->map_len);
	free(*m);
	*m = NULL;
}

size_t
metrics_unmatched(const struct metrics *m)
{
	return m->nroutes;
}

static size_t
status_index(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS - 1; i++)
		if (status_codes[i] == status)
			return i;
	return NSTATUS - 1;
}

void
metrics_observe(struct metrics *m, size_t route, int status, uint64_t usec)
{
	struct metrics_slot *s;
	size_t b;

	if (m == NULL)
		return;
	if (route > m->nroutes)
		route = m->nroutes;
	s = &m->map->slots[route];
	for (b = 0; b < NBUCKET && usec > bucket_usec[b]; b++)
		;
	__atomic_fetch_add(&s->by_status[status_index(status)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->sum_usec, usec, __ATOMIC_RELAXED);
}

uint64_t
metrics_count(const struct metrics *m, size_t route, int status)
{
	if (route > m->nroutes)
		return 0;
	return __atomic_load_n(&m->map->slots[route].by_status[status_index(status)],
	    __ATOMIC_RELAXED);
}

static const char *
route_label(const struct metrics *m, size_t route)
{
	return route < m->nroutes ? m->route_names[route] : "unmatched";
}

void
metrics_render(const struct metrics *m, struct buf *out)
{
	size_t r, i;
	uint64_t v, cum, total;

	buf_puts(out, "# HELP jangteo_http_requests_total HTTP requests answered, by route and status.\n"
	    "# TYPE jangteo_http_requests_total counter\n");
	for (r = 0; r <= m->nroutes; r++) {
		for (i = 0; i < NSTATUS; i++) {
			v = __atomic_load_n(&m->map->slots[r].by_status[i], __ATOMIC_RELAXED);
			if (v == 0)
				continue;
			if (i < NSTATUS - 1)
				buf_printf(out, "jangteo_http_requests_total{route=\"%s\",status=\"%d\"} %"
				    PRIu64 "\n", route_label(m, r), status_codes[i], v);
			else
				buf_printf(out, "jangteo_http_requests_total{route=\"%s\",status=\"other\"} %"
				    PRIu64 "\n", route_label(m, r), v);
		}
	}
	buf_puts(out, "# HELP jangteo_http_request_duration_seconds Time from request start to the"
	    " last byte handed to the web server.\n"
	    "# TYPE jangteo_http_request_duration_seconds histogram\n");
	for (r = 0; r <= m->nroutes; r++) {
		const struct metrics_slot *s = &m->map->slots[r];

		total = 0;
		for (i = 0; i <= NBUCKET; i++)
			total += __atomic_load_n(&s->buckets[i], __ATOMIC_RELAXED);
		if (total == 0)
			continue;
		cum = 0;
		for (i = 0; i < NBUCKET; i++) {
			cum += __atomic_load_n(&s->buckets[i], __ATOMIC_RELAXED);
			buf_printf(out, "jangteo_http_request_duration_seconds_bucket{route=\"%s\","
			    "le=\"%" PRIu64 ".%06" PRIu64 "\"} %" PRIu64 "\n", route_label(m, r),
			    bucket_usec[i] / 1000000, bucket_usec[i] % 1000000, cum);
		}
		buf_printf(out, "jangteo_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %"
		    PRIu64 "\n", route_label(m, r), total);
		v = __atomic_load_n(&s->sum_usec, __ATOMIC_RELAXED);
		buf_printf(out, "jangteo_http_request_duration_seconds_sum{route=\"%s\"} %" PRIu64
		    ".%06" PRIu64 "\n", route_label(m, r), v / 1000000, v % 1000000);
		buf_printf(out, "jangteo_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n",
		    route_label(m, r), total);
	}
}

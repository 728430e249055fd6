/* fuzz_bus: feeds arbitrary bytes to the job envelope decoder; whatever it accepts must encode
 * and decode back to the same job, and the encoding must be canonical (a fixed point). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infra/bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus_job j;
	struct bus_job back;
	char enc[512];
	char enc2[512];
	int n;
	int n2;

	if (bus_job_decode((const char *)data, size, &j) != 0)
		return 0;
	if (j.outbox_id <= 0 || (unsigned)j.kind >= JOB__MAX)
		abort();
	n = bus_job_encode(&j, enc, sizeof(enc));
	if (n <= 0 || (size_t)n != strlen(enc))
		abort();
	if (bus_job_decode(enc, (size_t)n, &back) != 0)
		abort();
	if (back.outbox_id != j.outbox_id || back.kind != j.kind)
		abort();
	n2 = bus_job_encode(&back, enc2, sizeof(enc2));
	if (n2 != n || memcmp(enc, enc2, (size_t)n) != 0)
		abort();
	return 0;
}

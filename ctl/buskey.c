/* buskey: jangteoctl bus-keygen: a CURVE key pair for the job bus (lib/infra/bus.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "cmds.h"
#include "infra/bus.h"

int
ctl_bus_keygen(int argc, char **argv)
{
	char pub[BUS_KEY_Z85 + 1], sec[BUS_KEY_Z85 + 1], line[3 * BUS_KEY_Z85 + 64];
	int fd, n;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: jangteoctl bus-keygen SECRET_FILE\n");
		return 2;
	}
	if (!zmq_has("curve") || zmq_curve_keypair(pub, sec) != 0) {
		fprintf(stderr, "jangteoctl: libzmq cannot make CURVE keys\n");
		return 1;
	}
	/* Never overwrite a key: a host whose key changes is refused by every broker. */
	fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		fprintf(stderr, "jangteoctl: %s: %s\n", argv[1], strerror(errno));
		explicit_bzero(sec, sizeof(sec));
		return 1;
	}
	n = snprintf(line, sizeof(line), "# jangteo bus CURVE secret key; public %s\n%s\n", pub,
	    sec);
	explicit_bzero(sec, sizeof(sec));
	if (n < 0 || (size_t)n >= sizeof(line) || write(fd, line, (size_t)n) != n || close(fd) != 0) {
		fprintf(stderr, "jangteoctl: %s: cannot write: %s\n", argv[1], strerror(errno));
		explicit_bzero(line, sizeof(line));
		unlink(argv[1]);
		return 1;
	}
	explicit_bzero(line, sizeof(line));
	printf("%s\n", pub);
	return 0;
}

#!/usr/bin/env python3
"""fakes_nodelay: runs the stack's fakes (tests/fakes/fakes.py, same arguments) with Nagle's
algorithm turned off on the fake PG's and the SMTP sink's connections, for
bench/paid_pipeline.py --pg-nodelay.

Why: the fake PG (http.server) writes a response's headers and its body in two send()s; with
Nagle on, the body waits for the client's ACK of the headers, and libcurl's delayed ACK holds
that for ~40 ms, so every keep-alive confirm costs ~48 ms of wall time and a payment worker
does ~20 confirms/s. The real PG is not the subject of the benchmark; this shows what the
pipeline does once the fake stops adding that wait. The fix in the fake itself is one line
(`disable_nagle_algorithm = True` on pg._Handler, or one write per response). Standard
library only."""
import os
import sys

FAKES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fakes")
sys.path.insert(0, FAKES)

import pg  # noqa: E402
import smtp_sink  # noqa: E402

pg._Handler.disable_nagle_algorithm = True
smtp_sink._Handler.disable_nagle_algorithm = True

import fakes  # noqa: E402

if __name__ == "__main__":
    fakes.main()

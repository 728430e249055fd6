"""fakes: one process serving every stand-in for an internet service jangteo talks to, on
loopback, speaking the real wire protocols: an SMTP sink (smtp_sink.py), the Naver and
Kakao OAuth providers (oauth.py), the Toss Payments and KakaoPay gateways (pg.py), Naver
Shopping search (naver_shop.py) and NHN Cloud's KakaoTalk 알림톡 API (alimtalk.py). Started by script/svc/fakes.sh; writes <run>/fakes/ready
once every server listens, and stops on SIGTERM. Standard library only."""
import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alimtalk  # noqa: E402
import naver_shop  # noqa: E402
import oauth  # noqa: E402
import pg  # noqa: E402
import smtp_sink  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="the stack's run directory")
    ap.add_argument("--smtp-port", type=int, required=True)
    ap.add_argument("--oauth-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--naver-port", type=int, required=True)
    ap.add_argument("--alimtalk-port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (script/cluster: the pg host's address)")
    args = ap.parse_args()
    fakes_dir = os.path.join(args.run, "fakes")
    os.makedirs(fakes_dir, exist_ok=True)

    servers = [
        smtp_sink.serve(args.host, args.smtp_port, os.path.join(args.run, "mail")),
        oauth.serve(args.host, args.oauth_port, fakes_dir),
        pg.serve(args.host, args.pg_port, fakes_dir),
        naver_shop.serve(args.host, args.naver_port, fakes_dir),
        alimtalk.serve(args.host, args.alimtalk_port, fakes_dir),
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(os.path.join(fakes_dir, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    stop.wait()
    for s in servers:
        s.shutdown()


if __name__ == "__main__":
    main()

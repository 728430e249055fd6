"""The outbox path end to end: handler -> MariaDB outbox -> ZeroMQ bus -> worker, exactly once,
also when the worker is killed with SIGKILL mid-job or the bus was down."""
import os
import signal
import threading

from jt import count, eq, eventually, get, pids, post_json, sql, stack


def job(message, sleep_ms=0):
    r = post_json("/api/v1/_test/jobs", {"message": message, "sleep_ms": sleep_ms})
    eq(r.status, 201, "create status")
    return r.json()["id"]


def state(job_id):
    r = get("/api/v1/_test/jobs/%d" % job_id)
    eq(r.status, 200, "job status")
    return r.json()


def test_a_job_reaches_a_worker_once():
    jid = job("안녕하세요")
    done = eventually(lambda: state(jid)["status"] == "done" and state(jid), what="job done")
    eq(done, {"id": jid, "status": "done", "attempts": 1, "effects": 1}, "job")


def test_unknown_job_is_404():
    eq(get("/api/v1/_test/jobs/999999999").status, 404, "unknown id")
    eq(get("/api/v1/_test/jobs/abc").status, 404, "non-numeric id")


def test_many_parallel_jobs_each_done_once():
    ids = []
    lock = threading.Lock()

    def make():
        for i in range(10):
            j = job("batch %d" % i)
            with lock:
                ids.append(j)
    threads = [threading.Thread(target=make) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(len(set(ids)), 50, "distinct jobs")
    for j in ids:
        s = eventually(lambda: state(j)["status"] == "done" and state(j), what="job %d" % j)
        eq(s["effects"], 1, "effects of %d" % j)


def test_worker_killed_mid_job_then_restarted_completes_once():
    # The job sleeps 2 s (inside its 5 s claim, see run-stack-tests.sh): kill during the sleep.
    jid = job("kill me", sleep_ms=2000)
    eventually(lambda: state(jid)["status"] == "claimed", what="job claimed")
    victims = pids("worker-*")
    assert victims, "no worker pids recorded"
    for p in victims:
        os.kill(p, signal.SIGKILL)
    stack("start", "workers")
    done = eventually(lambda: state(jid)["status"] == "done" and state(jid), timeout=30,
                      what="job done after restart")
    eq(done["effects"], 1, "effects")
    eq(done["attempts"], 2, "attempts")


def test_job_created_while_the_bus_is_down_is_redriven():
    stack("stop", "bus")
    try:
        jid = job("bus was down")
        eq(state(jid)["status"], "pending", "still pending")
    finally:
        stack("start", "bus")
    done = eventually(lambda: state(jid)["status"] == "done" and state(jid), timeout=30,
                      what="job done after bus restart")
    eq(done["effects"], 1, "effects")


def test_worker_killed_mid_batch_every_job_of_the_batch_ends_once():
    # Jobs waiting while the demo workers are down: on restart each worker's claims grow
    # (1, 2, 4, ...), so a batch of several jobs is claimed in one statement under one token.
    # Kill every worker when a batch of 3 or more has run its first job (700 ms each).
    stack("stop", "workers")
    try:
        ids = [job("batch kill %d" % i, sleep_ms=700) for i in range(14)]
    finally:
        stack("start", "workers")
    inlist = ",".join(str(i) for i in ids)

    def big_batch():
        rows = sql("SELECT claim_token, COUNT(*) FROM outbox WHERE status = 'claimed' AND id IN"
                   " (%s) GROUP BY claim_token HAVING COUNT(*) >= 3" % inlist)
        return rows[0][0] if rows else None
    token = eventually(big_batch, timeout=20, interval=0.05, what="a batch of 3 claimed")
    batch = [int(r[0]) for r in sql("SELECT id FROM outbox WHERE claim_token = '%s'" % token)]
    eventually(lambda: count("SELECT COUNT(*) FROM job_echo_effects WHERE outbox_id IN (%s)"
                             % ",".join(str(i) for i in batch)) >= 1, timeout=5, interval=0.05,
               what="the batch's first job done")
    for p in pids("worker-*"):
        os.kill(p, signal.SIGKILL)
    held = count("SELECT COUNT(*) FROM outbox WHERE claim_token = '%s' AND status = 'claimed'"
                 % token)
    assert held >= 1, "the batch still holds unrun jobs when its worker dies"
    stack("start", "workers")
    for j in ids:
        s = eventually(lambda: state(j)["status"] == "done" and state(j), timeout=30,
                       what="job %d done after the kill" % j)
        eq(s["effects"], 1, "effects of %d" % j)
    eq(count("SELECT COUNT(*) FROM job_echo_effects WHERE outbox_id IN (%s)" % inlist), 14,
       "every job's effect exactly once")
    # the killed batch's unrun jobs spent the attempt of the dead claim, and no more
    for j in batch:
        if state(j)["attempts"] not in (1, 2):
            raise AssertionError("job %d: attempts %r" % (j, state(j)["attempts"]))

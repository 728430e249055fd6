"""Reconciliation started from the admin console (issue 15): a PG's settlement file uploaded on
/admin/reconcile (multipart/form-data, or pasted; the CSV `jangteoctl reconcile` reads) or a day fetched from Toss's settlement
API is run dry first (findings shown, nothing changed), then applied from the dry run's page
(exactly the reviewed input, once); every run is audited; bad input, a missing PG or a held lock
is refused POST-then-redirect (303 to ?err=<code>, the page a 4xx with a Korean message) and
records no run; a malformed multipart body is a 400 and records none either. The classification and the repairs
themselves are test_reconcile.py's."""
import html
import re

from jt import count, eq, redis, sql
from jt import order_status as status
from test_admin import admin, audits, flash, page, redirected, refused
from test_reconcile import (FreshDay, findings, lock_free, paid_order, settlement_file,
                            unknown_order)


def run_row(run_id):
    r = sql("SELECT pg, source, dry_run, status, rows_read FROM recon_runs WHERE id = %d"
            % run_id)[0]
    return r[0], r[1], r[2] == "1", r[3], int(r[4])


def run_id_of(location):
    m = re.match(r"^/admin/reconcile/(\d+)\?ok=", location)
    if not m:
        raise AssertionError("not a run page: %r" % location)
    return int(m.group(1))


def error_of(text):
    m = re.search(r'<p class="error" id="error" role="alert">([^<]*)</p>', text)
    return html.unescape(m.group(1)) if m else None


def test_an_uploaded_file_is_run_dry_then_applied_once():
    a = admin()
    with FreshDay() as day:
        ok, ok_key, _ = paid_order(1000)
        lost, lost_key, _ = unknown_order(1200)
        path, nrows = settlement_file("toss", day.date)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        r = a.post_multipart("/admin/reconcile/upload", {"pg": "toss", "name": ""},
                             {"file": ("toss-day.csv", text, "text/csv")})
        loc = redirected(r, "/admin/reconcile/")
        dry = run_id_of(loc)
        eq(loc, "/admin/reconcile/%d?ok=recon_dry_run" % dry, "to the dry run")
        eq(run_row(dry), ("toss", "toss-day.csv", True, "done", nrows), "a dry run")
        fs = findings(dry)
        eq(fs[lost_key], [("missing_here", "would_mark_paid", lost, 1200, -1)], "would repair")
        eq(status(lost), "UNKNOWN", "nothing changed yet")
        eq([(x[1], x[3]) for x in audits(a.user_id, "reconcile.run")],
           [("reconcile:%d" % dry, {"pg": "toss", "source": "toss-day.csv", "date": day.date,
                                    "dryRun": True, "rows": nrows})], "audited")
        text_page = page(a.get(loc), 200)
        eq(flash(text_page), "모의 대사를 마쳤습니다. 결과를 확인한 뒤 적용하세요. 아직 아무것도"
           " 바꾸지 않았습니다.", "flash")
        assert 'action="/admin/reconcile/%d/apply"' % dry in text_page, "the apply button"
        lock_free()

        loc = redirected(a.post_form("/admin/reconcile/%d/apply" % dry, {}), "/admin/reconcile/")
        applied = run_id_of(loc)
        eq(loc, "/admin/reconcile/%d?ok=recon_applied" % applied, "to the applied run")
        eq(run_row(applied)[1:4], ("toss-day.csv", False, "done"), "applied for real")
        eq([x[:2] for x in findings(applied)[lost_key]], [("missing_here", "marked_paid")],
           "repaired")
        eq(status(lost), "PAID", "the lost answer is recovered")
        eq(findings(applied)[ok_key], [("match", "none", ok, 1000, 1000)], "match")
        eq(flash(page(a.get(loc), 200)), "대사를 적용했습니다.", "flash")
        eq(len(audits(a.user_id, "reconcile.run")), 2, "both audited")
        # Applied once: the dry run's page has no button any more, a second apply is refused.
        assert "/apply" not in page(a.get("/admin/reconcile/%d" % dry), 200)
        runs = count("SELECT COUNT(*) FROM recon_runs")
        page(a.post_form("/admin/reconcile/%d/apply" % dry, {}), 409)
        page(a.post_form("/admin/reconcile/%d/apply" % applied, {}), 404)
        eq(count("SELECT COUNT(*) FROM recon_runs"), runs, "no run")
        lock_free()
        # The list shows both.
        listing = page(a.get("/admin/reconcile"), 200)
        for rid in (dry, applied):
            assert 'data-run="%d"' % rid in listing


def test_a_day_fetched_from_the_pg_is_run_dry_then_applied():
    a = admin()
    with FreshDay() as day:
        ok, ok_key, _ = paid_order(2100)
        loc = redirected(a.post_form("/admin/reconcile/fetch", {"pg": "toss", "date": day.date}),
                         "/admin/reconcile/")
        dry = run_id_of(loc)
        eq(run_row(dry), ("toss", "api:" + day.date, True, "done", 1), "fetched, dry")
        eq(findings(dry), {ok_key: [("match", "none", ok, 2100, 2100)]}, "a match")
        loc = redirected(a.post_form("/admin/reconcile/%d/apply" % dry, {}), "/admin/reconcile/")
        eq(run_row(run_id_of(loc))[1:4], ("api:" + day.date, False, "done"), "applied")
        lock_free()


def test_bad_input_or_a_held_lock_is_refused_in_korean_and_records_no_run():
    a = admin()
    header = ("settlement_date,pg,type,payment_key,order_id,transaction_key,amount,fee,net,"
              "transaction_at\n")
    good = header + "2020-01-02,toss,approve,tkey1,order-0001,tx1,1000,33,967," \
                    "2020-01-02T10:00:00+09:00\n"
    runs = count("SELECT COUNT(*) FROM recon_runs")
    csv_file = ("day.csv", good, "text/csv")
    for path, fields, files, want_status, message in [
            ("upload", {"pg": "toss"}, None, 400, "정산 파일(CSV)을 선택해 주세요."),
            ("upload", {"pg": "toss"}, {"file": ("", b"", "application/octet-stream")}, 400,
             "정산 파일(CSV)을 선택해 주세요."),
            ("upload", {"pg": "toss"}, {"file": ("day.png", b"\x89PNG\r\n", "image/png")}, 400,
             "CSV 파일(.csv, UTF-8)만 올릴 수 있습니다."),
            ("upload", {"pg": "toss"}, {"file": ("day.csv", b"a,\x00\xff", "text/csv")}, 400,
             "CSV 파일(.csv, UTF-8)만 올릴 수 있습니다."),
            ("upload", {"pg": "paypal"}, {"file": csv_file}, 400, "PG를 선택해 주세요."),
            ("upload", {}, {"file": csv_file}, 400, "PG를 선택해 주세요."),
            ("upload", {"pg": "toss", "name": "x" * 101}, {"file": csv_file}, 400,
             "파일 이름은 100자 이하로 적어 주세요."),
            ("upload", {"pg": "toss"}, {"file": ("d.csv", header + "2020-01-02,toss", "text/csv")},
             400, "정산 파일을 읽을 수 없습니다. (line 2: 2 fields, want 10)"),
            ("upload", {"pg": "kakaopay"}, {"file": csv_file}, 400,
             "정산 파일을 읽을 수 없습니다. (line 2: pg \"toss\" in a kakaopay settlement file)"),
            ("upload", {"pg": "toss", "csv": header + "2020-01-02,toss"}, None, 400,
             "정산 파일을 읽을 수 없습니다. (line 2: 2 fields, want 10)"),
            ("fetch", {"pg": "kakaopay", "date": "2020-01-02"}, None, 400,
             "카카오페이는 정산 조회 API가 없습니다. 정산 파일을 올려 주세요."),
            ("fetch", {"pg": "toss", "date": "2020-02-30"}, None, 400,
             "정산일을 2026-12-06처럼 입력해 주세요."),
            ("fetch", {"pg": "toss"}, None, 400, "정산일을 2026-12-06처럼 입력해 주세요.")]:
        if path == "upload" and files is not None:
            r = a.post_multipart("/admin/reconcile/" + path, fields, files)
        else:
            r = a.post_form("/admin/reconcile/" + path, fields)
        got = error_of(refused(a, r, want_status))
        if got != message:
            raise AssertionError("%s %r: want %r, got %r" % (path, fields, message, got))
    # What was pasted comes back, escaped, and the PG chosen stays chosen.
    r = a.post_form("/admin/reconcile/upload", {"pg": "kakaopay", "csv": "<script>x</script>"})
    text = refused(a, r, 400)
    assert "<script>x</script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert '<option value="kakaopay" selected>' in text
    # A malformed multipart body (never closed), a body without the CSRF token: refused before
    # the handler, nothing run.
    eq(a.post_multipart("/admin/reconcile/upload", {}, raw=b"--{B}\r\nContent-Disposition: "
                        b"form-data; name=\"pg\"\r\n\r\ntoss").status, 400, "malformed")
    eq(a.post_multipart("/admin/reconcile/upload", {"pg": "toss"}, {"file": csv_file},
                        csrf=False).status, 403, "no CSRF token")
    # Another run holds the lock.
    redis("SET", "recon:lock", "someone-else", "PX", "20000")
    try:
        r = a.post_multipart("/admin/reconcile/upload", {"pg": "toss"}, {"file": csv_file})
        eq(error_of(refused(a, r, 409)), "다른 대사가 진행 중입니다. 끝난 뒤 다시 시도해 주세요.",
           "locked")
    finally:
        redis("DEL", "recon:lock")
    eq(a.post_form("/admin/reconcile/999999999/apply", {}).status, 404, "no such run")
    eq(a.post_form("/admin/reconcile/abc/apply", {}).status, 404, "malformed id")
    eq(count("SELECT COUNT(*) FROM recon_runs"), runs, "no run recorded")
    eq(audits(a.user_id), [], "nothing audited")
    # The page has both forms.
    text = page(a.get("/admin/reconcile"), 200)
    assert 'id="recon-upload"' in text and 'id="recon-fetch"' in text

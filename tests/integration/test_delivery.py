"""Delivery (issue 15): the shopper's address book (fields checked and explained next to each
one, one default, scoped to its owner), and fulfilment beside the payment status: each seller's
parcel goes PREPARING → SHIPPED (courier + tracking number) → DELIVERED → RETURN_REQUESTED, a
shopper's cancel is refused once a parcel left, a ship is refused once the order is cancelled,
and a ship racing a cancel leaves exactly one of them done. The staff's moves go through the
admin console in the journey test; the test routes (/api/v1/_test/orders/{id}/ship, /deliver)
are the shortcut of the tests about the rules."""
import re
import secrets
import urllib.parse

from jt import (Session, envelope, eq, make_product, make_seller, make_user, parallel,
                post_json, sql)
from test_admin import admin, refused

MSG_PHONE = "연락처를 010-1234-5678처럼 숫자로 입력해 주세요."
MSG_ZIP = "우편번호 5자리 숫자를 입력해 주세요."
MSG_RECIPIENT = "받는 분 이름을 1~20자로 입력해 주세요."


def address(**kw):
    a = {"recipient": "김장터", "phone": "01012345678", "zipcode": "03925",
         "address1": "서울특별시 마포구 월드컵북로 396", "address2": "10층", "memo": "문 앞",
         "label": "회사"}
    a.update(kw)
    return a


def defaults(uid):
    return [int(r[0]) for r in sql("SELECT id FROM addresses WHERE user_id = %d AND"
                                   " is_default = 1" % uid)]


def ids_of(uid):
    return [int(r[0]) for r in sql("SELECT id FROM addresses WHERE user_id = %d ORDER BY id"
                                   % uid)]


def test_address_book_explains_each_field_keeps_one_default_and_stays_private():
    uid = make_user()
    s = Session(uid)
    page = s.get("/addresses")
    eq(page.status, 200, "book")
    assert "저장된 배송지가 없습니다." in page.text
    form = s.get("/addresses/new?next=%2Fcheckout")
    assert 'name="next" value="/checkout"' in form.text and "novalidate" in form.text
    bad = s.post_form("/addresses", address(recipient=" ", phone="010-12", zipcode="1234",
                                            address1="<b>x</b>"))
    eq(bad.status, 400, "refused")
    for field, message in [("recipient", MSG_RECIPIENT), ("phone", MSG_PHONE),
                           ("zipcode", MSG_ZIP)]:
        want = '<p class="field-error" id="%s-error">%s</p>' % (field, message)
        assert want in bad.text, (field, bad.text)
        assert 'aria-describedby="%s-error"' % field in bad.text
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in bad.text, "what was typed comes back, escaped"
    assert 'id="address1-error"' not in bad.text, "a good field has no message"
    eq(ids_of(uid), [], "nothing stored")

    r = s.post_form("/addresses", address())
    eq((r.status, r.header("Location")), (303, "/addresses?done=saved"), "saved")
    first = ids_of(uid)[0]
    eq(sql("SELECT phone, zipcode, recipient FROM addresses WHERE id = %d" % first),
       [["010-1234-5678", "03925", "김장터"]], "phone formatted")
    eq(defaults(uid), [first], "the first address is the default")
    for phone, want in [("02-123-4567", "02-123-4567"), ("0311234567", "031-123-4567"),
                        ("010 9876 5432", "010-9876-5432")]:
        r = s.post_form("/addresses", address(phone=phone, next="/checkout"))
        eq((r.status, r.header("Location")), (303, "/checkout"), "back to checkout")
        eq(sql("SELECT phone FROM addresses WHERE user_id = %d ORDER BY id DESC LIMIT 1" % uid),
           [[want]], "phone %r" % phone)
    eq(s.post_form("/addresses", address(next="//evil.test/")).header("Location"),
       "/addresses?done=saved", "next is only ever one of ours")
    newest = ids_of(uid)[-1]
    r = s.post_form("/addresses/%d/default" % newest, {})
    eq((r.status, r.header("Location")), (303, "/addresses?done=default"), "default moved")
    eq(defaults(uid), [newest], "one default")
    page = s.get("/addresses?done=default").text
    assert "기본 배송지를 바꿨습니다." in page
    assert page.index('data-address="%d"' % newest) < page.index('data-address="%d"' % first), \
        "the default first"
    r = s.post_form("/addresses/%d" % first, address(recipient="이장터", is_default="1"))
    eq(r.status, 303, "edited")
    eq(sql("SELECT recipient FROM addresses WHERE id = %d" % first), [["이장터"]], "changed")
    eq(defaults(uid), [first], "and made the default")

    # Someone else's address does not exist for you.
    thief = Session(make_user())
    for path in ["/addresses/%d/edit" % first]:
        eq(thief.get(path).status, 404, path)
    for path in ["/addresses/%d" % first, "/addresses/%d/default" % first,
                 "/addresses/%d/delete" % first]:
        eq(thief.post_form(path, address()).status, 404, path)
    eq(sql("SELECT recipient FROM addresses WHERE id = %d" % first), [["이장터"]], "untouched")
    assert "이장터" not in thief.get("/addresses").text
    eq(s.post_form("/addresses/%d/delete" % first, {}, csrf=False).status, 403, "CSRF")

    r = s.post_form("/addresses/%d/delete" % first, {})
    eq((r.status, r.header("Location")), (303, "/addresses?done=deleted"), "deleted")
    eq(defaults(uid), [ids_of(uid)[-1]], "the newest left is the default now")
    while len(ids_of(uid)) < 20:
        eq(s.post_form("/addresses", address()).status, 303, "up to 20")
    full = s.post_form("/addresses", address())
    eq(full.status, 409, "the 21st")
    assert "20개까지" in full.text
    eq(len(ids_of(uid)), 20, "still 20")


def two_seller_order(s, uid):
    """A paid (points) order of two sellers' products; returns (order id, seller a, seller b,
    product a, product b)."""
    sa, sb = make_seller("ship-a-" + secrets.token_hex(3)), make_seller("ship-b-" + secrets.token_hex(3))
    pa = make_product(price=1000, stock=10, seller_id=sa)
    pb = make_product(price=2000, stock=10, seller_id=sb)
    r = s.post_json("/api/v1/orders", {"products": [{"id": pa, "quantity": 1},
                                                    {"id": pb, "quantity": 1}],
                                       "paymentMethod": "points"})
    eq(r.status, 201, "paid order: %r" % r.body[:200])
    return r.json()["orderId"], sa, sb, pa, pb


def ship(oid, seller, courier="cj", tracking="123456789012"):
    return post_json("/api/v1/_test/orders/%s/ship" % oid,
                     {"sellerId": seller, "courier": courier, "trackingNo": tracking})


def staff_ship(a, oid, seller, courier="cj", tracking="123456789012"):
    """The staff's ship through the console, as admin session a."""
    return a.post_form("/admin/fulfilment/ship", {"order": oid, "seller": str(seller),
                                                  "courier": courier, "tracking_no": tracking})


def staff_deliver(a, oid, seller):
    return a.post_form("/admin/fulfilment/deliver", {"order": oid, "seller": str(seller)})


def delivery(oid, seller):
    rows = sql("SELECT d.status, COALESCE(d.courier, ''), COALESCE(d.tracking_no, '') FROM"
               " order_deliveries d JOIN orders o ON o.id = d.order_id WHERE o.public_id = '%s'"
               " AND d.seller_id = %d" % (oid, seller))
    return tuple(rows[0]) if rows else None


def order_status(oid):
    return sql("SELECT status FROM orders WHERE public_id = '%s'" % oid)[0][0]


def test_each_sellers_parcel_moves_on_its_own_and_the_shopper_sees_it_in_korean():
    uid = make_user(points=100000)
    s = Session(uid)
    oid, sa, sb, pa, pb = two_seller_order(s, uid)
    page = s.get("/orders/" + oid).text
    eq(len(re.findall(r'class="delivery" data-seller="\d+" data-status="PREPARING"', page)), 2,
       "two parcels being prepared")
    assert '<li class="now" aria-current="step">배송준비중</li>' in page, page

    # The staff's journey goes through the console (/admin/fulfilment; test_fulfilment.py).
    a = admin()
    # A refused ship redirects back to the console (?err=), whose page answers the status.
    refused(a, staff_ship(a, oid, sa, courier="ups"), 400)           # unknown courier
    refused(a, staff_ship(a, oid, sa, tracking="12<3>"), 400)        # bad tracking number
    refused(a, staff_ship(a, oid, make_seller("nobody")), 404)       # no goods of that seller
    eq(staff_ship(a, oid, sa).header("Location"), "/admin/fulfilment?ok=parcel_shipped", "shipped")
    eq(staff_ship(a, oid, sa).header("Location"), "/admin/fulfilment?ok=parcel_already",
       "the same again")
    refused(a, staff_ship(a, oid, sa, tracking="999999999999"), 409)  # another number
    eq(delivery(oid, sa), ("SHIPPED", "cj", "123456789012"), "a's parcel")
    eq(delivery(oid, sb), ("PREPARING", "", ""), "b's still being prepared")
    eq(order_status(oid), "PAID", "the payment status is its own")
    page = s.get("/orders/" + oid).text
    assert "CJ대한통운 운송장 <strong class=\"tracking\">123456789012</strong>" in page, page
    assert '<li class="now" aria-current="step">배송준비중</li>' in page, \
        "the order is as far as its slowest parcel"

    # A parcel left: the shopper's cancel is now a return; nothing changes.
    before = sql("SELECT status, refunded_amount FROM orders WHERE public_id = '%s'" % oid)
    envelope(s.post_json("/api/v1/orders/%s/cancel" % oid, {}), 409, "ALREADY_SHIPPED")
    envelope(s.post_json("/api/v1/orders/%s/refunds" % oid, {}), 409, "ALREADY_SHIPPED")
    eq(s.get("/orders/%s/cancel" % oid).status, 409, "no cancel confirmation")
    eq(s.get("/orders/%s/refund" % oid).status, 409, "no refund form")
    assert 'id="cancel-link"' not in page and 'id="refund-link"' not in page
    eq(sql("SELECT status, refunded_amount FROM orders WHERE public_id = '%s'" % oid), before,
       "nothing refunded")

    refused(a, staff_deliver(a, oid, sb), 409)                        # b has not left
    eq(staff_deliver(a, oid, sa).status, 303, "delivered")
    eq(staff_deliver(a, oid, sa).status, 303, "again: nothing changes")
    eq(staff_ship(a, oid, sb, courier="epost", tracking="6070123456789").status, 303, "b")
    eq(staff_deliver(a, oid, sb).status, 303, "b delivered")
    page = s.get("/orders/" + oid).text
    assert re.search(r'<ol class="steps" id="steps"[^>]*>\s*(<li class="done">[^<]+</li>){4}\s*</ol>',
                     page), "every step done"
    assert "우체국택배" in page and page.count(">반품 신청</a>") == 2, page

    # The return: the reason is asked for next to its field, then the parcel goes back.
    form = s.get("/orders/%s/return?seller=%d" % (oid, sa))
    eq(form.status, 200, "return form")
    r = s.post_form("/orders/%s/return" % oid, {"seller": str(sa), "reason": "  "})
    eq(r.status, 400, "no reason")
    assert '<p class="field-error" id="return-reason-error">반품 사유를 1~200자로 적어 주세요.</p>' \
        in r.text, r.text
    r = s.post_form("/orders/%s/return" % oid, {"seller": str(sa), "reason": "<b>파손</b>"})
    eq((r.status, r.header("Location")), (303, "/orders/%s?done=return_requested" % oid),
       "asked")
    eq(delivery(oid, sa)[0], "RETURN_REQUESTED", "a comes back")
    eq(s.post_form("/orders/%s/return" % oid, {"seller": str(sa), "reason": "또"}).status, 303,
       "asking twice changes nothing")
    page = s.get(r.header("Location")).text
    assert "반품을 신청했습니다." in page and "반품요청" in page and "<b>파손" not in page
    # Past shipping.return_days (7): too late for b.
    sql("UPDATE order_deliveries d JOIN orders o ON o.id = d.order_id SET d.delivered_at ="
        " NOW(3) - INTERVAL 8 DAY WHERE o.public_id = '%s' AND d.seller_id = %d" % (oid, sb))
    eq(s.get("/orders/%s/return?seller=%d" % (oid, sb)).status, 409, "no form past the window")
    r = s.post_form("/orders/%s/return" % oid, {"seller": str(sb), "reason": "늦었지만"})
    eq(r.status, 409, "too late")
    assert "반품 신청 기간이 지났습니다." in r.text
    eq(delivery(oid, sb)[0], "DELIVERED", "b stays")
    # Not yours: not found.
    thief = Session(make_user())
    eq(thief.post_form("/orders/%s/return" % oid, {"seller": str(sb), "reason": "x"}).status,
       404, "another shopper's order")


def test_unpaid_or_cancelled_orders_do_not_ship():
    uid = make_user(points=100000)
    s = Session(uid)
    seller = make_seller("ship-c")
    p = make_product(price=1500, stock=10, seller_id=seller)
    pending = s.post_json("/api/v1/orders", {"products": [{"id": p, "quantity": 1}],
                                             "paymentMethod": "toss"}).json()["orderId"]
    envelope(ship(pending, seller), 409, "DELIVERY_WRONG_STATE")
    paid = s.post_json("/api/v1/orders", {"products": [{"id": p, "quantity": 2}],
                                          "paymentMethod": "points"}).json()["orderId"]
    eq(s.post_json("/api/v1/orders/%s/cancel" % paid, {}).status, 200, "cancelled (points)")
    eq(order_status(paid), "CANCELED", "cancelled")
    envelope(ship(paid, seller), 409, "DELIVERY_WRONG_STATE")
    eq(delivery(paid, seller), ("PREPARING", "", ""), "its parcel never left")
    envelope(ship("x" * 24, seller), 404, "ORDER_NOT_FOUND")


def test_a_ship_racing_a_cancel_leaves_exactly_one_done():
    uid = make_user(points=1000000)
    s = Session(uid)
    seller = make_seller("ship-race")
    p = make_product(price=1000, stock=100, seller_id=seller)
    outcomes = set()
    for _ in range(6):
        oid = s.post_json("/api/v1/orders", {"products": [{"id": p, "quantity": 1}],
                                             "paymentMethod": "points"}).json()["orderId"]
        res = parallel(2, lambda i: ship(oid, seller) if i == 0 else
                       s.post_json("/api/v1/orders/%s/cancel" % oid, {}))
        shipped, cancelled = res[0].status == 200, res[1].status == 200
        assert shipped != cancelled, "exactly one wins: ship %d, cancel %d" % (
            res[0].status, res[1].status)
        if shipped:
            eq((order_status(oid), delivery(oid, seller)[0]), ("PAID", "SHIPPED"), "shipped")
            eq(res[1].json()["error"]["code"], "ALREADY_SHIPPED", "the cancel says why")
        else:
            eq(order_status(oid), "CANCELED", "cancelled")
            eq(res[0].json()["error"]["code"], "DELIVERY_WRONG_STATE", "the ship says why")
        outcomes.add("ship" if shipped else "cancel")
    print("  ship/cancel race outcomes seen: %s" % sorted(outcomes))

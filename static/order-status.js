/* order-status.js: the "order received" page's poller (templates/order_received.html). It
 * asks GET /api/v1/orders/{id} every second, backing off to five, until the status is final,
 * and updates the page in place. The Korean words come with the order (statusLabel, from
 * lib/shop/labels.c), so this file holds no copy of them. A file of its own because the CSP
 * allows only same-origin scripts (script-src 'self'); the web server serves it from
 * static.dir under /static/. Without JavaScript the page links to the order, which shows the
 * status itself. */
(function () {
  'use strict';
  var box = document.getElementById('order-status');
  if (!box) { return; }
  var id = box.getAttribute('data-order');
  var label = document.getElementById('status-label');
  var note = document.getElementById('status-note');
  var delay = 1000;
  function show(o) {
    box.setAttribute('data-status', o.status);
    label.textContent = o.statusLabel || o.status;
    if (o.status === 'UNKNOWN') {
      note.textContent = '결제사 응답을 확인하고 있습니다. 잠시 후 다시 확인해 주세요.';
    } else if (o.failure && o.status === 'FAILED') {
      note.textContent = o.failure.message || '';
    } else if (o.final) {
      note.textContent = o.status === 'PAID' ? '결제가 완료되었습니다. 판매자가 상품을 준비합니다.' : '';
    }
  }
  function poll() {
    fetch('/api/v1/orders/' + encodeURIComponent(id), { credentials: 'same-origin',
      headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (o) {
        if (o) { show(o); if (o.final) { return; } }
        delay = Math.min(delay * 1.5, 5000);
        setTimeout(poll, delay);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (box.getAttribute('data-final') !== 'true') { setTimeout(poll, delay); }
})();

/* order-status.js: the "order received" page's poller (templates/order_received.html). It
 * asks GET /api/v1/orders/{id} every second, backing off to five, until the status is final,
 * and updates the page in place. A file of its own because the CSP allows only same-origin
 * scripts (script-src 'self'); the web server serves it from static.dir under /static/. */
(function () {
  'use strict';
  var box = document.getElementById('order-status');
  if (!box) { return; }
  var id = box.getAttribute('data-order');
  var label = document.getElementById('status-label');
  var note = document.getElementById('status-note');
  var words = { PENDING: '결제 대기', CONFIRMING: '결제 확인 중', PAID: '결제 완료',
    FAILED: '결제 실패', UNKNOWN: '결제 확인 지연', EXPIRED: '주문 만료',
    CANCELED: '주문 취소', PARTIALLY_CANCELED: '부분 취소' };
  var delay = 1000;
  function show(o) {
    box.setAttribute('data-status', o.status);
    label.textContent = words[o.status] || o.status;
    if (o.status === 'UNKNOWN') {
      note.textContent = '결제사 응답을 확인하고 있습니다. 잠시 후 다시 확인해 주세요.';
    } else if (o.failure && o.status === 'FAILED') {
      note.textContent = o.failure.message || '';
    } else if (o.final) {
      note.textContent = '';
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

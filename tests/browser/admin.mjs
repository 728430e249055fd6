// admin: the admin's journey in the browser, at 1280 and 390 px: sign in, the console's
// dashboard (sales cards, the 14 days' SVG chart, orders by state in Korean, breakers, outbox
// backlog), the orders list (filter by status, sort by amount, Korean labels, amounts in won),
// a stock adjustment on a product's page and a refused one (the address bar leaves the POST
// address, so a reload re-submits nothing), a partial and then a full refund of a paid order,
// the ledger's trial balance moving by the refunded amounts with Korean account names, the
// audit log and one record's page, a bulk shipping file uploaded (and one refused: no file),
// a reconciliation file refused (not a CSV), and the money and operations pages. Every page must pass
// axe-core (no serious or critical finding), html-validate and fit the viewport (strict).
// Written against the console's hooks:
//   /admin/fulfilment     tr.parcel[data-order][data-seller] holding form.ship (select courier,
//                         input tracking_no) or, on ?status=SHIPPED, form.deliver
//   /admin/products/{id}  form#stock-adjust with inputs delta, reason
//   /admin/orders/{id}    form#refund with inputs qty_<productId>, reason, a submit button for
//                         the lines given and button[name=full][value="1"] for everything left
//   /admin/ledger         table#trial-balance, cells [data-account="<code>"] holding integers
// fx is the JSON of fixtures.py (fx.refund: an order paid with Toss, 3 units; fx.ship: an order
// paid with Toss whose parcel the journey ships).
import { BASE, Journey, assert, eq, eventually, trialBalance, won } from './lib.mjs';

const PLACEHOLDER = '준비 중입니다';

export async function run(browser, fx, width = 1280) {
  const j = new Journey(browser, `admin-${width}`, width, true);
  await j.open();
  try {
    // Each width adjusts its own product and refunds its own order (fixtures.py).
    const own = width < 600 ?
      { ...fx, adjust: fx.adjustPhone, refund: fx.refundPhone, ship: fx.shipPhone } : fx;
    await journey(j, own);
  } finally {
    await j.close();
  }
  return j;
}

// Opens path and checks it is a real console page (200, not the placeholder template).
async function adminPage(page, path, template) {
  const resp = await page.goto(BASE + path);
  eq(resp.status(), 200, `GET ${path} status`);
  const text = await page.locator('main').textContent();
  assert(!text.includes(PLACEHOLDER),
    `${path} is still the placeholder (templates/${template} reads "${PLACEHOLDER}")`);
}

// How a refund of amount won through pg shows in the trial balance against before (see
// lib/shop/ledger.h): the posting refund:<id> debits "refunds" and credits pg_receivable:<pg>.
// ("refunds" then goes back to its balance when the refund.settle job takes the money back
// from the seller, so its debits, not its balance, show the refund.) Returns a description
// when either moved by exactly amount the right way, else null.
function refundMoved(before, now, amount, pg) {
  const delta = (code, field) => {
    const a = now[code] ? now[code][field] : 0;
    const b = before[code] ? before[code][field] : 0;
    return (a ?? 0) - (b ?? 0);
  };
  const refunds = delta('refunds', 'debits');
  const recv = delta(`pg_receivable:${pg}`, 'balance');
  if (refunds !== amount && recv !== -amount) {
    return null;
  }
  return `refunds debits ${refunds >= 0 ? '+' : ''}${refunds}, ` +
    `pg_receivable:${pg} balance ${recv >= 0 ? '+' : ''}${recv}, ` +
    `refunds balance ${now.refunds ? now.refunds.balance : 'absent'}`;
}

async function waitLedgerMove(page, before, amount, pg, what) {
  return eventually(async () => {
    await page.goto(BASE + '/admin/ledger');
    return refundMoved(before, await trialBalance(page), amount, pg);
  }, `the trial balance to show a refund of ${amount} won after ${what}`, 20000, 500);
}

async function journey(j, fx) {
  const r = fx.refund;
  let ledger0 = null;
  let ledger1 = null;

  await j.step('sign in', async (page) => {
    await page.goto(BASE + '/login?next=%2Fadmin');
    const form = page.locator('form[action="/login"]');
    await form.locator('input[name="email"]').fill(fx.admin.email);
    await form.locator('input[name="password"]').fill(fx.admin.password);
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith('/login'), { waitUntil: 'load' }),
      form.locator('button[type="submit"]').click(),
    ]);
    await page.locator('#me').waitFor({ state: 'attached' });
  });

  await j.step('dashboard', async (page) => {
    await adminPage(page, '/admin', 'admin_dashboard.html');
    eq(await page.locator('nav.sidenav a[aria-current="page"]').textContent(), '대시보드',
      'the side navigation marks the dashboard');
    assert(/원$/.test((await page.locator('#revenue-paid').textContent()).trim()),
      "today's sales in won");
    eq(await page.locator('svg#chart rect.bar').count(), 14, 'fourteen days on the chart');
    const states = await page.locator('#orders-today tbody tr').allTextContents();
    assert(states.some((t) => t.includes('결제완료')), `orders by state in Korean: ${states}`);
    assert(await page.locator('#breakers li[data-breaker="pg-toss"]').count() === 1, 'breakers');
    assert(/^[0-9]+$/.test(await page.locator('#backlog-pending').textContent()), 'backlog');
  });

  await j.step('orders list', async (page) => {
    await adminPage(page, '/admin/orders', 'admin_orders.html');
    const form = page.locator('form#order-search');
    await form.locator('select[name="status"]').selectOption('PAID');
    await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    assert(page.url().includes('status=PAID'), `filtered by status (${page.url()})`);
    await Promise.all([page.waitForEvent('load'), page.locator('a#sort-amount').click()]);
    assert(page.url().includes('sort=amount_desc') && page.url().includes('status=PAID'),
      `sorted by amount, filter kept (${page.url()})`);
    const rows = page.locator('#orders tr.order');
    assert(await rows.count() >= 1, 'paid orders listed');
    const amounts = (await page.locator('#orders tr.order td.amount:nth-of-type(6)').allTextContents())
      .map((t) => won(t));
    for (let i = 1; i < amounts.length; i++) {
      assert(amounts[i - 1] >= amounts[i], `largest first: ${amounts.join(', ')}`);
    }
    const first = await rows.first().textContent();
    assert(first.includes('결제완료') && /[0-9,]+원/.test(first), `Korean status and won: ${first}`);
    await page.goto(`${BASE}/admin/orders?order=${r.orderId}`);
    eq(await page.locator(`#orders tr.order[data-order="${r.orderId}"]`).count(), 1,
      'the fixture order found by its id');
  });

  await j.step('adjust stock', async (page) => {
    await adminPage(page, `/admin/products/${fx.adjust.id}`, 'admin_product.html');
    const form = page.locator('form#stock-adjust');
    await form.locator('input[name="delta"]').fill('3');
    await form.locator('[name="reason"]').fill('브라우저 테스트 입고');
    await Promise.all([
      page.waitForEvent('load'),
      form.locator('button[type="submit"], input[type="submit"]').first().click(),
    ]);
    assert(page.url().startsWith(BASE + '/admin'), `stays in the console (${page.url()})`);
    const shown = page.locator('#stock');
    if (await shown.count() === 1) {
      eq(won(await shown.textContent()), fx.adjust.stock + 3, 'stock on the console page after +3');
    }
    // What a shopper now sees.
    await page.goto(`${BASE}/products/${fx.adjust.id}`);
    eq(won(await page.locator('article.product .stock').textContent()), fx.adjust.stock + 3,
      'stock on the product page after +3');
  });

  await j.step('refused stock change', async (page) => {
    await adminPage(page, `/admin/products/${fx.adjust.id}`, 'admin_product.html');
    const before = won(await page.locator('#stock').textContent());
    const form = page.locator('form#stock-adjust');
    await form.locator('input[name="delta"]').fill(String(-(before + 1000)));
    await form.locator('[name="reason"]').fill('브라우저 테스트 초과 출고');
    await Promise.all([
      page.waitForEvent('load'),
      form.locator('button[type="submit"]').first().click(),
    ]);
    const u = new URL(page.url());
    eq(u.pathname, `/admin/products/${fx.adjust.id}`, 'back on the product page, not the POST address');
    eq(u.searchParams.get('err'), 'stock_negative', 'the refusal is named in the address');
    assert((await page.locator('#adjust-error').textContent()).includes('0개 미만'),
      'the refusal is explained at the form');
    eq(await page.locator('form#stock-adjust input[name="delta"]').inputValue(),
      String(-(before + 1000)), 'what was typed is kept');
    // A reload is a GET of this page: nothing is submitted again.
    await page.reload();
    eq(won(await page.locator('#stock').textContent()), before, 'stock unchanged after a reload');
  });

  await j.step('ledger before', async (page) => {
    await adminPage(page, '/admin/ledger', 'admin_ledger.html');
    ledger0 = await trialBalance(page);
    assert(Object.keys(ledger0).length > 0, 'the trial balance lists accounts');
    for (const [code, v] of Object.entries(ledger0)) {
      for (const [field, n] of Object.entries(v)) {
        assert(n === null || Number.isInteger(n), `${field} of ${code} is an integer (${n})`);
      }
      assert(v.balance !== null, `${code} has a balance`);
    }
  });

  await j.step('partial refund', async (page) => {
    await adminPage(page, `/admin/orders/${r.orderId}`, 'admin_order.html');
    const form = page.locator('form#refund');
    await form.locator(`input[name="qty_${r.productId}"]`).fill('1');
    await form.locator('[name="reason"]').fill('브라우저 테스트 부분 환불');
    const partial = form.locator('button[type="submit"]:not([name="full"]), input[type="submit"]:not([name="full"])');
    assert(await partial.count() >= 1, 'form#refund has a button for the lines given');
    await Promise.all([page.waitForEvent('load'), partial.first().click()]);
    assert(page.url().startsWith(BASE + '/admin'), `stays in the console (${page.url()})`);
  });

  await j.step('ledger moved (partial)', async (page) => {
    const moved = await waitLedgerMove(page, ledger0, r.unitPrice, r.pg, 'the partial refund');
    j.note(`trial balance: ${moved}`);
    ledger1 = await trialBalance(page);
  });

  await j.step('full refund', async (page) => {
    await adminPage(page, `/admin/orders/${r.orderId}`, 'admin_order.html');
    const form = page.locator('form#refund');
    await form.locator('[name="reason"]').fill('브라우저 테스트 전체 환불');
    await Promise.all([
      page.waitForEvent('load'),
      form.locator('button[name="full"][value="1"]').click(),
    ]);
    assert(page.url().startsWith(BASE + '/admin'), `stays in the console (${page.url()})`);
  });

  await j.step('ledger moved (full)', async (page) => {
    const rest = (r.quantity - 1) * r.unitPrice;
    const moved = await waitLedgerMove(page, ledger1, rest, r.pg, 'the full refund');
    j.note(`trial balance: ${moved}`);
    const recv = page.locator(`#trial-balance tr.account:has([data-account="pg_receivable:${r.pg}"])`);
    const text = await recv.textContent();
    assert(text.includes('PG 미수금') && text.includes(`pg_receivable:${r.pg}`) && /원/.test(text),
      `the account's Korean name with its code, amounts in won: ${text}`);
  });

  await j.step('ship a parcel', async (page) => {
    await adminPage(page, `/admin/fulfilment?seller=${fx.ship.sellerId}`, 'admin_fulfilment.html');
    const row = page.locator(`tr.parcel[data-order="${fx.ship.orderId}"][data-seller="${fx.ship.sellerId}"]`);
    eq(await row.count(), 1, 'the fixture parcel waits in the queue');
    const form = row.locator('form.ship');
    await form.locator('select[name="courier"]').selectOption('cj');
    await form.locator('input[name="tracking_no"]').fill('BR-1234567890');
    await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    assert(page.url().includes('/admin/fulfilment?ok=parcel_shipped'), `shipped (${page.url()})`);
    // Read the flash before moving on (the checkers read each document's body meanwhile).
    assert((await page.locator('#flash').textContent()).includes('발송 처리했습니다'), 'the flash');
    await page.goto(`${BASE}/admin/fulfilment?status=SHIPPED&seller=${fx.ship.sellerId}`);
    const shipped = page.locator(`tr.parcel[data-order="${fx.ship.orderId}"]`);
    assert((await shipped.textContent()).includes('BR-1234567890'), 'the tracking number shows');
    await Promise.all([page.waitForEvent('load'),
      shipped.locator('form.deliver button[type="submit"]').click()]);
    assert(page.url().includes('ok=parcel_delivered'), `delivered (${page.url()})`);
    eq(await page.locator('#flash').textContent(), '배송완료로 바꿨습니다.', 'the flash');
  });

  await j.step('bulk shipping file upload', async (page) => {
    // Submitting without a file: refused the POST-then-redirect way, said in Korean.
    await adminPage(page, '/admin/fulfilment', 'admin_fulfilment.html');
    const form = page.locator('form#ship-bulk');
    await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    assert(page.url().includes('/admin/fulfilment?err=bulk_no_file'), `refused (${page.url()})`);
    eq(await page.locator('#error').textContent(), '운송장 CSV 파일을 선택해 주세요.', 'why');
    // A real file: the delivered fixture parcel again, so the row is reported and nothing moves.
    await page.locator('form#ship-bulk input[type="file"]').setInputFiles({
      name: '운송장.csv', mimeType: 'text/csv',
      buffer: Buffer.from(`주문번호,판매자,택배사,운송장번호\n${fx.ship.orderId},${fx.ship.sellerId},cj,BR-1234567890\n`),
    });
    await Promise.all([page.waitForEvent('load'),
      page.locator('form#ship-bulk button[type="submit"]').click()]);
    assert(/\/admin\/fulfilment\/bulk\/[A-Za-z0-9]+$/.test(page.url()), `the report (${page.url()})`);
    eq(await page.locator('tr.row').count(), 1, 'one row reported');
  });

  await j.step('order after refunds', async (page) => {
    await adminPage(page, `/admin/orders/${r.orderId}`, 'admin_order.html');
    eq(await page.locator('#refunds tr.refund').count(), 2, 'two refunds listed');
    assert(await page.locator('form#refund').count() === 0, 'no refund form on a cancelled order');
  });

  await j.step('audit log', async (page) => {
    await adminPage(page, `/admin/audit?target=product:${fx.adjust.id}`, 'admin_audit.html');
    const row = page.locator('#audit tr.audit[data-action="stock.adjust"]').first();
    const text = await row.textContent();
    assert(text.includes('재고 조정') && text.includes(`재고 ${fx.adjust.stock} → ${fx.adjust.stock + 3}`),
      `a readable row: ${text}`);
    await Promise.all([page.waitForEvent('load'), row.locator('a', { hasText: '자세히' }).click()]);
    assert(/\/admin\/audit\/[0-9]+$/.test(new URL(page.url()).pathname), `the record's page (${page.url()})`);
    const stockRow = page.locator('#changes tr[data-field="stock"]');
    eq(await stockRow.locator('td.was').textContent(), String(fx.adjust.stock), 'before');
    eq(await stockRow.locator('td.now').textContent(), String(fx.adjust.stock + 3), 'after');
  });

  for (const [name, path, template] of [
    ['products', '/admin/products', 'admin_products.html'],
    ['new product', '/admin/products/new', 'admin_product.html'],
    ['sellers', '/admin/sellers', 'admin_sellers.html'],
    ['ledger account', `/admin/ledger/accounts/pg_receivable:${r.pg}`, 'admin_account.html'],
    ['reconcile', '/admin/reconcile', 'admin_reconcile.html'],
    ['outbox', '/admin/outbox', 'admin_outbox.html'],
    ['breakers', '/admin/breakers', 'admin_breakers.html'],
  ]) {
    await j.step(name, async (page) => {
      await adminPage(page, path, template);
      if (name === 'reconcile') {
        // A file that is not a CSV: refused back to the page (?err=), nothing run.
        const form = page.locator('form#recon-upload');
        await form.locator('input[type="file"]').setInputFiles({
          name: 'settlement.txt', mimeType: 'text/plain', buffer: Buffer.from('hello'),
        });
        await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
        assert(page.url().includes('/admin/reconcile?err=recon_not_csv'), `refused (${page.url()})`);
        eq(await page.locator('#error').textContent(), 'CSV 파일(.csv, UTF-8)만 올릴 수 있습니다.',
          'why');
      }
      assert(await page.locator('nav.sidenav a[aria-current="page"]').count() === 1,
        'the side navigation marks the page');
    });
  }

  // A dry run of a settlement file whose one payment we do not know, listed twice: the run's
  // page names what it found and what it would do in Korean, never the codes.
  await j.step('reconcile run', async (page) => {
    await adminPage(page, '/admin/reconcile', 'admin_reconcile.html');
    const day = new Date(Date.now() + 9 * 3600 * 1000).toISOString().slice(0, 10);
    const line = `${day},toss,approve,tfake_browser_unknown,ORDbrowserunknown01,tx-browser,15000,`
      + `480,14520,${day}T10:00:00+09:00`;
    const csv = 'settlement_date,pg,type,payment_key,order_id,transaction_key,amount,fee,net,'
      + `transaction_at\n${line}\n${line}\n`;
    const form = page.locator('form#recon-upload');
    await form.locator('input[type="file"]').setInputFiles({
      name: 'settlement-browser.csv', mimeType: 'text/csv', buffer: Buffer.from(csv),
    });
    await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    assert(/\/admin\/reconcile\/[0-9]+\?ok=recon_dry_run$/.test(page.url()), `the dry run (${page.url()})`);
    const run = await page.locator('#run').textContent();
    assert(run.includes('토스페이먼츠') && run.includes('완료'), `the run in Korean: ${run}`);
    const found = await page.locator('#findings').textContent();
    assert(found.includes('중복') && found.includes('15,000원'), `the findings in Korean: ${found}`);
    for (const code of ['missing_here', 'duplicate', 'report', 'toss', 'done']) {
      assert(!(await page.locator('main').textContent()).match(new RegExp(`\\b${code}\\b`)),
        `no raw code "${code}" on the page`);
    }
  });
  await j.step('reconcile runs', async (page) => {
    await adminPage(page, '/admin/reconcile', 'admin_reconcile.html');
    const row = await page.locator('#runs tr.run').first().textContent();
    assert(row.includes('토스페이먼츠') && row.includes('완료') && row.includes('중복'),
      `the newest run in Korean: ${row}`);
  });
}

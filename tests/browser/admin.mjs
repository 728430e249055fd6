// admin: the admin's journey in the browser: sign in, the console's dashboard, a stock
// adjustment on a product's page, a partial and then a full refund of a paid order, the
// ledger's trial balance moving by the refunded amounts, a parcel shipped with its tracking
// number and marked delivered on /admin/fulfilment, and the reconciliation page. Written
// against the console's hooks:
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
  // Not strict: the console's pages are redesigned later; their findings are reported.
  const j = new Journey(browser, `admin-${width}`, width, false);
  await j.open();
  try {
    await journey(j, fx);
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
    await page.goto(BASE + '/login');
    const form = page.locator('form[action="/login"]');
    await form.locator('input[name="email"]').fill(fx.admin.email);
    await form.locator('input[name="password"]').fill(fx.admin.password);
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith('/login'), { waitUntil: 'load' }),
      form.locator('button[type="submit"]').click(),
    ]);
    await page.locator('header .me').waitFor();
  });

  await j.step('dashboard', async (page) => {
    await adminPage(page, '/admin', 'admin_dashboard.html');
    await page.locator('main h1').first().waitFor();
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
  });

  await j.step('ship a parcel', async (page) => {
    await adminPage(page, `/admin/fulfilment?seller=${fx.ship.sellerId}`, 'admin_fulfilment.html');
    const row = page.locator(`tr.parcel[data-order="${fx.ship.orderId}"][data-seller="${fx.ship.sellerId}"]`);
    if (await row.count() === 0) {
      j.note('the fixture parcel was shipped by an earlier width of this journey');
      return;
    }
    const form = row.locator('form.ship');
    await form.locator('select[name="courier"]').selectOption('cj');
    await form.locator('input[name="tracking_no"]').fill('BR-1234567890');
    await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    assert(page.url().includes('/admin/fulfilment?ok=parcel_shipped'), `shipped (${page.url()})`);
    await page.goto(`${BASE}/admin/fulfilment?status=SHIPPED&seller=${fx.ship.sellerId}`);
    const shipped = page.locator(`tr.parcel[data-order="${fx.ship.orderId}"]`);
    assert((await shipped.textContent()).includes('BR-1234567890'), 'the tracking number shows');
    await Promise.all([page.waitForEvent('load'),
      shipped.locator('form.deliver button[type="submit"]').click()]);
    assert(page.url().includes('ok=parcel_delivered'), `delivered (${page.url()})`);
  });

  await j.step('reconciliation page', async (page) => {
    await adminPage(page, '/admin/reconcile', 'admin_reconcile.html');
    await page.locator('form#recon-upload').waitFor();
  });
}

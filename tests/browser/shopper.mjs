// shopper: the shopper's journey in the browser: the home page, the product list, a product,
// the cart (as a guest), signing in, checkout with Toss Payments, the fake PG's hosted payment
// page, the return to the shop and the order turning PAID; then the same purchase with
// KakaoPay. fx is the JSON of fixtures.py.
import { BASE, Journey, assert, clickAndWait, eq, won } from './lib.mjs';

// The received page's poller (/static/order-status.js) shows this once the order is PAID.
const PAID_LABEL = '결제 완료';

export async function run(browser, fx) {
  const j = new Journey(browser, 'shopper');
  const p = fx.product;
  await j.open();
  try {
    await journey(j, fx, p);
  } finally {
    await j.close();
  }
  return j;
}

async function journey(j, fx, p) {
  await j.step('home', async (page) => {
    const resp = await page.goto(BASE + '/');
    eq(resp.status(), 200, 'home status');
    eq((await page.locator('h1').textContent()).trim(), '장터에 오신 것을 환영합니다', 'home heading');
  });

  await j.step('product list', async (page) => {
    await clickAndWait(page, page.locator('header nav a', { hasText: '상품' }), BASE + '/products');
    eq((await page.locator('h1').textContent()).trim(), '상품', 'list heading');
    await page.locator('section.products a', { hasText: p.name }).waitFor();
  });

  await j.step('product page', async (page) => {
    await clickAndWait(page, page.locator('section.products a', { hasText: p.name }),
      `${BASE}/products/${p.id}`);
    eq((await page.locator('article.product h1').textContent()).trim(), p.name, 'product name');
    eq(won(await page.locator('article.product .price').textContent()), p.price, 'price');
    eq(won(await page.locator('article.product .stock').textContent()), p.stock, 'stock');
  });

  await j.step('add to cart (guest)', async (page) => {
    const form = page.locator('form#add-to-cart');
    await form.locator('input[name="quantity"]').fill('2');
    await clickAndWait(page, form.locator('button[type="submit"]'), BASE + '/cart');
    await page.locator(`#cart tr#line-${p.id}`).waitFor();
    eq(won(await page.locator('#total').textContent()), 2 * p.price, 'cart total');
    eq(won(await page.locator('#total-quantity').textContent()), 2, 'cart quantity');
  });

  await j.step('checkout asks to sign in', async (page) => {
    await clickAndWait(page, page.locator('a#checkout'), /\/login(\?|$)/);
    await page.locator('form[action="/login"] input[name="email"]').waitFor();
  });

  await j.step('sign in', async (page) => {
    const form = page.locator('form[action="/login"]');
    await form.locator('input[name="email"]').fill(fx.shopper.email);
    await form.locator('input[name="password"]').fill(fx.shopper.password);
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith('/login'), { waitUntil: 'load' }),
      form.locator('button[type="submit"]').click(),
    ]);
    await page.locator('header .me').waitFor();
    // The guest cart was merged into the account's at sign-in.
    if (new URL(page.url()).pathname !== '/checkout') {
      await clickAndWait(page, page.locator('header nav a', { hasText: '장바구니' }), BASE + '/cart');
      eq(won(await page.locator('#total').textContent()), 2 * p.price, 'merged cart total');
    }
  });

  const toss = await pay(j, p, 2, 'toss', '토스페이먼츠');
  const kakao = await pay(j, p, 1, 'kakaopay', '카카오페이');

  await j.step('my orders', async (page) => {
    await clickAndWait(page, page.locator('header nav a', { hasText: '주문 내역' }), BASE + '/orders');
    for (const [id, pg] of [[toss, 'toss'], [kakao, 'kakaopay']]) {
      const row = page.locator(`#orders tr.order[data-order="${id}"]`);
      eq(await row.getAttribute('data-status'), 'PAID', `${pg} order ${id} in My orders`);
    }
  });
}

// From the cart to a PAID order with the PG pg: checkout, the hosted page, approve, return.
async function pay(j, p, qty, pg, label) {
  let orderId = null;
  let amount = qty * p.price;

  if (pg !== 'toss') {
    await j.step(`${pg}: add to cart`, async (page) => {
      await page.goto(`${BASE}/products/${p.id}`);
      const form = page.locator('form#add-to-cart');
      await form.locator('input[name="quantity"]').fill(String(qty));
      await clickAndWait(page, form.locator('button[type="submit"]'), BASE + '/cart');
      eq(won(await page.locator('#total').textContent()), amount, 'cart total');
    });
  }

  await j.step(`${pg}: checkout`, async (page) => {
    if (new URL(page.url()).pathname !== '/checkout') {
      await clickAndWait(page, page.locator('a#checkout'), BASE + '/checkout');
    }
    await page.locator(`#checkout-lines tr[data-product="${p.id}"]`).waitFor();
    eq(won(await page.locator('#total').textContent()), amount, 'checkout total');
    const radio = page.locator(`#checkout-form input[name="pay_method"][value="${pg}"]`);
    assert(await radio.count() === 1, `the checkout offers ${label} (${pg})`);
    await radio.check();
    await clickAndWait(page, page.locator('#checkout-form button#pay'), /\/orders\/[^/]+\/pay$/);
    orderId = (await page.locator('#order-id').textContent()).trim();
    j.note(`order ${orderId}, ${amount} won`);
    eq(won(await page.locator('#amount').textContent()), amount, 'amount to pay');
  });

  await j.step(`${pg}: hosted payment page`, async (page) => {
    const link = page.locator('a#pay-link');
    const href = await link.getAttribute('href');
    const pgOrigin = new URL(href, BASE).origin;
    assert(pgOrigin !== BASE, `the pay link leaves the shop for the PG (${href})`);
    await clickAndWait(page, link, (u) => u.origin === pgOrigin);
    const text = await page.locator('body').textContent();
    assert(text.includes(label), `the PG's page names ${label}: ${text.slice(0, 200)}`);
    assert(text.includes(amount.toLocaleString('en-US') + '원'),
      `the PG's page shows ${amount}원: ${text.slice(0, 200)}`);
  });

  await j.step(`${pg}: approve and return`, async (page) => {
    await clickAndWait(page, page.locator('a#pay'), (u) => u.origin === BASE);
    const box = page.locator('#order-status');
    eq(await box.getAttribute('data-order'), orderId, 'received page is the order');
    // The page polls the order until the payment workers confirm it with the PG.
    await page.locator('#status-label', { hasText: PAID_LABEL }).waitFor();
    eq(await box.getAttribute('data-status'), 'PAID', 'status attribute');
  });

  await j.step(`${pg}: order page shows PAID`, async (page) => {
    await page.goto(`${BASE}/orders/${orderId}`);
    eq((await page.locator('#status').textContent()).trim(), 'PAID', 'order status');
    eq(won(await page.locator('#amount').textContent()), amount, 'order amount');
    await page.locator(`#lines tr[data-product="${p.id}"]`).waitFor();
    await page.locator('#timeline li[data-to="PAID"]').waitFor();
  });
  return orderId;
}

// shopper: the shopper's journey in the browser, once at 1280 px and once at 390 px: the front
// page, searching and sorting the list, a product, the cart as a guest, checkout asking to sign
// in and coming back to checkout, the checkout's Korean messages next to its fields, the address,
// Toss Payments through the fake PG's window (straight from the checkout form) to 결제완료, a
// KakaoPay payment cancelled in its window (the cart kept, 다시 결제하기) and then paid, My
// orders, cancelling the Toss order after a confirmation page, the address book, and an error
// page. Every page: html-validate, axe-core (no serious finding), no wider than the viewport,
// and no raw code (PAID, toss, ...) where a shopper reads. fx is the JSON of fixtures.py.
import { BASE, Journey, assert, clickAndWait, eq, eventually, won } from './lib.mjs';

// Codes that must never reach a shopper's eyes (labels.c words them).
const RAW_CODES = /\b(PENDING|CONFIRMING|PAID|FAILED|UNKNOWN|EXPIRED|CANCELED|PARTIALLY_CANCELED|PREPARING|SHIPPED|DELIVERED)\b|\b(toss|kakaopay|points)\b/;

export async function run(browser, fx, width) {
  const j = new Journey(browser, `shopper-${width}`, width);
  await j.open();
  try {
    await journey(j, fx, fx.product, width);
  } finally {
    await j.close();
  }
  return j;
}

// The text a shopper reads on the page (main and header), for the raw-code check.
async function visibleText(page) {
  return page.evaluate(() => document.body.innerText);
}

async function noRawCodes(page, what) {
  const text = await visibleText(page);
  const m = text.match(RAW_CODES);
  assert(!m, `${what}: a raw code "${m && m[0]}" is shown to the shopper`);
}

async function journey(j, fx, p, width) {
  const phone = width < 600;
  const shopper = phone ? fx.shopperPhone : fx.shopper;

  await j.step('home', async (page) => {
    const resp = await page.goto(BASE + '/');
    eq(resp.status(), 200, 'home status');
    assert((await page.locator('h1').textContent()).includes('좋은 상품을 장터에서'), 'home heading');
    await page.locator('footer dt', { hasText: '사업자등록번호' }).waitFor();
    await page.locator('footer dt', { hasText: '통신판매업 신고번호' }).waitFor();
    const css = await page.locator('link[rel="stylesheet"]').getAttribute('href');
    assert(/^\/static\/jangteo\.css\?v=[0-9a-f]{16}$/.test(css), `versioned stylesheet: ${css}`);
    eq(await page.locator('#cart-count').count(), 0, 'no cart badge for an empty cart');
    await noRawCodes(page, 'home');
  });

  await j.step('search and sort', async (page) => {
    await page.locator('#search-q').fill(p.name);
    await clickAndWait(page, page.locator('form.search button[type="submit"]'), /\/products\?q=/);
    assert((await page.locator('h1').textContent()).includes(p.name), 'search heading');
    await page.locator(`#product-${p.id}`).waitFor();
    await clickAndWait(page, page.locator('.sorts a', { hasText: '낮은 가격순' }), /sort=price/);
    eq(await page.locator('.sorts a[aria-current="page"]').textContent(), '낮은 가격순', 'sort chosen');
    await page.locator(`#product-${p.id}`).waitFor();
  });

  await j.step('product page', async (page) => {
    await clickAndWait(page, page.locator(`#product-${p.id} a.cover`), `${BASE}/products/${p.id}`);
    eq((await page.locator('article.product h1').textContent()).trim(), p.name, 'product name');
    eq(won(await page.locator('.buy .price .now').textContent()), p.price, 'price');
    eq(won(await page.locator('.buy del').textContent()), p.listPrice, 'list price struck through');
    await page.locator('.buy .rate').waitFor();
    await page.locator('#naver-price').waitFor();
    const link = page.locator('#naver-price .naver-link a');
    if (await link.count()) {
      eq(await link.getAttribute('target'), '_blank', 'Naver opens a new tab');
      assert((await link.getAttribute('rel')).includes('noopener'), 'noopener');
    }
    await page.locator('.gallery img').first().waitFor();
  });

  await j.step('add to cart (guest)', async (page) => {
    await page.locator('#quantity').fill('2');
    await clickAndWait(page, page.locator('form#add-to-cart button[value="/cart"]'), BASE + '/cart');
    await page.locator(`#cart #line-${p.id}`).waitFor();
    eq(won(await page.locator('#total').textContent()), 2 * p.price, 'cart total');
    eq((await page.locator('#cart-count').innerText()).replace(/\D/g, ''), '1', 'the badge counts it');
    eq(won(await page.locator('#fees').textContent()), 3000, 'the seller charges its fee');
  });

  await j.step('checkout asks to sign in', async (page) => {
    await clickAndWait(page, page.locator('a#checkout'), /\/login\?next=%2Fcheckout$/);
    await page.locator('form[action="/login"] input[name="email"]').waitFor();
  });

  await j.step('sign in returns to checkout', async (page) => {
    const form = page.locator('form[action="/login"]');
    await form.locator('input[name="email"]').fill(shopper.email);
    await form.locator('input[name="password"]').fill(shopper.password);
    await clickAndWait(page, form.locator('button[type="submit"]'), BASE + '/checkout');
    await page.locator('#me').waitFor({ state: 'attached' });
    await page.locator(`#checkout-lines li[data-product="${p.id}"]`).waitFor();
    eq(won(await page.locator('#total').textContent()), 2 * p.price + 3000, 'goods and fee');
    eq(await page.locator('input[name="pay_method"]:checked').count(), 0, 'no method chosen for the shopper');
  });

  await j.step('checkout explains what is missing', async (page) => {
    await clickAndWait(page, page.locator('#checkout-form button#pay'), BASE + '/checkout');
    eq(await page.locator('#pay-error').textContent(), '결제 수단을 선택해 주세요.', 'method message');
    eq(await page.locator('#consent-error').textContent(), '주문 내용을 확인하고 결제 진행에 동의해 주세요.',
      'consent message');
    eq(await page.locator('#recipient-error').textContent(), '받는 분 이름을 1~20자로 입력해 주세요.',
      'address message');
  });

  const toss = await pay(j, p, 2, 'toss', '토스페이먼츠', true);

  await j.step('kakaopay: cancel in the window keeps the cart', async (page) => {
    await page.goto(`${BASE}/products/${p.id}`);
    await clickAndWait(page, page.locator('form#add-to-cart button[value="/cart"]'), BASE + '/cart');
    await clickAndWait(page, page.locator('a#checkout'), BASE + '/checkout');
    const saved = page.locator('input[name="address_id"]:checked');
    eq(await saved.count(), 1, 'the saved address is offered, chosen');
    await page.locator('input[name="pay_method"][value="kakaopay"]').check();
    await page.locator('#consent').check();
    const pgOrigin = await goToPg(page);
    await clickAndWait(page, page.locator('a#cancel'), (u) => u.origin === BASE);
    assert(pgOrigin !== BASE, 'left for the PG');
    const notice = await page.locator('#notice').textContent();
    assert(notice.includes('결제를 취소하셨습니다'), `a cancel is called a cancel: ${notice}`);
    eq(await page.locator('#status').textContent(), '결제실패', 'the order is not paid');
    await page.locator('#retry').waitFor();
    assert((await page.locator('#cart-count').innerText()).includes('1'), 'the cart still holds it');
    await noRawCodes(page, 'failed order page');
  });

  await j.step('kakaopay: 다시 결제하기', async (page) => {
    await clickAndWait(page, page.locator('#retry'), BASE + '/checkout');
    await page.locator(`#checkout-lines li[data-product="${p.id}"]`).waitFor();
  });
  const kakao = await pay(j, p, 1, 'kakaopay', '카카오페이', false);

  await j.step('my orders', async (page) => {
    await clickAndWait(page, page.locator('header a[href="/orders"]'), BASE + '/orders');
    for (const [id, pg] of [[toss, 'toss'], [kakao, 'kakaopay']]) {
      const row = page.locator(`#orders li.order[data-order="${id}"]`);
      eq(await row.getAttribute('data-status'), 'PAID', `${pg} order ${id} in My orders`);
      eq((await row.locator('.status').textContent()).trim(), '결제완료', 'in Korean');
    }
    await noRawCodes(page, 'My orders');
  });

  await j.step('cancel after a confirmation', async (page) => {
    await page.goto(`${BASE}/orders/${toss}`);
    await clickAndWait(page, page.locator('#cancel-link'), `${BASE}/orders/${toss}/cancel`);
    eq(won(await page.locator('#refund-amount').textContent()), 2 * p.price + 3000, 'refunds goods and fee');
    await clickAndWait(page, page.locator('#confirm-cancel'), `${BASE}/orders/${toss}?done=refund_requested`);
    assert((await page.locator('#notice').textContent()).includes('환불을 요청했습니다'), 'the result is said');
    await eventually(async () => {
      await page.goto(`${BASE}/orders/${toss}`);
      return (await page.locator('#status').textContent()) === '주문취소';
    }, 'the Toss order to be cancelled (the refund worker and the fake PG)', 30000, 1000);
    await noRawCodes(page, 'cancelled order page');
  });

  await j.step('address book', async (page) => {
    await page.goto(BASE + '/addresses');
    await page.locator('#addresses .badge', { hasText: '기본 배송지' }).waitFor();
  });

  await j.step('error page in Korean', async (page) => {
    const resp = await page.goto(BASE + '/products/999999999');
    eq(resp.status(), 404, 'status');
    eq((await page.locator('main h1').textContent()).trim(), '페이지를 찾을 수 없습니다', 'heading');
  });
}

// Submits the checkout form and waits for the PG's window; returns its origin.
async function goToPg(page) {
  await Promise.all([
    page.waitForURL((u) => u.origin !== BASE, { waitUntil: 'load' }),
    page.locator('#checkout-form button#pay').click(),
  ]);
  return new URL(page.url()).origin;
}

// From checkout (already open) to a PAID order with pg: the address (typed the first time),
// the method, the consent, straight into the fake PG's window, approve, back, 결제완료.
async function pay(j, p, qty, pg, label, first) {
  let orderId = null;
  const fee = qty * p.price >= p.freeOver ? 0 : 3000;
  const amount = qty * p.price + fee;

  await j.step(`${pg}: checkout to the PG's window`, async (page) => {
    if (new URL(page.url()).pathname !== '/checkout') {
      await page.goto(BASE + '/checkout');
    }
    eq(won(await page.locator('#total').textContent()), amount, 'checkout total');
    if (first) {
      await page.locator('#recipient').fill('김장터');
      await page.locator('#phone').fill('01012345678');
      await page.locator('#zipcode').fill('03925');
      await page.locator('#address1').fill('서울특별시 마포구 월드컵북로 396');
      await page.locator('#address2').fill('10층');
    }
    await page.locator(`input[name="pay_method"][value="${pg}"]`).check();
    await page.locator('#consent').check();
    const pgOrigin = await goToPg(page);
    assert(pgOrigin !== BASE, `the checkout form went straight to the PG (${page.url()})`);
    const text = await page.locator('body').textContent();
    assert(text.includes(label), `the PG's page names ${label}: ${text.slice(0, 200)}`);
    assert(text.includes(amount.toLocaleString('en-US') + '원'),
      `the PG's page shows ${amount}원 (goods and fee): ${text.slice(0, 200)}`);
  });

  await j.step(`${pg}: approve and return`, async (page) => {
    await clickAndWait(page, page.locator('a#pay'), (u) => u.origin === BASE);
    const box = page.locator('#order-status');
    orderId = await box.getAttribute('data-order');
    j.note(`order ${orderId}, ${amount} won`);
    // The page polls the order until the payment workers confirm it with the PG.
    await page.locator('#status-label', { hasText: '결제완료' }).waitFor();
    eq(await box.getAttribute('data-status'), 'PAID', 'status attribute');
    assert(/^\d{8}-\d{6,}$/.test((await page.locator('#order-number').textContent()).trim()),
      'a short order number');
  });

  await j.step(`${pg}: order page in Korean`, async (page) => {
    await page.goto(`${BASE}/orders/${orderId}`);
    eq((await page.locator('#status').textContent()).trim(), '결제완료', 'order status');
    eq((await page.locator('#pay-method').textContent()).trim(), label, 'method');
    eq(won(await page.locator('#amount').textContent()), amount, 'order amount');
    await page.locator(`#lines li[data-product="${p.id}"]`).waitFor();
    await page.locator('#timeline li[data-to="PAID"]', { hasText: '결제가 완료되었습니다' }).waitFor();
    await page.locator('#steps li[aria-current="step"]', { hasText: '배송준비중' }).waitFor();
    await page.locator('#deliveries .badge', { hasText: '배송준비중' }).waitFor();
    await noRawCodes(page, 'order page');
  });
  return orderId;
}

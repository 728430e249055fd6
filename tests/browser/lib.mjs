// lib: the harness shared by the browser journeys: loads playwright-core, html-validate and
// axe-core from the installed dependencies, launches Debian's Chromium, and wraps each journey
// step so that every document the browser loads is validated, every console error and uncaught
// page error is caught, the page each step ends on is checked for accessibility (axe-core:
// serious and critical findings fail the step) and for content wider than the viewport
// (document.documentElement.scrollWidth <= innerWidth), and a screenshot of each step is kept
// as an artifact. A journey runs at one viewport width (1280 px desktop, 390 px phone).
//
// Environment:
//   JT_HTTP_PORT     the stack's port on 127.0.0.1 [8080]
//   JT_ARTIFACTS     where screenshots and failure notes go [$JT_RUN/artifacts/browser]
//   JT_BROWSER_DEPS  the directory whose node_modules holds the dependencies [this directory]
//   JT_CHROMIUM      the Chromium binary [/usr/lib/chromium/chromium, else /usr/bin/chromium]
//   JT_BROWSER_HEADED=1  show the window (needs a display)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withPortedRules } from './htmlrules.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const depsDir = process.env.JT_BROWSER_DEPS || here;
const require = createRequire(path.join(depsDir, 'package.json'));
const { chromium } = require('playwright-core');
const htmlValidate = require('html-validate');
// axe-core's browser bundle, evaluated in the page through the DevTools protocol (the page's
// CSP allows only its own scripts; an evaluation is not a script element, so the CSP stays
// as the shop sends it).
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const PORT = Number(process.env.JT_HTTP_PORT || 8080);
export const BASE = `http://127.0.0.1:${PORT}`;
// Each step waits at most this long for anything (a page, a text, a poll).
export const STEP_TIMEOUT_MS = 20000;

const validator = new htmlValidate.HtmlValidate(withPortedRules(htmlValidate,
  JSON.parse(fs.readFileSync(path.join(here, 'htmlvalidate.json'), 'utf8'))));

// The template behind each shop page, so a validation failure names the file to fix.
const TEMPLATES = [
  [/^\/$/, 'home.html'],
  [/^\/addresses(\/new|\/[0-9]+\/edit)?$/, 'addresses.html / address_form.html'],
  [/^\/orders\/[^/]+\/(cancel|refund|return)$/, 'order_cancel.html / order_refund.html / order_return.html'],
  [/^\/products\/[0-9]+$/, 'product.html'],
  [/^\/products$/, 'products.html'],
  [/^\/cart$/, 'cart.html'],
  [/^\/checkout$/, 'checkout.html'],
  [/^\/checkout\/(toss\/success|kakaopay\/approve)$/, 'order_received.html'],
  [/^\/login$/, 'login.html'],
  [/^\/orders$/, 'orders.html'],
  [/^\/orders\/[^/]+\/pay$/, 'order_pay.html'],
  [/^\/orders\/[^/]+$/, 'order.html'],
  [/^\/admin$/, 'admin_dashboard.html'],
  [/^\/admin\/products$/, 'admin_products.html'],
  [/^\/admin\/products\/([0-9]+|new)$/, 'admin_product.html'],
  [/^\/admin\/orders$/, 'admin_orders.html'],
  [/^\/admin\/orders\/[^/]+$/, 'admin_order.html'],
  [/^\/admin\/ledger$/, 'admin_ledger.html'],
  [/^\/admin\/ledger\/accounts\/[^/]+$/, 'admin_account.html'],
  [/^\/admin\/sellers$/, 'admin_sellers.html'],
  [/^\/admin\/sellers\/[0-9]+$/, 'admin_seller.html'],
  [/^\/admin\/audit$/, 'admin_audit.html'],
  [/^\/admin\/audit\/[0-9]+$/, 'admin_audit_entry.html'],
  [/^\/admin\/outbox$/, 'admin_outbox.html'],
  [/^\/admin\/breakers$/, 'admin_breakers.html'],
  [/^\/admin\/reconcile$/, 'admin_reconcile.html'],
  [/^\/admin\/reconcile\/[0-9]+$/, 'admin_reconcile_run.html'],
];

// Names the template that renders the page at url (inside layout.html), or the server that
// answered when it is not the shop.
export function templateOf(url) {
  const u = new URL(url);
  if (u.origin !== BASE) {
    return `(not the shop: ${u.host}${u.pathname})`;
  }
  for (const [re, name] of TEMPLATES) {
    if (re.test(u.pathname)) {
      const layout = u.pathname.startsWith('/admin') ? 'admin_layout.html' : 'layout.html';
      return `templates/${name} in templates/${layout}`;
    }
  }
  return '(a page of the shop with no template on record: error.html?)';
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls fn until it returns a truthy value; throws after ms with what.
export async function eventually(fn, what, ms = STEP_TIMEOUT_MS, every = 250) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) {
      return last;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    }
    await sleep(every);
  }
}

export function assert(cond, what) {
  if (!cond) {
    throw new Error(what);
  }
}

export function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

// "12,300" or "12,300원" -> 12300; NaN when there is no number.
export function won(text) {
  const m = String(text).match(/-?[0-9][0-9,]*/);
  return m ? Number(m[0].replace(/,/g, '')) : NaN;
}

export function artifactsDir() {
  const dir = process.env.JT_ARTIFACTS ||
    path.join(process.env.JT_RUN || path.join(here, '..', '..', 'run'), 'artifacts', 'browser');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function chromiumPath() {
  if (process.env.JT_CHROMIUM) {
    return process.env.JT_CHROMIUM;
  }
  // The real binary, not Debian's wrapper script (which only adds flags for desktops).
  for (const p of ['/usr/lib/chromium/chromium', '/usr/bin/chromium']) {
    if (fs.existsSync(p)) {
      return p;
    }
  }
  throw new Error('no Chromium: install the Debian package chromium (script/setup does)');
}

export async function launch() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: process.env.JT_BROWSER_HEADED !== '1',
    // Loopback only: no phoning home, no component updates, no sandbox (root in a container).
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-features=Translate,MediaRouter,OptimizationHints'],
  });
}

// One journey: a browser context (its own cookies), one page, and the checks that run on
// every document and every console message while the steps run.
export class Journey {
  // width: the viewport's (1280 desktop, 390 phone). strict: accessibility findings and
  // overflow fail the step (every journey of the shop and the console is strict); otherwise
  // they are only reported.
  constructor(browser, name, width = 1280, strict = true) {
    this.browser = browser;
    this.name = name;
    this.width = width;
    this.strict = strict;
    this.a11y = { pages: 0, findings: 0 };
    this.dir = artifactsDir();
    this.steps = [];        // {n, name, ok, ms, problems}
    this.problems = [];     // of the step running now: they fail it
    this.warnings = [];     // of the step running now, about pages that are not the shop's
    this.notes = [];        // of the step running now: what it saw, for the log
    this.pending = [];      // validations in flight
    this.pages = 0;
  }

  async open() {
    this.context = await this.browser.newContext({
      locale: 'ko-KR',
      timezoneId: 'Asia/Seoul',
      viewport: { width: this.width, height: this.width < 600 ? 844 : 900 },
      isMobile: this.width < 600,
      hasTouch: this.width < 600,
    });
    this.context.setDefaultTimeout(STEP_TIMEOUT_MS);
    this.context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    this.page = await this.context.newPage();
    this.page.on('console', (msg) => {
      if (msg.type() === 'error') {
        const loc = msg.location();
        // A document answered 4xx on purpose (an error page, a form shown again with its
        // messages): Chromium logs its status; the step asserts the status itself.
        if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text()) &&
            loc && loc.url === this.page.url()) {
          return;
        }
        this.complain(this.page.url(), `console error on ${this.page.url()}: ${msg.text()}` +
          (loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''));
      }
    });
    this.page.on('pageerror', (err) => {
      this.complain(this.page.url(), `uncaught page error on ${this.page.url()}: ${err.message}`);
    });
    this.page.on('response', (resp) => {
      const req = resp.request();
      if (req.resourceType() !== 'document' || req.frame() !== this.page.mainFrame()) {
        return;
      }
      const status = resp.status();
      if (status >= 300 && status < 400) {
        return;  // a redirect's body is never shown
      }
      this.pending.push(this.validate(resp));
    });
    return this.page;
  }

  // Adds a line to the step's log (printed under its PASS/FAIL line).
  note(text) {
    this.notes.push(text);
  }

  // Records a problem seen on the page at url: it fails the step on the shop's pages; on
  // another site's (the fake PG's hosted pages, test infrastructure) it is only reported.
  complain(url, text) {
    let origin = null;
    try {
      origin = new URL(url).origin;
    } catch {
      // about:blank and the like count as the shop's
    }
    if (origin !== null && origin !== 'null' && origin !== BASE) {
      this.warnings.push(text);
    } else {
      this.problems.push(text);
    }
  }

  async validate(resp) {
    const url = resp.url();
    let body;
    try {
      body = await resp.text();
    } catch (err) {
      this.complain(url, `could not read the document ${url}: ${err.message}`);
      return;
    }
    const type = resp.headers()['content-type'] || '';
    if (!type.startsWith('text/html')) {
      this.complain(url, `document ${url} is ${type || 'of no type'}, not text/html`);
      return;
    }
    this.pages++;
    const report = await validator.validateString(body, url);
    if (report.valid) {
      return;
    }
    const lines = body.split('\n');
    const out = [];
    for (const r of report.results) {
      for (const m of r.messages) {
        const src = (lines[m.line - 1] || '').trim().slice(0, 160);
        out.push(`  ${m.ruleId} at ${m.line}:${m.column}: ${m.message}\n      | ${src}`);
      }
    }
    this.complain(url, `HTML of ${url} (${templateOf(url)}) fails validation:\n${out.join('\n')}`);
  }

  // Checks the page the browser shows now, when it is the shop's: nothing wider than the
  // viewport, and axe-core's rules (WCAG 2.1 A and AA and best practices). Serious and critical
  // findings are problems (warnings when the journey is not strict); the rest are noted.
  async audit(page) {
    let u;
    try {
      u = new URL(page.url());
    } catch {
      return;
    }
    if (u.origin !== BASE) {
      return;
    }
    const where = `${u.pathname}${u.search} at ${this.width} px`;
    const say = (text) => (this.strict ? this.problems : this.warnings).push(text);
    // On a phone (isMobile) Chromium widens the layout viewport to content that overflows,
    // so innerWidth alone would hide it: the page must fit the width the journey asked for.
    const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
    if (sw > Math.min(iw, this.width)) {
      say(`${where}: the page is ${sw} px wide, wider than the viewport (${this.width} px)`);
    }
    await page.evaluate(AXE_SOURCE + '\n;undefined');
    const result = await page.evaluate(() => window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }))));
    this.a11y.pages++;
    for (const v of result) {
      this.a11y.findings++;
      const text = `axe ${v.impact} ${v.id} on ${where}: ${v.help} (${v.nodes.join(', ')})`;
      if (v.impact === 'serious' || v.impact === 'critical') {
        say(text);
      } else {
        this.notes.push(text);
      }
    }
  }

  // Runs one step: fn(page), then waits for the page's validations, then a screenshot.
  // Returns true when the step passed (no exception, no invalid page, no console error).
  async step(name, fn) {
    const n = this.steps.length + 1;
    const tag = `${this.name}-${String(n).padStart(2, '0')}-${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    const t0 = Date.now();
    this.problems = [];
    this.warnings = [];
    this.notes = [];
    let error = null;
    try {
      await fn(this.page);
    } catch (err) {
      error = err;
    }
    await Promise.all(this.pending.splice(0));
    if (!error) {
      try {
        await this.audit(this.page);
      } catch (err) {
        this.problems.push(`audit failed: ${err.message}`);
      }
    }
    try {
      await this.page.screenshot({ path: path.join(this.dir, `${tag}.png`), fullPage: true });
    } catch (err) {
      this.problems.push(`screenshot failed: ${err.message}`);
    }
    const problems = this.problems.splice(0);
    const warnings = this.warnings.splice(0);
    if (error) {
      problems.unshift(`${error.message}\n  (at ${this.page.url()})`);
      try {
        fs.writeFileSync(path.join(this.dir, `${tag}.html`), await this.page.content());
      } catch {
        // the page is gone: the screenshot and the message are what there is
      }
    }
    const ok = problems.length === 0;
    const ms = Date.now() - t0;
    this.steps.push({ n, name, ok, ms, problems, warnings });
    console.log(`${ok ? 'PASS' : 'FAIL'} ${this.name} ${String(n).padStart(2, '0')} ${name} (${(ms / 1000).toFixed(1)}s)`);
    for (const note of this.notes.splice(0)) {
      console.log('  ' + note);
    }
    for (const p of problems) {
      console.log('  ' + p.replace(/\n/g, '\n  '));
    }
    for (const w of warnings) {
      console.log('  warning (not the shop): ' + w.replace(/\n/g, '\n  '));
    }
    if (error) {
      // The steps after one that did not reach its page cannot run.
      const stop = new StepFailed(`${this.name}: step ${n} (${name}) failed`);
      stop.journey = this;
      throw stop;
    }
    return ok;
  }

  async close() {
    if (this.context) {
      await this.context.close().catch(() => {});
    }
  }
}

export class StepFailed extends Error {}

// Follows a link or button and waits for the document it leads to.
export async function clickAndWait(page, locator, urlPattern) {
  await Promise.all([
    page.waitForURL(urlPattern, { waitUntil: 'load' }),
    locator.click(),
  ]);
}

// The trial balance on /admin/ledger: {account code: {balance, debits, credits}}, integers
// (debits and credits are null when the row has no such cells).
export async function trialBalance(page) {
  return page.$$eval('#trial-balance [data-account]', (cells) => {
    const num = (el) => {
      if (!el) {
        return null;
      }
      const t = (el.textContent || '').replace(/[,\s원]/g, '').replace('−', '-');
      return /^-?[0-9]+$/.test(t) ? Number(t) : NaN;
    };
    const out = {};
    for (const c of cells) {
      const row = c.closest('tr');
      out[c.getAttribute('data-account')] = {
        balance: num(c),
        debits: num(row && row.querySelector('.debits')),
        credits: num(row && row.querySelector('.credits')),
      };
    }
    return out;
  });
}

// run: makes the fixtures (fixtures.py), launches Chromium once and runs the journeys named
// on the command line (default: shopper admin), one browser context each. Prints one line per
// step and closes with "browser: N passed, N failed" (steps); exits 1 when any step failed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { StepFailed, artifactsDir, launch } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const JOURNEYS = ['shopper', 'admin'];
// Each journey at its widths: the shopper and the admin console on a desktop and on a phone.
const WIDTHS = { shopper: [1280, 390], admin: [1280, 390] };

function fixtures() {
  const t0 = Date.now();
  const r = spawnSync('python3', [path.join(here, 'fixtures.py')], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error(`fixtures.py failed (exit ${r.status})`);
  }
  console.log(`fixtures made in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return JSON.parse(r.stdout);
}

async function main() {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : JOURNEYS;
  for (const w of wanted) {
    if (!JOURNEYS.includes(w)) {
      console.error(`browser: no journey ${w} (have: ${JOURNEYS.join(' ')})`);
      return 2;
    }
  }
  const t0 = Date.now();
  const dir = artifactsDir();
  for (const f of fs.readdirSync(dir)) {
    if (/\.(png|html|json)$/.test(f)) {
      fs.rmSync(path.join(dir, f));
    }
  }
  const fx = fixtures();
  const browser = await launch();
  console.log(`Chromium ${browser.version()}; screenshots in ${dir}`);
  let passed = 0;
  let failed = 0;
  const results = [];
  try {
    for (const [name, width] of wanted.flatMap((w) => WIDTHS[w].map((px) => [w, px]))) {
      const mod = await import(`./${name}.mjs`);
      const t1 = Date.now();
      let journey = null;
      let aborted = null;
      try {
        journey = await mod.run(browser, fx, width);
      } catch (err) {
        aborted = err;
      }
      const steps = journey ? journey.steps : (aborted && aborted.journey ? aborted.journey.steps : []);
      if (aborted && !(aborted instanceof StepFailed)) {
        console.log(`FAIL ${name}: ${aborted.stack || aborted}`);
        failed++;
      }
      const ok = steps.filter((s) => s.ok).length;
      const j = journey || (aborted && aborted.journey);
      passed += ok;
      failed += steps.length - ok;
      results.push({ journey: name, width, aborted: aborted ? String(aborted.message || aborted) : null,
        documents: j ? j.pages : 0, a11y: j ? j.a11y : null, steps });
      console.log(`${name} at ${width} px: ${ok}/${steps.length} steps passed${aborted ? ' (stopped at the failing step)' : ''}` +
        `, ${j ? j.pages : 0} documents validated, ${j ? j.a11y.pages : 0} pages audited` +
        ` (${j ? j.a11y.findings : 0} axe findings) in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
    }
  } finally {
    await browser.close();
    fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  }
  console.log(`browser run took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  console.log(`browser: ${passed} passed, ${failed} failed`);
  return failed || !passed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (err) => {
  console.error(`browser: ${err.stack || err}`);
  console.log('browser: 0 passed, 1 failed');
  process.exit(1);
});

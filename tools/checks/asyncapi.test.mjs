// docs/asyncapi.json is a valid AsyncAPI 3 document, by the AsyncAPI
// initiative's own parser (@asyncapi/parser, pinned in package.json), and
// names the four order events. Whether it matches what the code emits is
// lambdas/internal/orderevents' test. Run: node --test tools/checks/ (make test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';

const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../docs/asyncapi.json'), 'utf8');

test('the AsyncAPI document is valid', async () => {
  const { document, diagnostics } = await new Parser().parse(doc);
  const errors = diagnostics.filter((d) => d.severity === 0);
  assert.deepEqual(errors.map((e) => `${e.path.join('.')}: ${e.message}`), []);
  assert.ok(document, 'no document');
  assert.equal(document.version(), '3.0.0');
  const names = document.messages().all().map((m) => m.name()).sort();
  assert.deepEqual(names, ['order.cancelled', 'order.confirmed', 'order.expired', 'order.placed']);
});

test('a broken document is refused', async () => {
  const broken = JSON.parse(doc);
  delete broken.info;
  const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
  assert.ok(diagnostics.some((d) => d.severity === 0), 'a document without info passed');
});

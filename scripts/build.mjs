// `npm run build` (and `prepack`): the package as users install it.
//
//   dist/src/, dist/cdk/lib/   ES modules, .d.ts and source maps (tsc, tsconfig.build.json)
//   dist/functions/{ingress,wake,timer}/index.mjs
//                              the runtime's own Lambda functions, bundled once here
//                              (esbuild, the settings BundledFunction uses), so a
//                              user's `cdk synth` bundles only the user's handler
//
// dist/ is emptied first: a file whose source was deleted must not ship.
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const started = performance.now();

rmSync(dist, { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// Keep in step with cdk/lib/bundled-function.ts (RUNTIME_BUNDLING there).
const ESM_REQUIRE_SHIM =
  "import { createRequire as __dormantCreateRequire } from 'node:module'; const require = __dormantCreateRequire(import.meta.url);";
for (const role of ['ingress', 'wake', 'timer']) {
  await build({
    entryPoints: [join(root, 'lambda', `${role}.ts`)],
    outfile: join(dist, 'functions', role, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_SHIM },
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
}

const size = (file) => `${Math.round(statSync(join(dist, file)).size / 1024)} KiB`;
console.error(
  `build: dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s; functions: ${['ingress', 'wake', 'timer']
    .map((r) => `${r} ${size(`functions/${r}/index.mjs`)}`)
    .join(', ')}`,
);

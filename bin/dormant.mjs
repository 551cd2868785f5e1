#!/usr/bin/env node
// The `dormant` command (also installed as `dormant-lambda`, so that
// `npx dormant-lambda init` works before the package is a dependency).
// Registers tsx, a dependency of the package, so the user's services file
// may be TypeScript (Node 20 cannot strip types), then hands over to the CLI:
// the build in dist/, or, with `--conditions=dormant-source` as this
// repository's `npm start` runs it, src/local/cli.ts.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch {
  console.error('dormant: tsx is not installed; run `npm install` first');
  process.exit(1);
}
register();
let main;
try {
  ({ main } = await import('#cli'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist')) throw error;
  console.error(
    'dormant: the package is not built (no dist/): run `npm run build`, or start from the sources with `node --conditions=dormant-source bin/dormant.mjs`',
  );
  process.exit(1);
}
// Exit explicitly: a half-started emulator must not keep the command alive.
process.exit(await main(process.argv.slice(2)));

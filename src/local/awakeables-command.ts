/**
 * `dormant awakeables resolve|reject <awakeableId> [value]`: completes an
 * awakeable through the deployment's public callback routes
 * (`POST /restate/awakeables/{id}/resolve|reject`), the local plane by
 * default. The id is the capability: no API key is needed, though one given
 * (or `--iam`) is sent as for every command.
 */
import { API_OPTIONS_USAGE, apiArguments } from './api-client.ts';

/** How `dormant awakeables` is used. */
export const AWAKEABLES_USAGE = `usage: dormant awakeables resolve <awakeableId> [json-value] [--url URL]
       dormant awakeables reject <awakeableId> [reason] [--url URL]

  resolve    completes the awakeable with a JSON value (default: none): '{"approved":true}', '"ok"', 42
  reject     fails it with a reason (default: 'rejected'); the handler sees a TerminalError
${API_OPTIONS_USAGE}
             (default: $DORMANT_API_URL, else the local plane, http://localhost:8080)`;

/**
 * Runs `dormant awakeables …` with its arguments (after `awakeables`);
 * returns the exit code.
 *
 * @example
 * ```ts
 * await awakeablesCommand(['resolve', 'awk_…', '{"approved":true}']);
 * ```
 */
export async function awakeablesCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  const [sub, ...rest] = argv;
  const usage = (problem: string) => {
    out.error(`dormant awakeables${sub === 'resolve' || sub === 'reject' ? ` ${sub}` : ''}: ${problem}\n\n${AWAKEABLES_USAGE}`);
    return 2;
  };
  if (sub !== 'resolve' && sub !== 'reject') return usage(sub === undefined ? 'name a command' : `no command '${sub}'`);
  const api = apiArguments(rest, env, 'http://localhost:8080');
  if ('problem' in api) return usage(api.problem);
  const [id, value, ...extra] = api.positionals;
  if (id === undefined || extra.length > 0) return usage('name one awakeable id, then at most one value (quote it for the shell)');
  if (sub === 'resolve' && value !== undefined) {
    try {
      JSON.parse(value);
    } catch {
      return usage(`the value is not JSON: ${value} (a string is quoted: '"${value}"')`);
    }
  }
  const body = sub === 'resolve' ? (value ?? '') : (value ?? 'rejected');
  const answer = await api
    .request('POST', `/restate/awakeables/${encodeURIComponent(id)}/${sub}`, body)
    .catch((error: unknown) => error as Error);
  if (answer instanceof Error) {
    out.error(`dormant awakeables ${sub}: ${api.url} did not answer: ${answer.message}`);
    return 1;
  }
  const text = await answer.text();
  if (answer.status >= 200 && answer.status < 300) {
    out.log(`${id}: ${sub === 'resolve' ? 'resolved' : 'rejected'}`);
    return 0;
  }
  let message = `HTTP ${answer.status} ${text}`;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = `${parsed.message} (HTTP ${answer.status})`;
  } catch {
    // not JSON: shown as it is
  }
  out.error(`dormant awakeables ${sub}: ${id}: ${message}`);
  return 1;
}

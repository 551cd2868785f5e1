import { shortId } from '../engine/ids.ts';

export { shortId };

/**
 * Log lines of the roles. In Lambda, one JSON line per call on stdout or
 * stderr; the local plane passes a `Log` of its own and prints them its way.
 */

/**
 * Where log lines go. In Lambda, one JSON line per call on stdout or
 * stderr; the local plane prints them its own way.
 *
 * @example
 * ```ts
 * const log: Log = (level, message, details) => console.log(level, message, details);
 * ```
 */
export type Log = (level: 'info' | 'warn' | 'error', message: string, details?: unknown) => void;

/**
 * Writes a log line through `log`, or as JSON on the console.
 *
 * @example
 * ```ts
 * logLine(deps.log, 'warn', 'wake: record failed', error);
 * ```
 */
export function logLine(log: Log | undefined, level: 'info' | 'warn' | 'error', message: string, details?: unknown): void {
  if (log) {
    log(level, message, details);
    return;
  }
  const detail = details instanceof Error ? { error: details.name, reason: details.message } : details;
  const line = JSON.stringify({ level, message, ...(detail === undefined ? {} : { details: detail }) });
  if (level === 'error') console.error(line);
  else console.log(line);
}

/**
 * Text for a log line: every awakeable id in it shortened (`shortId`), and
 * at most `max` characters (a 3,000-character key is not worth a log line).
 *
 * @example
 * ```ts
 * forLog('POST /restate/awakeables/awk_AgAAAAEx…/resolve') // 'POST /restate/awakeables/awk_AgAAAA…/resolve'
 * ```
 */
export function forLog(text: string, max = 200): string {
  const redacted = text.replace(/(?:awk|whk)_[A-Za-z0-9_-]+/g, shortId);
  return redacted.length <= max ? redacted : `${redacted.slice(0, max)}… (${redacted.length} characters)`;
}

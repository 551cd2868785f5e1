/**
 * The web page at `/ui/` on the local plane, in a real headless browser
 * (Debian's chromium driven by playwright-core): an invocation's page shows
 * the awakeable it awaits, resolving it from the page completes the
 * invocation, and a screenshot of each page is left under `test-results/`.
 * Also over plain HTTP: the page's security headers, and the open plane's
 * refusal of other hosts (DNS rebinding) and of state changes from other
 * origins (CSRF).
 *
 * The browser is never downloaded: without `/usr/bin/chromium` these tests
 * are skipped on a developer's machine, and fail with `CI=true`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { service, type Context } from 'dormant-lambda';
import { review } from '../../examples/review.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { UI_CONTENT_SECURITY_POLICY } from '../../src/runtime/ui.ts';
import { apiArguments, type ApiReach } from '../../src/local/api-client.ts';
import { startUiProxy, uiCommand, type UiProxy } from '../../src/local/ui-command.ts';
import { call, send, startTestPlane, untilAwakeable, untilOutput, withHeaders } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
const SHOTS = 'test-results/ui';

const API_KEY = 'ui-proxy-owner-key-0123456789';

/** Waits for an awakeable and fails when it is rejected: something to restart. */
const gate = service({
  name: 'gate',
  handlers: {
    open: async (ctx: Context) => {
      const { id, promise } = ctx.awakeable<boolean>();
      await ctx.run('hand out', () => id);
      return promise;
    },
  },
});

let plane: LocalPlane;
let closed: LocalPlane;
let proxy: UiProxy;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!haveBrowser && process.env.CI === 'true')
    throw new Error(`the browser tests need Debian's chromium at ${CHROMIUM} (apt-get install chromium); CI never skips them`);
  [plane, closed] = await Promise.all([startTestPlane([review, gate]), startTestPlane([review], { apiKey: API_KEY })]);
  proxy = await startUiProxy(apiArguments(['--url', closed.url, '--api-key', API_KEY], {}) as ApiReach);
  if (haveBrowser) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
    });
    mkdirSync(SHOTS, { recursive: true });
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await Promise.all([plane?.stop(), closed?.stop()]);
});

async function openPage(path: string, base = plane.url): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 800 } });
  // A script error or a CSP violation on the page fails the test.
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(base + path);
  return page;
}

const problemsOf = (page: Page) => (page as Page & { problems: string[] }).problems;

describe.skipIf(!haveBrowser && process.env.CI !== 'true')('the web page in a browser', () => {
  it('shows a suspended invocation and the awakeable it awaits; resolving it from the page completes it', async () => {
    const id = await send(plane, '/review/request', { title: 'Q4 plan <script>alert(1)</script>' });
    await untilAwakeable(plane, id);

    const page = await openPage(`/ui/#/invocation/${id}`);
    await page.getByText('suspended', { exact: true }).first().waitFor();
    // The awaited awakeable, with its resolve form; the journal's entries as a timeline.
    const awaiting = page.locator('.await');
    await expect(awaiting.count()).resolves.toBe(1);
    await expect(page.locator('.entry[data-kind="awakeable"]').count()).resolves.toBe(1);
    // Values are text: the title's markup is shown, not run.
    await expect(page.locator('script:not([src])').count()).resolves.toBe(0);
    await page.screenshot({ path: `${SHOTS}/invocation-suspended.png`, fullPage: true });

    await awaiting.locator('textarea').fill('{"approved":true,"comment":"from the page"}');
    await awaiting.getByRole('button', { name: 'Resolve' }).click();
    await untilOutput(plane, id);
    await page.reload();
    await page.getByText('completed', { exact: true }).first().waitFor();
    await expect(page.locator('.entry .completion').first().textContent()).resolves.toContain('resolved by ingress');
    await page.screenshot({ path: `${SHOTS}/invocation-completed.png`, fullPage: true });
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it('lists started invocations, filters them by service and status, and opens one', async () => {
    const id = await send(plane, '/review/request', { title: 'listed' });
    await untilAwakeable(plane, id);
    const page = await openPage('/ui/');
    await page.locator(`tr[data-id="${id}"]`).waitFor();
    await page.screenshot({ path: `${SHOTS}/list.png`, fullPage: true });
    await page.locator('select[name="status"]').selectOption('suspended');
    await page.locator('input[name="service"]').fill('review');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator(`tr[data-id="${id}"]`).waitFor();
    const statuses = await page.locator('#invocations tbody .status').allTextContents();
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['suspended']));
    await page.locator(`tr[data-id="${id}"] a`).click();
    await page.locator('.await').waitFor();
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it('restarts a failed invocation from its page', async () => {
    const id = await send(plane, '/gate/open', null);
    const awakeableId = await untilAwakeable(plane, id);
    await call(plane, 'POST', `/restate/awakeables/${awakeableId}/reject`, 'no reviewer', { 'content-type': 'text/plain' });
    await untilOutput(plane, id);
    const page = await openPage(`/ui/#/invocation/${id}`);
    await page.getByRole('button', { name: 'Restart' }).click();
    await page.waitForURL((url) => url.hash.startsWith('#/invocation/') && !url.hash.endsWith(id));
    await page.locator('dl.facts .status').waitFor();
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it('cancels a waiting invocation from its page', async () => {
    const id = await send(plane, '/review/request', { title: 'to cancel' });
    await untilAwakeable(plane, id);
    const page = await openPage(`/ui/#/invocation/${id}`);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await untilOutput(plane, id);
    // The review's handler answers a cancellation itself (and finishes); its page shows what the API says.
    const status = (await call(plane, 'GET', `/restate/invocation/${id}`)).json.status as string;
    expect(['completed', 'failed']).toContain(status);
    await page.reload();
    await expect(page.locator('dl.facts .status').textContent()).resolves.toBe(status);
    await expect(page.getByRole('button', { name: 'Cancel' }).count()).resolves.toBe(0);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it('shows a closed plane through dormant ui, which adds the API key the browser never sees', async () => {
    const id = await send(withKey(closed), '/review/request', { title: 'behind a key' });
    await untilAwakeable(withKey(closed), id);
    const page = await openPage(`/ui/#/invocation/${id}`, proxy.url);
    await page.getByText('suspended', { exact: true }).first().waitFor();
    await page.locator('.await textarea').fill('{"approved":false}');
    await page.getByRole('button', { name: 'Resolve' }).click();
    await untilOutput(withKey(closed), id);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it('says what went wrong for an unknown invocation', async () => {
    const page = await openPage('/ui/#/invocation/inv_doesnotexist0000000000');
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/^404: /);
    await page.close();
  });
});

describe('the page over HTTP', () => {
  it('is served with a strict Content-Security-Policy, as text that cannot be framed or sniffed', async () => {
    for (const [path, type] of [
      ['/ui/', 'text/html'],
      ['/ui/app.js', 'text/javascript'],
      ['/ui/app.css', 'text/css'],
    ] as const) {
      const answer = await call(plane, 'GET', path);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe(`${type}; charset=utf-8`);
      expect(answer.headers.get('content-security-policy')).toBe(UI_CONTENT_SECURITY_POLICY);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
    }
    // Nothing inline for the policy to allow; values reach the page as text only.
    const page = (await call(plane, 'GET', '/ui/')).text;
    expect(page).not.toMatch(/<script>|<style>| on[a-z]+=/);
    expect((await call(plane, 'GET', '/ui/app.js')).text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });

  it('redirects /ui to /ui/ relatively (so it stays under an API Gateway stage) and knows nothing else under it', async () => {
    const redirect = await fetch(`${plane.url}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('ui/');
    expect((await call(plane, 'GET', '/ui/secrets.json')).status).toBe(404);
    expect((await call(plane, 'POST', '/ui/')).status).not.toBe(200);
  });

  it('on the open plane, answers only requests addressed to this machine (DNS rebinding)', async () => {
    const id = await send(plane, '/review/request', { title: 'rebinding' });
    const rebound = await rawRequest('GET', `/restate/invocation/${id}`, { host: `attacker.example:${port()}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ code: 'foreign_host' });
    const page = await rawRequest('GET', '/ui/', { host: `attacker.example:${port()}` });
    expect(page.status).toBe(403);
    expect((await rawRequest('GET', `/restate/invocation/${id}`, { host: `127.0.0.1:${port()}` })).status).toBe(200);
  });

  it('on the open plane, refuses state changes from another origin (CSRF) and changes nothing', async () => {
    const id = await send(plane, '/review/request', { title: 'csrf' });
    await untilAwakeable(plane, id);
    const before = (await call(plane, 'GET', `/restate/invocation/${id}`)).json;
    const forged: Record<string, string>[] = [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }];
    for (const headers of forged) {
      const cancel = await call(plane, 'PATCH', `/restate/invocation/${id}/cancel`, undefined, headers);
      expect(cancel.status).toBe(403);
      expect(cancel.json.code).toBe('cross_origin');
      const start = await call(plane, 'POST', '/review/request/send', JSON.stringify({ title: 'forged' }), headers);
      expect(start.status).toBe(403);
    }
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json).toEqual(before);
    // The page's own origin may.
    const own = await call(plane, 'PATCH', `/restate/invocation/${id}/cancel`, undefined, { origin: plane.url });
    expect(own.status).toBe(202);
  });
});

describe('dormant ui', () => {
  it("forwards to the API with the key added, and guards the developer's authority like the open plane", async () => {
    const id = await send(withKey(closed), '/review/request', { title: 'proxied' });
    // Straight to the closed plane, the page's data needs the key; through the proxy it does not.
    expect((await call(closed, 'GET', `/restate/invocation/${id}`)).status).toBe(401);
    const status = await fetch(`${proxy.url}/restate/invocation/${id}`);
    expect(status.status).toBe(200);
    expect(((await status.json()) as { id: string }).id).toBe(id);
    const page = await fetch(`${proxy.url}/ui/`);
    expect(page.headers.get('content-security-policy')).toBe(UI_CONTENT_SECURITY_POLICY);
    // A rebound name and a cross-origin change are refused before anything is forwarded.
    const proxyPort = Number(new URL(proxy.url).port);
    expect((await rawRequest('GET', `/restate/invocation/${id}`, { host: 'attacker.example' }, proxyPort)).status).toBe(403);
    const forged = await fetch(`${proxy.url}/restate/invocation/${id}/cancel`, {
      method: 'PATCH',
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect(((await call(withKey(closed), 'GET', `/restate/invocation/${id}`)).json as { status: string }).status).not.toMatch(
      /completed|failed/,
    );
  });

  it('refuses bad arguments with its usage', async () => {
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    expect(await uiCommand(['--port', 'x'], {}, out)).toBe(2);
    expect(await uiCommand(['--iam', '--api-key', 'k', '--url', closed.url], {}, out)).toBe(2);
    expect(await uiCommand(['extra', '--url', closed.url], {}, out)).toBe(2);
    expect(lines.join('\n')).toMatch(/--port must be a port number[\s\S]*two ways to authenticate[\s\S]*unexpected argument 'extra'/);
  });
});

function withKey(p: LocalPlane): LocalPlane {
  return withHeaders(p, { 'x-api-key': API_KEY });
}

function port(): string {
  return new URL(plane.url).port;
}

/** A request with a Host header of our choosing (fetch will not send one). */
async function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  to = Number(port()),
): Promise<{ status: number; body: string }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: to, method, path, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

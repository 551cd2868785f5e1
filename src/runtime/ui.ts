/**
 * The ingress's web page at `/ui/`: the invocation list with filters, and
 * an invocation's page with its status, what it awaits, and its journal as
 * a timeline, from which a developer can resolve or reject an awaited
 * awakeable, cancel, kill, or restart a failed invocation.
 *
 * Three static files, no framework: the page calls the same routes as any
 * client (`GET /restate/invocations`, `/restate/invocation/{id}[/journal]`,
 * the awakeable and cancel routes), so it can do nothing its caller could
 * not. Everything it shows from the table is set as text, never as markup
 * (journal values hold whatever a webhook sent), and it is served under a
 * Content-Security-Policy that allows only its own script, style and
 * requests to its own origin.
 */
import type { HttpAnswer } from './http.ts';

/** The files of the page, by their name under `/ui/` (`''` is the page itself). */
export type UiAsset = '' | 'app.js' | 'app.css';

/**
 * What the page may load and do: its own script and style, requests to its
 * own origin, nothing inline, no frames, no forms posted elsewhere.
 */
export const UI_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The answer for one of the page's files, with the headers that keep it to
 * itself.
 *
 * @example
 * ```ts
 * uiAnswer('app.js').headers['content-type'] // 'text/javascript; charset=utf-8'
 * ```
 */
export function uiAnswer(asset: UiAsset): HttpAnswer {
  const [type, body] = asset === 'app.js' ? ['text/javascript', APP_JS] : asset === 'app.css' ? ['text/css', APP_CSS] : ['text/html', PAGE];
  return {
    statusCode: 200,
    headers: {
      'content-type': `${type}; charset=utf-8`,
      'content-security-policy': UI_CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    },
    body,
  };
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dormant</title>
<link rel="stylesheet" href="app.css">
<link rel="icon" href="data:,">
</head>
<body>
<header><a href="#/" class="brand">Dormant</a><span id="where"></span></header>
<main id="main"><p>Loading…</p></main>
<script src="app.js"></script>
</body>
</html>
`;

const APP_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2430; background: #f6f7f9; }
body { margin: 0; }
header { background: #1d2430; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: baseline; }
header a.brand { color: #fff; font-weight: 700; text-decoration: none; font-size: 18px; }
#where { color: #b8c2d0; font-family: ui-monospace, monospace; font-size: 13px; }
main { padding: 16px 20px; max-width: 1200px; }
h1 { font-size: 18px; margin: 4px 0 12px; font-family: ui-monospace, monospace; }
h2 { font-size: 15px; margin: 20px 0 8px; }
form.filters { display: flex; gap: 10px; align-items: end; margin-bottom: 12px; flex-wrap: wrap; }
label { display: flex; flex-direction: column; font-size: 12px; color: #55606e; gap: 3px; }
input, select, textarea { font: inherit; font-size: 13px; padding: 4px 6px; border: 1px solid #c4cbd5; border-radius: 4px; background: #fff; }
textarea { font-family: ui-monospace, monospace; min-width: 260px; }
button { font: inherit; font-size: 13px; padding: 5px 12px; border-radius: 4px; border: 1px solid #8a96a6; background: #fff; cursor: pointer; }
button.primary { background: #2357c6; border-color: #2357c6; color: #fff; }
button.danger { border-color: #b3261e; color: #b3261e; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e7ec; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.id a { font-family: ui-monospace, monospace; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e3e7ec; }
.status.completed { background: #d6f2dc; color: #17652b; }
.status.failed { background: #fbdad7; color: #8c1d18; }
.status.suspended { background: #e4e9fb; color: #23408e; }
.status.running { background: #fff1c7; color: #765a00; }
.status.backing-off { background: #ffe2c2; color: #8a4500; }
.status.pending, .status.scheduled { background: #ececec; color: #444; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 13px; background: #fff; padding: 10px 14px; border: 1px solid #e3e7ec; }
dl.facts dt { color: #55606e; }
dl.facts dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
.actions { display: flex; gap: 8px; margin: 12px 0; }
.await { background: #fff; border: 1px solid #e3e7ec; padding: 10px 14px; margin-bottom: 8px; }
.await .row { display: flex; gap: 10px; align-items: end; margin-top: 8px; flex-wrap: wrap; }
.timeline { background: #fff; border: 1px solid #e3e7ec; padding: 8px 14px; }
.entry { display: grid; grid-template-columns: 230px 1fr; gap: 10px; padding: 5px 0; border-bottom: 1px solid #f0f2f5; font-size: 13px; }
.entry .label { font-family: ui-monospace, monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.track { position: relative; height: 16px; background: #f3f5f8; border-radius: 3px; }
.bar { position: absolute; top: 3px; height: 10px; border-radius: 3px; background: #2357c6; min-width: 3px; }
.bar.wait { background: repeating-linear-gradient(45deg, #9fb3e3, #9fb3e3 4px, #c9d5f2 4px, #c9d5f2 8px); }
.bar.open { background: repeating-linear-gradient(45deg, #e0b44a, #e0b44a 4px, #f5dea5 4px, #f5dea5 8px); }
.bar.failed { background: #b3261e; }
.detail { grid-column: 2; color: #55606e; font-size: 12px; }
pre.value { margin: 2px 0 0; white-space: pre-wrap; word-break: break-all; font-size: 12px; background: #f6f7f9; padding: 3px 6px; max-height: 120px; overflow: auto; }
.error { color: #8c1d18; background: #fbdad7; padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
.note { color: #55606e; font-size: 12px; }
.pager { margin-top: 10px; display: flex; gap: 8px; }
`;

// Plain ES5-style script: served as is, no build step. Every value from the
// API reaches the page through textContent, never innerHTML.
const APP_JS = String.raw`(function () {
  'use strict';
  var path = location.pathname;
  var base = path.slice(0, path.lastIndexOf('/ui/'));
  var main = document.getElementById('main');
  var where = document.getElementById('where');
  var STATUSES = ['', 'pending', 'scheduled', 'running', 'backing-off', 'suspended', 'completed', 'failed'];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attrs[name];
      else if (name === 'onclick' || name === 'onsubmit') node[name] = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function show(nodes) {
    main.replaceChildren.apply(main, nodes);
  }

  function api(method, route, body, type) {
    var init = { method: method, headers: {}, credentials: 'same-origin' };
    if (body !== undefined) {
      init.body = body;
      init.headers['content-type'] = type || 'application/json';
    }
    return fetch(base + route, init).then(function (response) {
      return response.text().then(function (text) {
        var json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch (e) {
          json = undefined;
        }
        if (!response.ok) throw new Error(response.status + ': ' + ((json && json.message) || text || response.statusText));
        return json;
      });
    });
  }

  function failure(error) {
    return el('div', { class: 'error', role: 'alert', text: String(error && error.message ? error.message : error) });
  }

  function badge(status) {
    return el('span', { class: 'status ' + status, text: status });
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : '';
  }

  function query(hash) {
    var params = {};
    var at = hash.indexOf('?');
    if (at >= 0)
      hash.slice(at + 1).split('&').forEach(function (pair) {
        var parts = pair.split('=');
        if (parts[0]) params[decodeURIComponent(parts[0])] = decodeURIComponent(parts[1] || '');
      });
    return params;
  }

  function hashOf(params) {
    var pairs = Object.keys(params)
      .filter(function (k) {
        return params[k];
      })
      .map(function (k) {
        return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
      });
    return '#/' + (pairs.length ? '?' + pairs.join('&') : '');
  }

  // ---- the list ---------------------------------------------------------------

  function showList(params) {
    where.textContent = 'invocations';
    var service = el('input', { name: 'service', placeholder: 'any', value: params.service || '' });
    var status = el(
      'select',
      { name: 'status' },
      STATUSES.map(function (s) {
        var option = el('option', { value: s, text: s || 'any' });
        if (s === (params.status || '')) option.selected = true;
        return option;
      }),
    );
    var form = el('form', { class: 'filters' }, [
      el('label', {}, ['Service', service]),
      el('label', {}, ['Status', status]),
      el('button', { type: 'submit', class: 'primary', text: 'Filter' }),
    ]);
    form.onsubmit = function (event) {
      event.preventDefault();
      location.hash = hashOf({ service: service.value.trim(), status: status.value });
    };
    show([el('h1', { text: 'Invocations' }), form, el('p', { class: 'note', text: 'Loading…' })]);
    var search = [];
    ['service', 'status', 'cursor'].forEach(function (k) {
      if (params[k]) search.push(k + '=' + encodeURIComponent(params[k]));
    });
    api('GET', '/restate/invocations' + (search.length ? '?' + search.join('&') : ''))
      .then(function (page) {
        var rows = page.invocations.map(function (inv) {
          return el('tr', { 'data-id': inv.id }, [
            el('td', { class: 'id' }, [el('a', { href: '#/invocation/' + encodeURIComponent(inv.id), text: inv.id })]),
            el('td', { text: inv.service + '/' + inv.handler }),
            el('td', { text: inv.key === undefined ? '' : inv.key }),
            el('td', {}, [badge(inv.status)]),
            el('td', { text: when(inv.createdAt) }),
            el('td', { text: when(inv.updatedAt) }),
            el('td', { text: String(inv.attempts) }),
            el('td', { text: (inv.awaiting || []).length ? String(inv.awaiting.length) + ' awaited' : '' }),
          ]);
        });
        var head = el(
          'tr',
          {},
          ['Invocation', 'Handler', 'Key', 'Status', 'Created', 'Updated', 'Attempts', 'Awaiting'].map(function (h) {
            return el('th', { text: h });
          }),
        );
        var table = el('table', { id: 'invocations' }, [el('thead', {}, [head]), el('tbody', {}, rows)]);
        var pager = el('div', { class: 'pager' }, [
          params.cursor ? el('button', { type: 'button', text: 'First page', onclick: function () { location.hash = hashOf({ service: params.service, status: params.status }); } }) : null,
          page.cursor ? el('button', { type: 'button', text: 'Next page', onclick: function () { location.hash = hashOf({ service: params.service, status: params.status, cursor: page.cursor }); } }) : null,
        ]);
        show([el('h1', { text: 'Invocations' }), form, rows.length ? table : el('p', { class: 'note', text: 'No invocations match.' }), pager]);
      })
      .catch(function (error) {
        show([el('h1', { text: 'Invocations' }), form, failure(error)]);
      });
  }

  // ---- one invocation ---------------------------------------------------------

  function showInvocation(id) {
    where.textContent = id;
    show([el('h1', { text: id }), el('p', { class: 'note', text: 'Loading…' })]);
    Promise.all([api('GET', '/restate/invocation/' + encodeURIComponent(id)), api('GET', '/restate/invocation/' + encodeURIComponent(id) + '/journal')])
      .then(function (both) {
        render(id, both[0], both[1]);
      })
      .catch(function (error) {
        show([el('h1', { text: id }), failure(error), el('p', {}, [el('a', { href: '#/', text: '← all invocations' })])]);
      });
  }

  function act(button, run, id) {
    button.disabled = true;
    run()
      .then(function () {
        showInvocation(id);
      })
      .catch(function (error) {
        button.disabled = false;
        button.parentNode.appendChild(failure(error));
      });
  }

  function render(id, status, journal) {
    var finished = status.status === 'completed' || status.status === 'failed';
    var facts = el('dl', { class: 'facts' }, []);
    function fact(name, value) {
      if (value === undefined || value === null || value === '') return;
      facts.appendChild(el('dt', { text: name }));
      facts.appendChild(el('dd', {}, [value]));
    }
    fact('Status', badge(status.status));
    fact('Handler', status.service + '/' + status.handler);
    fact('Key', status.key);
    fact('Created', when(status.createdAt));
    fact('Updated', when(status.updatedAt));
    fact('Attempts', String(status.attempts));
    fact('Scheduled at', when(status.scheduledAt));
    fact('Next retry', when(status.nextRetryAt));
    fact('Pinned version', status.version);
    if (status.lastFailure) fact('Last failure', status.lastFailure.message);
    if (status.failure) fact('Failure', status.failure.message);

    var actions = el('div', { class: 'actions' }, []);
    if (!finished) {
      var cancel = el('button', { type: 'button', class: 'danger', text: 'Cancel' });
      cancel.onclick = function () {
        act(cancel, function () { return api('PATCH', '/restate/invocation/' + encodeURIComponent(id) + '/cancel'); }, id);
      };
      var kill = el('button', { type: 'button', class: 'danger', text: 'Kill' });
      kill.onclick = function () {
        if (confirm('Kill ' + id + '? It ends at once, without running compensation.'))
          act(kill, function () { return api('PATCH', '/restate/invocation/' + encodeURIComponent(id) + '/kill'); }, id);
      };
      actions.appendChild(cancel);
      actions.appendChild(kill);
    }
    if (status.status === 'failed') {
      var restart = el('button', { type: 'button', class: 'primary', text: 'Restart' });
      restart.onclick = function () {
        act(restart, function () {
          // Restate's admin route: a new invocation, from the start with the same input.
          return api('PATCH', '/restate/invocation/' + encodeURIComponent(id) + '/restart-as-new').then(function (answer) {
            if (answer && answer.new_invocation_id) location.hash = '#/invocation/' + encodeURIComponent(answer.new_invocation_id);
          });
        }, id);
      };
      actions.appendChild(restart);
    }

    var awaits = (status.awaiting || []).map(function (a) {
      var box = el('div', { class: 'await', 'data-key': a.key }, [el('strong', { text: a.key }), ' ']);
      if (a.awakeableId) {
        box.appendChild(el('span', { class: 'note', text: 'awakeable ' + a.awakeableId }));
        var value = el('textarea', { name: 'value', rows: '2', 'aria-label': 'value (JSON)' });
        value.value = 'true';
        var resolve = el('button', { type: 'button', class: 'primary', text: 'Resolve' });
        var reason = el('input', { name: 'reason', placeholder: 'reason', 'aria-label': 'reason' });
        var reject = el('button', { type: 'button', class: 'danger', text: 'Reject' });
        resolve.onclick = function () {
          var body = value.value;
          try {
            JSON.parse(body);
          } catch (e) {
            box.appendChild(failure('The value must be JSON: ' + e.message));
            return;
          }
          act(resolve, function () { return api('POST', '/restate/awakeables/' + encodeURIComponent(a.awakeableId) + '/resolve', body); }, id);
        };
        reject.onclick = function () {
          act(reject, function () { return api('POST', '/restate/awakeables/' + encodeURIComponent(a.awakeableId) + '/reject', reason.value || 'rejected', 'text/plain'); }, id);
        };
        box.appendChild(el('div', { class: 'row' }, [el('label', {}, ['Value (JSON)', value]), resolve, el('label', {}, ['Reason', reason]), reject]));
      } else if (a.timerAt) box.appendChild(el('span', { class: 'note', text: 'timer due ' + when(a.timerAt) }));
      else if (a.event) box.appendChild(el('span', { class: 'note', text: 'an event from endpoint ' + a.event }));
      else if (a.callee) box.appendChild(el('a', { href: '#/invocation/' + encodeURIComponent(a.callee), text: 'result of ' + a.callee }));
      else if (a.lockHeldBy) box.appendChild(el('span', { class: 'note', text: 'queued behind ' + a.lockHeldBy + (a.queuePosition ? ' (position ' + a.queuePosition + ')' : '') }));
      return box;
    });

    show(
      [el('p', {}, [el('a', { href: '#/', text: '← all invocations' })]), el('h1', { text: id }), facts, actions]
        .concat(awaits.length ? [el('h2', { text: 'Awaiting' })].concat(awaits) : [])
        .concat([el('h2', { text: 'Journal' }), timeline(status, journal, finished)]),
    );
  }

  function timeline(status, journal, finished) {
    var start = Date.parse(status.createdAt);
    var end = finished ? Date.parse(status.updatedAt) : Date.now();
    journal.entries.forEach(function (e) {
      if (e.writtenAt) end = Math.max(end, Date.parse(e.writtenAt));
      if (e.completion) end = Math.max(end, Date.parse(e.completion.at));
    });
    var span = Math.max(end - start, 1);
    function pct(t) {
      return Math.min(100, Math.max(0, ((t - start) / span) * 100));
    }
    var rows = journal.entries.map(function (e) {
      var label = '#' + e.index + ' ' + e.kind + (e.name !== undefined ? ' ' + e.name : '');
      var track = el('div', { class: 'track' }, []);
      var written = e.writtenAt ? Date.parse(e.writtenAt) : undefined;
      if (written !== undefined) {
        var mark = el('div', { class: 'bar' + (e.outcome && e.outcome.failure ? ' failed' : '') });
        mark.style.left = pct(written) + '%';
        track.appendChild(mark);
        var awaited = e.kind === 'awakeable' || e.kind === 'sleep' || e.kind === 'call' || e.kind === 'webhook' || e.kind === 'event-await';
        if (awaited) {
          var until = e.completion ? Date.parse(e.completion.at) : end;
          var wait = el('div', { class: 'bar ' + (e.completion ? 'wait' : 'open'), title: e.completion ? e.completion.how : 'awaited' });
          wait.style.left = pct(written) + '%';
          wait.style.width = Math.max(pct(until) - pct(written), 0.5) + '%';
          track.appendChild(wait);
        }
      }
      var details = [];
      if (e.writtenAt) details.push(el('span', { text: 'written ' + when(e.writtenAt) }));
      if (e.wakesAt) details.push(el('span', { text: ' · due ' + when(e.wakesAt) }));
      if (e.callee) details.push(el('span', { text: ' · started ' + e.callee }));
      if (e.completion)
        details.push(el('span', { class: 'completion', text: ' · ' + e.completion.how + (e.completion.by ? ' by ' + e.completion.by : '') + ' ' + when(e.completion.at) }));
      else if (e.kind === 'awakeable' || e.kind === 'sleep' || e.kind === 'call' || e.kind === 'webhook' || e.kind === 'event-await') details.push(el('span', { text: ' · still awaited' }));
      var shown = e.outcome || e.completion;
      var value = null;
      if (shown && ((shown.value !== undefined && shown.value !== '') || shown.failure)) {
        var text = shown.failure ? 'failure: ' + shown.failure.message : shown.value;
        if (shown.truncated) text += ' … (cut; ' + shown.bytes + ' bytes in all)';
        value = el('pre', { class: 'value', text: text });
      }
      return el('div', { class: 'entry', 'data-kind': e.kind }, [
        el('div', { class: 'label', title: label, text: label }),
        track,
        el('div', { class: 'detail' }, details.concat(value ? [value] : [])),
      ]);
    });
    if (!rows.length) rows = [el('p', { class: 'note', text: 'Nothing journaled yet.' })];
    return el('div', { class: 'timeline' }, rows);
  }

  function route() {
    var hash = location.hash || '#/';
    if (hash.indexOf('#/invocation/') === 0) showInvocation(decodeURIComponent(hash.slice('#/invocation/'.length)));
    else showList(query(hash));
  }

  window.addEventListener('hashchange', route);
  route();
})();
`;

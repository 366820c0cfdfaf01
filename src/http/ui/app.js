// The status page: one watch stream (read with fetch, since EventSource cannot send Authorization)
// keeps the server table live; the watched directories are read every few seconds and after changes.
// The token lives in sessionStorage only. Server data is only ever put in the page as text.

const API = '/api/svc/v1';
const TOKEN_KEY = 'mcp-control-plane.token';
const SOURCES_EVERY_MS = 2000;

const $ = (id) => document.getElementById(id);

/** Builds an element; strings become text nodes, never markup. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'title') node.title = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// ---------- state ----------

let token = sessionStorage.getItem(TOKEN_KEY);
/** fqn → server, as GET answers it. */
const servers = new Map();
/** fqn → <tr>. */
const rows = new Map();
let selected;
let lastEventId;
let running = false;
let watchAbort;
let sourcesTimer;
let agoTimer;
let sourcesSoon;
let detailSoon;
/** Files that are gone while the servers they declared are kept (prune held back): "root\npath" → why. */
let goneFiles = new Map();

// ---------- helpers ----------

function condition(s, type) {
  return (s.status?.conditions ?? []).find((c) => c.type === type);
}

function ago(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m}m ago`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h}h ago` : `${Math.round(h / 24)}d ago`;
}

function sourceText(source) {
  if (!source || source.kind === 'api') return 'API';
  return source.path;
}

/** Why a server's file is gone while the server is kept, or undefined. */
function fileGone(source) {
  return source?.kind === 'file' ? goneFiles.get(`${source.root}\n${source.path}`) : undefined;
}

function statusPill(c) {
  const status = c ? c.status : '-';
  return el('span', { class: 'pill', dataset: { status }, title: c ? `${c.reason}: ${c.message}` : 'not reported yet' }, status);
}

function lastTransition(s) {
  const conditions = s.status?.conditions ?? [];
  let latest;
  for (const c of conditions) if (!latest || c.lastTransitionTime > latest.lastTransitionTime) latest = c;
  return latest;
}

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...(init.headers ?? {}) }, cache: 'no-store' });
  if (res.status === 401) {
    signOut('The server refused the token (401); sign in again.');
    throw new Error('unauthorized');
  }
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function setConnection(state, text, detail) {
  const node = $('connection');
  node.dataset.state = state;
  node.textContent = text;
  node.title = detail ?? '';
}

// ---------- server table ----------

function serverRow(s) {
  const ready = condition(s, 'Ready');
  const applied = condition(s, 'Applied');
  const discovered = condition(s, 'Discovered');
  const latest = lastTransition(s);
  const tools = s.tools ?? [];
  const disabled = tools.filter((t) => t.disabled).length;
  const tr = el(
    'tr',
    { dataset: { name: s.name, fqn: s.fqn, ready: ready?.status ?? '-' }, class: s.fqn === selected ? 'selected' : undefined },
    el('td', { class: 'name' }, s.name),
    el('td', { dataset: { col: 'ready' } }, statusPill(ready), ready ? el('span', { class: 'reason' }, ready.reason) : null),
    el('td', { dataset: { col: 'applied' } }, statusPill(applied)),
    el('td', { dataset: { col: 'discovered' } }, statusPill(discovered), discovered ? el('span', { class: 'reason' }, discovered.reason) : null),
    el('td', { dataset: { col: 'generation' }, class: 'mono' }, `${s.generation} / ${s.status?.observedGeneration ?? 0}`),
    el(
      'td',
      { dataset: { col: 'source' }, title: s.source?.kind === 'file' ? `${s.source.root}/${s.source.path} (document ${s.source.document})` : 'Managed through the API' },
      sourceText(s.source),
      fileGone(s.source) ? el('span', { class: 'reason gone', dataset: { gone: 'true' }, title: fileGone(s.source) }, 'file gone, prune held back') : null,
    ),
    el('td', { dataset: { col: 'tools' } }, String(tools.length), disabled ? el('span', { class: 'reason' }, `${disabled} disabled`) : null),
    el('td', { dataset: { col: 'auth' }, title: s.authStatus?.message ?? '' }, (s.authStatus?.status ?? 'unknown').replaceAll('_', ' ')),
    el(
      'td',
      { dataset: { col: 'transition' }, class: 'transition', title: latest ? latest.message : '' },
      latest ? `${latest.type} → ${latest.status} (${latest.reason}), ${ago(latest.lastTransitionTime)}` : '—',
    ),
  );
  tr.addEventListener('click', () => select(s.fqn));
  return tr;
}

function upsert(s) {
  servers.set(s.fqn, s);
  const tr = serverRow(s);
  const old = rows.get(s.fqn);
  rows.set(s.fqn, tr);
  if (old) {
    old.replaceWith(tr);
  } else {
    const body = $('servers').tBodies[0];
    const after = [...body.rows].find((r) => r.dataset.name > s.name);
    body.insertBefore(tr, after ?? null);
  }
  changed(s.fqn);
}

function remove(fqn) {
  servers.delete(fqn);
  rows.get(fqn)?.remove();
  rows.delete(fqn);
  if (selected === fqn) select(undefined);
  changed(fqn);
}

function changed(fqn) {
  $('no-servers').hidden = servers.size > 0;
  let ready = 0;
  for (const s of servers.values()) if (condition(s, 'Ready')?.status === 'True') ready++;
  $('summary').textContent = `${servers.size} server${servers.size === 1 ? '' : 's'}, ${ready} ready`;
  if (fqn !== undefined && fqn === selected) scheduleDetail();
  // A change may come from a file: the directory panel follows soon after.
  clearTimeout(sourcesSoon);
  sourcesSoon = setTimeout(refreshSources, 300);
}

// ---------- detail ----------

function select(fqn) {
  selected = fqn;
  for (const [key, tr] of rows) tr.classList.toggle('selected', key === fqn);
  $('detail').hidden = fqn === undefined;
  $('dashboard').classList.toggle('with-detail', fqn !== undefined);
  if (fqn !== undefined) renderDetail();
}

function scheduleDetail() {
  clearTimeout(detailSoon);
  detailSoon = setTimeout(renderDetail, 150);
}

function fact(dl, name, value) {
  dl.append(el('dt', {}, name), el('dd', {}, value));
}

async function renderDetail() {
  const s = servers.get(selected);
  if (!s) return;
  $('detail-name').textContent = s.name;
  $('detail-description').textContent = s.manifest?.description ?? '';
  const facts = $('detail-facts');
  facts.replaceChildren();
  // mcp-server/virtual: its sources instead of an upstream URL; mcp-server/stdio: its command.
  if (s.manifest?.type === 'mcp-server/virtual') fact(facts, 'Sources', el('span', { class: 'mono' }, (s.manifest.servers ?? []).map((x) => x.name).join(', ')));
  else if (s.manifest?.type === 'mcp-server/stdio') fact(facts, 'Command', el('span', { class: 'mono' }, [s.manifest.command, ...(s.manifest.args ?? [])].join(' ')));
  else fact(facts, 'URL', el('span', { class: 'mono' }, s.manifest?.url ?? ''));
  fact(facts, 'Gateway', el('span', { class: 'mono' }, s.proxyUrl ?? ''));
  fact(facts, 'Generation', `${s.generation} (observed ${s.status?.observedGeneration ?? 0})`);
  fact(facts, 'resourceVersion', s.resourceVersion);
  fact(facts, 'Source', s.source?.kind === 'file' ? `${s.source.root}/${s.source.path} (document ${s.source.document})` : 'API');
  if (fileGone(s.source)) fact(facts, 'File', `gone: ${fileGone(s.source)}`);
  fact(facts, 'Auth', `${s.authStatus?.status ?? 'unknown'}${s.authStatus?.message ? ` — ${s.authStatus.message}` : ''}`);
  fact(facts, 'Updated', `${s.updatedAt} (${ago(s.updatedAt)})`);
  void renderAccount(s);

  $('detail-conditions').replaceChildren(
    ...(s.status?.conditions ?? []).map((c) =>
      el('tr', { dataset: { type: c.type } }, el('td', {}, c.type), el('td', {}, statusPill(c)), el('td', {}, c.reason), el('td', {}, c.message), el('td', { title: c.lastTransitionTime }, ago(c.lastTransitionTime))),
    ),
  );

  const tools = s.tools ?? [];
  $('detail-tool-count').textContent = `(${tools.length}${tools.some((t) => t.disabled) ? `, ${tools.filter((t) => t.disabled).length} disabled` : ''})`;
  $('detail-tools').replaceChildren(
    ...(tools.length
      ? tools.map((t) =>
          el(
            'li',
            { class: t.disabled ? 'disabled' : undefined, dataset: { tool: t.name } },
            el('span', { class: 'tool-name mono' }, t.name),
            t.disabled ? el('span', { class: 'tag off' }, 'disabled') : null,
            t.source ? el('span', { class: 'tag', title: 'source server' }, t.source) : null,
            t.description ? el('div', { class: 'muted' }, t.description) : null,
          ),
        )
      : [el('li', { class: 'muted' }, 'No tools discovered (yet).')]),
  );

  const forFqn = s.fqn;
  let events = [];
  try {
    events = (await api(`${API}/mcp-servers/${encodeURIComponent(s.id)}/events`)).data ?? [];
  } catch {
    return;
  }
  if (selected !== forFqn) return;
  const change = [...events].reverse().find((e) => e.reason === 'Updated' || e.reason === 'Created');
  const diff = $('detail-diff');
  if (!change) {
    diff.replaceChildren(el('span', { class: 'muted' }, 'No change recorded in the kept events.'));
  } else {
    const [head, ...rest] = change.message.split(/ change\(s\): /);
    const lines = rest.length ? rest.join(' change(s): ').replace(/\.$/, '').split('; ') : [];
    diff.replaceChildren(
      el('div', {}, `${change.reason} ${ago(change.lastTimestamp)} by ${change.actor ?? 'unknown'}: ${head}${lines.length ? ' change(s):' : ''}`),
      lines.length ? el('pre', { class: 'mono' }, lines.join('\n')) : null,
    );
  }
  $('detail-events').replaceChildren(
    ...[...events].reverse().map((e) =>
      el(
        'tr',
        { class: e.type === 'Warning' ? 'warning' : undefined, dataset: { reason: e.reason } },
        el('td', {}, e.type),
        el('td', {}, e.reason),
        el('td', {}, e.message),
        el('td', {}, String(e.count)),
        el('td', { title: e.lastTimestamp }, ago(e.lastTimestamp)),
        el('td', { class: 'mono' }, e.actor ?? ''),
      ),
    ),
  );
}

// ---------- your account on a per-user server ----------

/** per_user header values, or OAuth authorization_code: each user brings their own credentials. */
function perUserKind(s) {
  const a = s.manifest?.auth_data;
  if (a?.type === 'header' && a.auth_level === 'per_user') return 'header';
  if (a?.type === 'oauth2' && a.grant_type === 'authorization_code') return 'oauth';
  return undefined;
}

/**
 * The signed-in user's own status on a per-user server (the watch stream carries the server's), with
 * Connect / Disconnect for OAuth: Connect opens the authorization server's page in a new tab.
 */
async function renderAccount(s) {
  const box = $('detail-account');
  const kind = perUserKind(s);
  if (!kind) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const forFqn = s.fqn;
  let mine;
  try {
    mine = (await api(`${API}/mcp-servers/${encodeURIComponent(s.id)}`)).data?.authStatus;
  } catch {
    return;
  }
  if (selected !== forFqn) return;
  const connected = mine?.status === 'authenticated';
  const note = el('span', { class: 'muted', id: 'account-note' }, mine?.message ?? '');
  const actions = [];
  if (kind === 'oauth' && !connected) {
    actions.push(
      el('button', { type: 'button', id: 'account-connect' }, 'Connect'),
    );
  }
  if (kind === 'oauth' && connected) actions.push(el('button', { type: 'button', id: 'account-disconnect' }, 'Disconnect'));
  box.replaceChildren(el('strong', {}, connected ? 'Your account: connected' : 'Your account: not connected'), ' ', ...actions, ' ', note);
  box.hidden = false;
  $('account-connect')?.addEventListener('click', async () => {
    try {
      const started = await api(`${API}/mcp-servers/${encodeURIComponent(s.id)}/oauth/authorize`, { method: 'POST' });
      window.open(started.data.authorizationUrl, '_blank', 'noopener');
      $('account-note').textContent = 'Finish in the new tab, then select the server again.';
    } catch (err) {
      $('account-note').textContent = err.message;
    }
  });
  $('account-disconnect')?.addEventListener('click', async () => {
    try {
      await api(`${API}/mcp-servers/${encodeURIComponent(s.id)}/oauth/token`, { method: 'DELETE' });
    } catch (err) {
      $('account-note').textContent = err.message;
      return;
    }
    void renderAccount(s);
  });
}

// ---------- watched directories ----------

async function refreshSources() {
  if (!running) return;
  let data;
  try {
    data = (await api(`${API}/sources`)).data ?? [];
  } catch {
    return;
  }
  showGoneFiles(data);
  const root = $('sources');
  if (data.length === 0) {
    root.replaceChildren(el('p', { class: 'muted' }, 'No directory is watched (start the server with --manifests DIR).'));
    return;
  }
  root.replaceChildren(
    ...data.map((src) => {
      const ready = (src.conditions ?? []).find((c) => c.type === 'Ready');
      const broken = src.files.filter((f) => f.errors.length > 0);
      const fine = src.files.filter((f) => f.errors.length === 0);
      return el(
        'div',
        { class: 'source', dataset: { path: src.path } },
        el(
          'div',
          { class: 'source-head' },
          el('strong', { class: 'mono' }, src.path),
          statusPill(ready),
          ready ? el('span', { class: 'muted' }, ready.message) : null,
          el('span', { class: 'muted' }, src.lastSyncTime ? `synced ${ago(src.lastSyncTime)}` : 'not synced yet'),
        ),
        broken.length
          ? el(
              'ul',
              { class: 'file-errors' },
              broken.flatMap((f) =>
                f.errors.map((e) =>
                  el('li', { dataset: { file: f.path } }, el('span', { class: 'where mono' }, `${f.path}:${e.line}:${e.col}`), ' ', e.message),
                ),
              ),
            )
          : null,
        fine.length
          ? el('p', { class: 'files-ok' }, `${fine.length} file${fine.length === 1 ? '' : 's'} applied: `, fine.map((f) => `${f.path}${f.resources.length ? ` (${f.resources.join(', ')})` : ''}`).join(', '))
          : null,
      );
    }),
  );
}

/**
 * Marks the servers of files that are gone but still hold them (their prune is held back for the quiet
 * period): a file with no content that still lists resources. Only rows whose mark changed are drawn again.
 */
function showGoneFiles(sources) {
  const next = new Map();
  for (const src of sources) {
    for (const f of src.files) {
      if (f.contentHash !== null || f.resources.length === 0) continue;
      const why = f.errors.map((e) => e.message).join(' ') || 'the file is gone; its servers are kept until the prune quiet period ends.';
      next.set(`${src.path}\n${f.path}`, why);
    }
  }
  const before = goneFiles;
  goneFiles = next;
  for (const s of servers.values()) {
    if (s.source?.kind !== 'file') continue;
    const key = `${s.source.root}\n${s.source.path}`;
    if (before.get(key) === next.get(key)) continue;
    const tr = serverRow(s);
    rows.get(s.fqn)?.replaceWith(tr);
    rows.set(s.fqn, tr);
    if (s.fqn === selected) scheduleDetail();
  }
}

// ---------- the watch stream ----------

/**
 * Reads a text/event-stream body; calls onEvent({ id, data }) per event with data (id: the last event id,
 * carried over as the standard says). The algorithm of the server's one parser (src/domain/sse-parser.ts),
 * on decoded text: each character is scanned once, a line's pieces are joined once when it ends (CR, LF
 * or CRLF, also split between chunks), so a large event costs time in proportion to its size.
 */
async function readEventStream(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let pieces = [];
  let afterCr = false;
  let data = [];
  let id;
  const endLine = (line) => {
    if (line === '') {
      if (data.length) onEvent({ id, data: data.join('\n') });
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(text);
    else if (field === 'id' && !text.includes('\0')) id = text;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    let start = afterCr && value.charCodeAt(0) === 10 ? 1 : 0;
    afterCr = false;
    for (let i = start; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      pieces.push(value.slice(start, i));
      endLine(pieces.length === 1 ? pieces[0] : pieces.join(''));
      pieces = [];
      if (c === 13) {
        if (i + 1 < value.length) {
          if (value.charCodeAt(i + 1) === 10) i++;
        } else afterCr = true;
      }
      start = i + 1;
    }
    if (start < value.length) pieces.push(value.slice(start));
  }
}

/** fqns ADDED since a fresh list began; what is not among them when it ends is gone. */
let listing;

function onWatchEvent({ id, data }) {
  const event = JSON.parse(data);
  const o = event.object ?? {};
  switch (event.type) {
    case 'ADDED':
    case 'MODIFIED':
      listing?.add(o.fqn);
      upsert(o);
      break;
    case 'DELETED':
      remove(o.fqn);
      break;
    case 'BOOKMARK':
      if (o.initialEventsEnd) {
        for (const fqn of [...servers.keys()]) if (!listing?.has(fqn)) remove(fqn);
        listing = undefined;
        changed();
      }
      setConnection('live', 'Live', `Up to resourceVersion ${o.resourceVersion}`);
      break;
    case 'ERROR':
      if (o.reason === 'Expired') lastEventId = undefined;
      else if (o.resourceVersion) lastEventId = o.resourceVersion;
      setConnection('reconnecting', 'Reconnecting…', o.message);
      break;
  }
  if (id !== undefined && id !== '') lastEventId = id;
  if (event.type !== 'ERROR' && event.type !== 'BOOKMARK' && !listing) setConnection('live', 'Live');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function watchLoop() {
  let failures = 0;
  while (running) {
    watchAbort = new AbortController();
    const headers = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['Last-Event-ID'] = String(lastEventId);
    else listing = new Set();
    try {
      const res = await fetch(`${API}/mcp-servers?watch=true`, { headers, signal: watchAbort.signal, cache: 'no-store' });
      if (res.status === 401) {
        signOut('The server refused the token (401); sign in again.');
        return;
      }
      if (res.status === 410) {
        lastEventId = undefined;
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      failures = 0;
      if (lastEventId !== undefined) setConnection('live', 'Live');
      else setConnection('connecting', 'Loading…');
      await readEventStream(res.body, onWatchEvent);
      if (!running) return;
      setConnection('reconnecting', 'Reconnecting…', 'The stream ended; resuming.');
    } catch (err) {
      if (!running) return;
      failures++;
      setConnection('reconnecting', 'Reconnecting…', String(err?.message ?? err));
    }
    await sleep(Math.min(10_000, 250 * 2 ** Math.min(failures, 6)));
  }
}

// ---------- session ----------

function start() {
  running = true;
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  setConnection('connecting', 'Connecting…');
  void watchLoop();
  void refreshSources();
  sourcesTimer = setInterval(refreshSources, SOURCES_EVERY_MS);
  clearInterval(agoTimer);
  agoTimer = setInterval(() => {
    // Keep the "… ago" texts honest.
    for (const s of servers.values()) {
      const tr = rows.get(s.fqn);
      const cell = tr?.querySelector('[data-col="transition"]');
      const latest = lastTransition(s);
      if (cell && latest) cell.textContent = `${latest.type} → ${latest.status} (${latest.reason}), ${ago(latest.lastTransitionTime)}`;
    }
  }, 10_000);
}

function signOut(message) {
  running = false;
  watchAbort?.abort();
  clearInterval(sourcesTimer);
  clearInterval(agoTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  lastEventId = undefined;
  for (const fqn of [...servers.keys()]) remove(fqn);
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
  setConnection('signed-out', 'Signed out');
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const candidate = $('token').value.trim();
  if (!candidate) return;
  $('login-error').textContent = '';
  const res = await fetch(`${API}/mcp-servers?limit=1`, { headers: { Authorization: `Bearer ${candidate}` }, cache: 'no-store' }).catch(() => undefined);
  if (!res) {
    $('login-error').textContent = 'The server cannot be reached.';
    return;
  }
  if (res.status === 401) {
    $('login-error').textContent = 'This token is not valid.';
    return;
  }
  token = candidate;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  start();
});

$('sign-out').addEventListener('click', () => signOut());
$('detail-close').addEventListener('click', () => select(undefined));

if (token) start();
else signOut();

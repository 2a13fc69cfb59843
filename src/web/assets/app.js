// agentshim web console: the fleet view and the agent view.
//
// Plain ES module, no framework, no build step. The fleet is read once from GET /api/shims
// and then kept live by folding the Server-Sent Events of GET /api/events (EventSource
// resumes by Last-Event-ID on its own); nothing polls. Every string from the server is
// untrusted: it only ever reaches the DOM through textContent, attributes set one by one, or
// xterm.js / asciinema-player (which render terminal bytes, not HTML).

const FILTERS = ['all', 'working', 'idle', 'awaiting_input', 'quota', 'dead'];
const MAX_TURNS = 300;      // turns kept per shim
const RECENT_EVENTS = 64;   // state-affecting events kept per shim, re-applied over a snapshot
const SENT_KEY = 'agentshim.sent';
const SENT_KEEP = 200;

// ---------------------------------------------------------------------------------------
// small helpers

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** An element with text children only: `h('span', {className: 'x'}, 'text')`. */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'className' || key === 'textContent' || key === 'title' || key === 'type'
      || key === 'href' || key === 'hidden' || key === 'disabled' || key === 'tabIndex') node[key] = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Sets textContent only when it changes (keeps selections and avoids layout work). */
function setText(node, text) {
  text = text ?? '';
  if (node.textContent !== text) node.textContent = text;
}

function firstLine(text) {
  if (!text) return '';
  for (const line of String(text).split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed) return trimmed;
  }
  return '';
}

function shimHash(id) {
  return '#/shims/' + encodeURIComponent(id);
}

function shimPath(id, rest = '') {
  return '/api/shims/' + encodeURIComponent(id) + rest;
}

function humanAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

function humanDuration(ms) {
  if (!(ms >= 0)) return '';
  const s = ms / 1000;
  if (s < 0.1) return '< 0.1 s';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m} min ${rest} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function clock(ms) {
  const date = new Date(ms);
  const time = date.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  const days = (new Date(date).setHours(0, 0, 0, 0) - new Date().setHours(0, 0, 0, 0)) / 86400000;
  if (days === 0) return time;
  if (days > 0 && days < 7) return `${date.toLocaleDateString([], { weekday: 'short' })} ${time}`;
  return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

function clockSeconds(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.closest('#terminal')) return true;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
}

// ---------------------------------------------------------------------------------------
// toasts: a polite status region

const toastRegion = () => $('#toast');

function toast(text, kind = 'error', { sticky = false, link = null } = {}) {
  const region = toastRegion();
  if (!region) return;
  const item = h('div', { className: 'toast-item', dataset: { kind } });
  const message = h('span', { className: 'msg' }, text);
  if (link) {
    message.append(' ', h('a', { href: link.href }, link.text));
  }
  const close = h('button', { type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss' }, '×');
  close.addEventListener('click', () => item.remove());
  item.append(message, close);
  region.append(item);
  while (region.children.length > 4) region.firstElementChild.remove();
  if (!sticky) setTimeout(() => item.remove(), kind === 'error' ? 9000 : 4500);
}

function errorText(error) {
  if (error instanceof ApiError) {
    return error.code ? `${error.message} (${error.code})` : error.message;
  }
  return String(error && error.message ? error.message : error);
}

// ---------------------------------------------------------------------------------------
// the JSON API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let signedOut = false;

function noteSignedOut() {
  if (signedOut) return;
  signedOut = true;
  setConnection('signed-out');
  toast('The session ended (the server restarted or the sign-in expired).', 'error', {
    sticky: true,
    link: { href: '/', text: 'Sign in again' },
  });
}

async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, 'UNAVAILABLE', 'the server cannot be reached');
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    if (response.status === 401) noteSignedOut();
    const message = data && typeof data.error === 'string' ? data.error : `HTTP ${response.status}`;
    const code = data && typeof data.code === 'string' ? data.code : '';
    throw new ApiError(response.status, code, message);
  }
  return data ?? {};
}

// ---------------------------------------------------------------------------------------
// what the page knows: one record per shim

/** @type {Map<string, ShimRecord>} */
const shims = new Map();
/** Ids the server said it does not have (404): their replayed events are ignored. */
const gone = new Set();
const fetching = new Map();
let lastSeq = 0;
let replaying = true;  // until the first SSE open settles; suppresses toasts for old events
let serverInfo = null;

function newRecord(id) {
  return {
    id,
    info: null,            // the Shim JSON, kept current by the events after its last_event_seq
    infoAt: 0,             // when that snapshot was asked for (performance.now())
    order: Number.MAX_SAFE_INTEGER,
    lastAnswer: '',
    lastAnswerAt: 0,
    contextPct: null,
    quota: null,           // {message, epoch, label, since}
    question: null,        // {prompt, options, seq}
    queuedIds: new Set(),
    turns: new Map(),      // key -> turn
    recent: [],            // state-affecting events, for re-applying over a fresh snapshot
    ended: false,
    lastLines: '',
    answering: false,
  };
}

function record(id) {
  let r = shims.get(id);
  if (!r) {
    r = newRecord(id);
    shims.set(id, r);
  }
  return r;
}

function forget(id) {
  shims.delete(id);
  gone.add(id);
  markDirty(id);
}

/** Takes a fresh Shim snapshot, then re-applies the newer events the page already folded. */
function applySnapshot(r, info, askedAt) {
  r.info = { ...info };
  r.infoAt = askedAt;
  if (typeof info.created_unix_ms === 'number') r.order = info.created_unix_ms;
  for (const event of r.recent) {
    if (event.seq > r.info.last_event_seq) applyState(r, event);
  }
  markDirty(r.id);
}

const fetchFailedAt = new Map();

function fetchShim(id, { force = false } = {}) {
  if (fetching.has(id)) return fetching.get(id);
  if (!force && performance.now() - (fetchFailedAt.get(id) ?? -1e9) < 5000) return Promise.resolve();
  const askedAt = performance.now();
  const promise = api('GET', shimPath(id))
    .then((info) => {
      if (!info || !info.id) return;
      gone.delete(id);
      applySnapshot(record(id), info, askedAt);
    })
    .catch((error) => {
      if (error.status === 404) forget(id);
      else {
        fetchFailedAt.set(id, performance.now());
        if (error.status !== 401) toast(`Could not read shim ${id}: ${errorText(error)}`);
      }
    })
    .finally(() => fetching.delete(id));
  fetching.set(id, promise);
  return promise;
}

let fleetLoad = null;
let fleetLoadedAt = -1e9;

/** Reads the list again when the last read is older than `maxAgeMs` (removals have no event). */
function refreshFleet(maxAgeMs) {
  if (fleetLoaded && performance.now() - fleetLoadedAt > maxAgeMs) loadFleet();
}

function loadFleet() {
  if (fleetLoad) return fleetLoad;
  const askedAt = performance.now();
  fleetLoadedAt = askedAt;
  fleetLoad = api('GET', '/api/shims')
    .then((data) => {
      const listed = new Set();
      (data.shims || []).forEach((info, index) => {
        if (!info || typeof info.id !== 'string') return;
        listed.add(info.id);
        gone.delete(info.id);
        const r = record(info.id);
        applySnapshot(r, info, askedAt);
        if (typeof info.created_unix_ms !== 'number') r.order = index;
      });
      // Shims the server no longer lists were removed (there is no event for that); one
      // learned of after this list was asked for is kept.
      for (const [id, r] of shims) {
        if (!listed.has(id) && r.info && r.infoAt <= askedAt) forget(id);
      }
      fleetLoaded = true;
      markAllDirty();
    })
    .catch((error) => {
      if (error.status !== 401) toast(`Could not read the fleet: ${errorText(error)}`);
    })
    .finally(() => { fleetLoad = null; });
  return fleetLoad;
}

let fleetLoaded = false;

async function loadServer() {
  try {
    const info = await api('GET', '/api/server');
    const restarted = serverInfo && info.boot_id && serverInfo.boot_id !== info.boot_id;
    serverInfo = info;
    setText($('#server-version'), info.version ? `v${info.version}` : '');
    $('#server-version').title = info.started_unix_ms
      ? `server started ${new Date(info.started_unix_ms).toLocaleString()}` : '';
    return restarted;
  } catch (error) {
    if (error.status !== 401) setText($('#server-version'), '?');
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// folding events

function turnFor(r, key, at) {
  let turn = r.turns.get(key);
  if (!turn) {
    turn = {
      key,
      messageId: key.startsWith('auto:') ? null : key,
      sent: sentText(key),
      firstAt: at || Date.now(),
      sentAt: null, queuedAt: null, position: null, deliveredAt: null,
      doneAt: null, answer: null, failed: null, interrupted: null,
      exitCode: null, truncated: null,
    };
    r.turns.set(key, turn);
    if (r.turns.size > MAX_TURNS) r.turns.delete(r.turns.keys().next().value);
  }
  return turn;
}

/** The part of an event that moves the snapshot fields (state, queue, exit code). */
function applyState(r, e) {
  const info = r.info;
  if (!info || !(e.seq > info.last_event_seq)) return;
  switch (e.event) {
    case 'StateChanged':
      if (typeof e.to === 'string') info.state = e.to;
      break;
    case 'MessageQueued':
      if (e._enqueued) info.queued_messages = (info.queued_messages || 0) + 1;
      break;
    case 'MessageDelivered':
    case 'DeliveryFailed':
      if (e._dequeued) info.queued_messages = Math.max(0, (info.queued_messages || 0) - 1);
      else if (info.queued_messages > 0 && !replaying) refetchSoon(r.id);
      break;
    case 'Died':
      info.state = 'dead';
      if (e.exit_code !== undefined) info.exit_code = e.exit_code;
      info.queued_messages = 0;
      break;
    case 'ContextExhausted':
      info.state = 'context_exhausted';
      break;
    default:
      return;
  }
  info.last_event_seq = e.seq;
}

const refetchTimers = new Map();
function refetchSoon(id) {
  if (refetchTimers.has(id)) return;
  refetchTimers.set(id, setTimeout(() => { refetchTimers.delete(id); fetchShim(id); }, 400));
}

function fold(e) {
  if (typeof e.seq === 'number' && e.seq > lastSeq) lastSeq = e.seq;
  if (e.event === 'EventsLost') {
    loadFleet();
    return;
  }
  const id = e.shim_id;
  if (!id) return;
  if (e.event === 'Removed' || e.event === 'ShimRemoved') {
    // Not in today's contract (see FRONTEND_NOTES.md); harmless until the server sends it.
    forget(id);
    return;
  }
  if (gone.has(id)) {
    if (e.event !== 'Ready') return;
    gone.delete(id);
  }
  let r = shims.get(id);
  if (r && e.event === 'Ready' && r.ended) {
    // The id was reused by a new shim: what the page knew belongs to the old one.
    const order = r.order;
    r = newRecord(id);
    r.order = order;
    shims.set(id, r);
    fetchShim(id, { force: true });
  }
  if (!r) {
    r = record(id);
    if (typeof e.unix_ms === 'number') r.order = e.unix_ms;
  }
  if (!r.info) fetchShim(id);
  const at = typeof e.unix_ms === 'number' ? e.unix_ms : Date.now();

  switch (e.event) {
    case 'StateChanged':
      if (e.from === 'awaiting_input' && e.to !== 'awaiting_input') {
        r.question = null;
        r.answering = false;
      }
      if (e.to === 'dead' || e.to === 'context_exhausted') r.question = null;
      break;
    case 'MessageQueued': {
      const turn = turnFor(r, e.id, at);
      turn.queuedAt = at;
      turn.position = e.position ?? null;
      e._enqueued = !r.queuedIds.has(e.id);
      r.queuedIds.add(e.id);
      break;
    }
    case 'MessageDelivered': {
      const turn = turnFor(r, e.id, at);
      turn.deliveredAt = at;
      e._dequeued = r.queuedIds.delete(e.id);
      break;
    }
    case 'DeliveryFailed': {
      const turn = turnFor(r, e.id, at);
      turn.failed = e.reason || 'not delivered';
      turn.doneAt = at;
      e._dequeued = r.queuedIds.delete(e.id);
      break;
    }
    case 'Completion': {
      const key = e.message_id || `auto:${e.seq}`;
      const turn = turnFor(r, key, at);
      turn.answer = typeof e.response === 'string' ? e.response : '';
      turn.doneAt = at;
      if (e.exit_code !== undefined && e.exit_code !== null) turn.exitCode = e.exit_code;
      if (e.truncated) turn.truncated = e.truncated;
      r.lastAnswer = firstLine(turn.answer);
      r.lastAnswerAt = at;
      break;
    }
    case 'TurnInterrupted': {
      if (!e.message_id) break;
      const turn = turnFor(r, e.message_id, at);
      turn.interrupted = e.reason || 'interrupted';
      if (e.partial_response) turn.answer = e.partial_response;
      turn.doneAt = at;
      break;
    }
    case 'CommandExited':
      if (e.message_id) turnFor(r, e.message_id, at).exitCode = e.exit_code;
      break;
    case 'InputRequested':
      r.question = {
        prompt: typeof e.prompt === 'string' ? e.prompt : '',
        options: Array.isArray(e.options) ? e.options.map(String) : [],
        seq: e.seq,
      };
      r.answering = false;
      break;
    case 'ContextWarning':
      if (typeof e.usage_pct === 'number') r.contextPct = e.usage_pct;
      break;
    case 'SessionStats':
      if (typeof e.context_usage_pct === 'number') r.contextPct = e.context_usage_pct;
      break;
    case 'QuotaBlocked':
      r.quota = {
        message: e.message || '',
        epoch: typeof e.retry_at_epoch_secs === 'number' ? e.retry_at_epoch_secs : null,
        label: typeof e.retry_at_label === 'string' ? e.retry_at_label : null,
        since: at,
      };
      break;
    case 'QuotaResumed':
      r.quota = null;
      break;
    case 'Died':
      r.ended = true;
      r.quota = null;
      r.question = null;
      r.queuedIds.clear();
      r.lastLines = e.last_lines || '';
      break;
    case 'ContextExhausted':
      r.ended = true;
      r.question = null;
      r.lastLines = e.last_lines || '';
      break;
    default:
      break;
  }

  if (['StateChanged', 'MessageQueued', 'MessageDelivered', 'DeliveryFailed', 'Died',
    'ContextExhausted'].includes(e.event)) {
    r.recent.push(e);
    if (r.recent.length > RECENT_EVENTS) r.recent.shift();
    applyState(r, e);
  }
  markDirty(id);
}

// ---------------------------------------------------------------------------------------
// texts this page sent, by message id (kept for the tab's life, across reloads)

let sentTexts = new Map();
try {
  const saved = JSON.parse(sessionStorage.getItem(SENT_KEY) || '[]');
  if (Array.isArray(saved)) sentTexts = new Map(saved.filter((p) => Array.isArray(p) && p.length === 2));
} catch { /* storage unavailable: keep them in memory only */ }

function rememberSent(messageId, body) {
  sentTexts.set(messageId, body);
  while (sentTexts.size > SENT_KEEP) sentTexts.delete(sentTexts.keys().next().value);
  try { sessionStorage.setItem(SENT_KEY, JSON.stringify([...sentTexts])); } catch { /* ignore */ }
}

function sentText(key) {
  return sentTexts.get(key) ?? null;
}

// ---------------------------------------------------------------------------------------
// the live stream

let source = null;
let opened = false;
let retryTimer = null;
let retryDelay = 1000;

function setConnection(state) {
  const text = {
    live: 'live',
    reconnecting: 'reconnecting…',
    connecting: 'connecting…',
    'signed-out': 'signed out',
  }[state] || state;
  setText($('#connection'), text);
  const wrap = $('#connection').closest('.conn');
  if (wrap) wrap.dataset.conn = state;
  document.body.dataset.conn = state;
}

function connect() {
  if (signedOut) return;
  clearTimeout(retryTimer);
  if (source) source.close();
  const url = lastSeq > 0 ? `/api/events?after_seq=${lastSeq}` : '/api/events';
  const es = new EventSource(url, { withCredentials: true });
  source = es;
  es.onopen = () => {
    if (source !== es) return;
    retryDelay = 1000;
    setConnection('live');
    if (opened) {
      // Back after a drop: shims may have been removed meanwhile (no event says so), and
      // the server may be another process (then its seqs are another log's).
      loadServer().then((restarted) => {
        if (source !== es) return;
        if (restarted && !es.sawReset) resetAll(true);
        else loadFleet();
      });
    }
    opened = true;
    // The replay of retained events arrives in a burst right after the open.
    setTimeout(() => { replaying = false; }, 1500);
  };
  es.onmessage = (message) => {
    if (source !== es) return;
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (event && typeof event === 'object') fold(event);
  };
  es.addEventListener('reset', () => {
    // The server does not have our cursor (it restarted): read everything again; the
    // stream starts over from the oldest event it retains.
    if (source !== es) return;
    es.sawReset = true;
    resetAll(false);
  });
  es.addEventListener('removed', (message) => {
    if (source !== es) return;
    try {
      const data = JSON.parse(message.data);
      if (data && typeof data.shim_id === 'string') forget(data.shim_id);
    } catch { /* ignore */ }
  });
  es.onerror = () => {
    if (source !== es) return;
    setConnection(signedOut ? 'signed-out' : 'reconnecting');
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an HTTP error, e.g. 401): try again ourselves, gently.
      es.close();
      source = null;
      retryTimer = setTimeout(async () => {
        await loadServer();
        if (!signedOut) connect();
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    }
  };
}

function resetAll(reconnect = false) {
  shims.clear();
  gone.clear();
  lastSeq = 0;
  replaying = true;
  setTimeout(() => { replaying = false; }, 1500);
  loadServer();
  loadFleet();
  markAllDirty();
  if (reconnect) connect();
}

// ---------------------------------------------------------------------------------------
// rendering, batched

const dirty = new Set();
let allDirty = false;
let flushQueued = false;

function markDirty(id) {
  dirty.add(id);
  queueFlush();
}

function markAllDirty() {
  allDirty = true;
  queueFlush();
}

function queueFlush() {
  if (flushQueued) return;
  flushQueued = true;
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    flushQueued = false;
    flush();
  };
  requestAnimationFrame(run);
  setTimeout(run, 120);  // rAF does not run in a hidden tab
}

function flush() {
  const ids = allDirty ? null : new Set(dirty);
  allDirty = false;
  dirty.clear();
  renderFleet(ids);
  const current = currentShimId();
  if (current !== null && (ids === null || ids.has(current))) renderAgent();
}

function effectiveState(r) {
  return r.info ? r.info.state : 'starting';
}

function stateBadge(state) {
  return h('span', { className: 'badge', dataset: { state } }, state);
}

// ---------- fleet view

let filter = 'all';
const rows = new Map();  // id -> {tr, cells}

const CELLS = [
  ['id', 'Shim'], ['state', 'State'], ['agent', 'Agent'], ['age', 'Age'], ['queue', 'Queue'],
  ['last-answer', 'Last answer'], ['context', 'Context'], ['quota', 'Quota reset'], ['question', 'Question'],
];

function matchesFilter(r, which) {
  const state = effectiveState(r);
  switch (which) {
    case 'all': return true;
    case 'quota': return !!r.quota;
    case 'dead': return state === 'dead' || state === 'context_exhausted';
    default: return state === which;
  }
}

/** The reset time of a quota hold ('held' when the agent did not say). */
function quotaText(quota) {
  if (!quota) return '';
  if (quota.epoch) return clock(quota.epoch * 1000);
  if (quota.label) return quota.label;
  return 'held';
}

function makeRow(id) {
  const tr = h('tr', { className: 'shim', dataset: { shimId: id } });
  const cells = {};
  for (const [name, label] of CELLS) {
    const td = h('td', { className: name, dataset: { label } });
    cells[name] = td;
    tr.append(td);
  }
  const link = h('a', { className: 'open', href: shimHash(id), title: id }, id);
  cells.id.append(link);
  return { tr, cells, state: null, question: null };
}

function renderRow(row, r) {
  const info = r.info;
  const state = effectiveState(r);
  row.tr.dataset.state = state;
  if (row.state !== state) {
    row.state = state;
    row.cells.state.replaceChildren(stateBadge(state));
  }
  row.cells.state.title = info && info.exit_code !== null && info.exit_code !== undefined
    ? `exit code ${info.exit_code}` : '';
  setText(row.cells.agent, info ? info.agent : '');
  row.cells.agent.title = info && info.profile ? `profile ${info.profile}` : '';
  setText(row.cells.age, info && info.created_unix_ms ? humanAge(Date.now() - info.created_unix_ms) : '');
  setText(row.cells.queue, info ? String(info.queued_messages ?? 0) : '');
  setText(row.cells['last-answer'], r.lastAnswer);
  row.cells['last-answer'].title = r.lastAnswer;
  const pct = r.contextPct;
  setText(row.cells.context, typeof pct === 'number' ? `${pct} %` : '');
  row.cells.context.classList.toggle('ctx-high', typeof pct === 'number' && pct >= 85);
  setText(row.cells.quota, quotaText(r.quota));
  row.cells.quota.title = r.quota ? [r.quota.message, r.quota.epoch
    ? `resets ${new Date(r.quota.epoch * 1000).toLocaleString()}` : ''].filter(Boolean).join('\n') : '';
  const q = state === 'awaiting_input' && r.question ? firstLine(r.question.prompt) : null;
  const questionKey = state === 'awaiting_input' ? `w:${q ?? ''}` : '';
  if (row.question !== questionKey) {
    row.question = questionKey;
    if (state === 'awaiting_input') {
      row.cells.question.replaceChildren(h('span', {},
        h('span', { className: 'waiting' }, 'waiting'), q ? ` ${q}` : ''));
      row.cells.question.title = r.question ? r.question.prompt : '';
    } else {
      row.cells.question.replaceChildren();
      row.cells.question.title = '';
    }
  }
  row.tr.hidden = !matchesFilter(r, filter);
}

function renderFleet(ids) {
  const body = $('#fleet-rows');
  // removed shims
  for (const [id, row] of rows) {
    if (!shims.has(id)) { row.tr.remove(); rows.delete(id); }
  }
  const visible = [...shims.values()].filter((r) => r.info);
  visible.sort((a, b) => (a.order - b.order) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let orderChanged = false;
  for (const r of visible) {
    let row = rows.get(r.id);
    if (!row) {
      row = makeRow(r.id);
      rows.set(r.id, row);
      orderChanged = true;
    }
    if (ids === null || ids.has(r.id) || orderChanged) renderRow(row, r);
  }
  // keep DOM order = creation order
  const wanted = visible.map((r) => rows.get(r.id).tr);
  const current = Array.from(body.children);
  if (wanted.length !== current.length || wanted.some((tr, i) => tr !== current[i])) {
    body.replaceChildren(...wanted);
  }
  renderFilters(visible);
  $('#fleet-empty').hidden = visible.length > 0 || !fleetLoaded;
  const shown = visible.filter((r) => matchesFilter(r, filter)).length;
  $('#fleet-filtered-empty').hidden = !(visible.length > 0 && shown === 0);
  setText($('#fleet-count'), visible.length ? `(${visible.length})` : '');
}

function renderFilters(visible) {
  for (const button of $$('.filter')) {
    const which = button.dataset.filter;
    const n = visible.filter((r) => matchesFilter(r, which)).length;
    setText($('.n', button), String(n));
    button.setAttribute('aria-pressed', which === filter ? 'true' : 'false');
  }
}

function setFilter(which) {
  if (!FILTERS.includes(which)) which = 'all';
  filter = which;
  for (const [id, row] of rows) {
    const r = shims.get(id);
    if (r) row.tr.hidden = !matchesFilter(r, filter);
  }
  markAllDirty();
}

// ---------- agent view

function currentShimId() {
  const match = /^#\/shims\/([^/?#]+)/.exec(location.hash);
  if (!match) return null;
  try { return decodeURIComponent(match[1]); } catch { return null; }
}

let agentRendered = { id: null, turns: new Map(), questionKey: null };

function turnStatus(turn) {
  if (turn.failed) return 'failed';
  if (turn.interrupted) return 'interrupted';
  if (turn.doneAt && turn.answer !== null) return 'done';
  if (turn.deliveredAt) return 'working';
  if (turn.queuedAt) return 'queued';
  return 'sent';
}

function turnTiming(turn, r) {
  const status = turnStatus(turn);
  const start = turn.deliveredAt ?? turn.sentAt ?? turn.queuedAt;
  switch (status) {
    case 'done':
      return start ? humanDuration(turn.doneAt - start) : 'answered';
    case 'failed': return 'not delivered';
    case 'interrupted': return 'interrupted';
    case 'working':
      if (r && r.quota) return 'quota hold';
      if (r && effectiveState(r) === 'awaiting_input') return 'question waiting';
      return 'working…';
    case 'queued': return turn.position ? `queued #${turn.position}` : 'queued';
    default: return 'sent';
  }
}

/** Turns in the order the agent took them; those still waiting after, in the order sent. */
function sortedTurns(r) {
  const key = (t) => {
    const taken = t.deliveredAt ?? (t.messageId ? null : t.doneAt);
    return taken !== null && taken !== undefined
      ? [0, taken] : [1, t.sentAt ?? t.queuedAt ?? t.doneAt ?? t.firstAt];
  };
  return [...r.turns.values()]
    .map((t, index) => ({ t, k: key(t), index }))
    .sort((a, b) => (a.k[0] - b.k[0]) || (a.k[1] - b.k[1]) || (a.index - b.index))
    .map((x) => x.t);
}

function makeTurn(turn) {
  const li = h('li', { className: 'turn' });
  if (turn.messageId) li.dataset.messageId = turn.messageId;
  const head = h('div', { className: 'turn-head' },
    h('span', { className: 'when' }), h('span', { className: 'timing' }));
  li.append(head, h('div', { className: 'sent' }), h('div', { className: 'answer', tabIndex: 0 }),
    h('div', { className: 'note', hidden: true }));
  return li;
}

function renderTurn(li, turn, r) {
  const status = turnStatus(turn);
  li.dataset.status = status;
  const when = turn.deliveredAt ?? turn.sentAt ?? turn.queuedAt ?? turn.doneAt ?? turn.firstAt;
  setText($('.when', li), when ? clockSeconds(when) : '');
  setText($('.timing', li), turnTiming(turn, r));
  const sent = $('.sent', li);
  const text = turn.sent ?? sentText(turn.key);
  if (text !== null && text !== undefined) {
    setText(sent, text);
    sent.classList.remove('unknown');
    sent.title = '';
  } else if (turn.messageId) {
    setText(sent, turn.messageId);
    sent.classList.add('unknown');
    sent.title = 'message id (sent by another client)';
  } else {
    setText(sent, 'the agent began this turn by itself');
    sent.classList.add('unknown');
  }
  const answer = $('.answer', li);
  // blank lines around the answer carry nothing
  setText(answer, (turn.answer ?? '').replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd());
  answer.tabIndex = turn.answer ? 0 : -1;
  const note = $('.note', li);
  let noteText = '';
  if (turn.failed) noteText = `not delivered: ${turn.failed}`;
  else if (turn.interrupted) noteText = `cut off: ${turn.interrupted}`;
  else if (turn.exitCode !== null && turn.exitCode !== undefined && turn.exitCode !== 0) noteText = `exit code ${turn.exitCode}`;
  if (turn.truncated && !noteText) noteText = 'the answer is truncated (scrolled out before the turn ended)';
  setText(note, noteText);
  note.hidden = !noteText;
}

function renderAgent() {
  const id = currentShimId();
  if (id === null) return;
  const view = $('#agent-view');
  view.dataset.shimId = id;
  const r = shims.get(id);
  const info = r && r.info;
  setText($('#agent-title'), id);
  document.title = `${id} — agentshim`;
  const state = r ? effectiveState(r) : '';
  const stateEl = $('#agent-state');
  setText(stateEl, info ? state : '');
  stateEl.className = 'badge';
  stateEl.dataset.state = state;
  stateEl.hidden = !info;

  const meta = [];
  if (info) {
    if (info.agent) meta.push(info.agent);
    if (info.profile && info.profile !== info.agent) meta.push(`profile ${info.profile}`);
    if (info.pid) meta.push(`pid ${info.pid}`);
    if (info.created_unix_ms) meta.push(`up ${humanAge(Date.now() - info.created_unix_ms)}`);
    if (info.queued_messages) meta.push(`${info.queued_messages} queued`);
    if (info.exit_code !== null && info.exit_code !== undefined) meta.push(`exit ${info.exit_code}`);
    if (r.contextPct !== null) meta.push(`context ${r.contextPct} %`);
    if (r.quota) meta.push(r.quota.epoch || r.quota.label ? `quota hold until ${quotaText(r.quota)}` : 'quota hold');
  }
  setText($('#agent-meta'), meta.join(' · '));
  const missing = !r && !fetching.has(id) && fleetLoaded;
  $('#agent-missing').hidden = !missing;
  $('.term-section').hidden = missing;
  $('.agent-grid').hidden = missing;
  const ended = state === 'dead' || state === 'context_exhausted';
  $('#kill').hidden = !info || ended;
  $('#send').disabled = !info || ended;
  $('#message').disabled = !info || ended;
  $('#message').placeholder = ended ? 'The agent has ended; it takes no more messages.' : 'Type a message…';
  $('#takeover').disabled = !info || ended;

  // history
  if (agentRendered.id !== id) {
    agentRendered = { id, turns: new Map(), questionKey: null };
    $('#history').replaceChildren();
  }
  const list = $('#history');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const turns = r ? sortedTurns(r) : [];
  for (const [key, li] of agentRendered.turns) {
    if (!r || !r.turns.has(key)) { li.remove(); agentRendered.turns.delete(key); }
  }
  let previous = null;
  for (const turn of turns) {
    let li = agentRendered.turns.get(turn.key);
    if (!li) {
      li = makeTurn(turn);
      agentRendered.turns.set(turn.key, li);
    }
    renderTurn(li, turn, r);
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (expected !== li) list.insertBefore(li, expected);
    previous = li;
  }
  $('#history-empty').hidden = turns.length > 0;
  if (atBottom) list.scrollTop = list.scrollHeight;

  renderQuestion(r, state);
  renderRecordingControls(id, info);
  terminalSession?.shimStateChanged(state);
}

function renderQuestion(r, state) {
  const section = $('#question');
  const q = r && state === 'awaiting_input' ? r.question : null;
  const key = q ? `${q.seq}` : null;
  if (key !== agentRendered.questionKey) {
    agentRendered.questionKey = key;
    const options = $('#question-options');
    options.replaceChildren();
    if (q) {
      setText($('#question-prompt'), q.prompt || '(no prompt text)');
      q.options.forEach((text, index) => {
        const n = index + 1;
        const button = h('button', { type: 'button', className: 'option', dataset: { option: String(n) } },
          `${n}. ${text}`);
        button.addEventListener('click', () => answerQuestion(r.id, n));
        options.append(button);
      });
      if (!q.options.length) {
        options.append(h('p', { className: 'hint' },
          'No choices were recognised: answer in the terminal (Take over).'));
      }
    }
  }
  section.hidden = !q;
  for (const button of $$('.option', section)) button.disabled = !!(r && r.answering);
}

async function answerQuestion(id, option) {
  const r = shims.get(id);
  if (r) { r.answering = true; markDirty(id); }
  try {
    await api('POST', shimPath(id, '/answer'), { option });
    toast(`Answered option ${option}.`, 'info');
    // The question goes when the state leaves awaiting_input; let the buttons back if not.
    setTimeout(() => { if (r && r.answering) { r.answering = false; markDirty(id); } }, 6000);
  } catch (error) {
    if (r) { r.answering = false; markDirty(id); }
    toast(`Could not answer: ${errorText(error)}`);
  }
}

async function sendMessage(event) {
  event.preventDefault();
  const id = currentShimId();
  const box = $('#message');
  const body = box.value;
  if (id === null || !body.trim()) {
    box.focus();
    return;
  }
  const button = $('#send');
  button.disabled = true;
  const sentAt = Date.now();
  try {
    const result = await api('POST', shimPath(id, '/messages'), { body });
    box.value = '';
    if (result.message_id) {
      rememberSent(result.message_id, body);
      const r = record(id);
      const turn = turnFor(r, result.message_id, sentAt);
      turn.sent = body;
      turn.sentAt = sentAt;
      markDirty(id);
    }
    if (result.queued) toast('Queued: the agent is busy; it gets the message next.', 'info');
  } catch (error) {
    toast(`Could not send: ${errorText(error)}`);
  } finally {
    button.disabled = false;
    markDirty(id);
  }
}

async function killShim() {
  const id = currentShimId();
  if (id === null) return;
  if (!window.confirm(`Kill shim ${id}? Its agent process is ended.`)) return;
  try {
    const result = await api('POST', shimPath(id, '/kill'));
    toast(`Killed ${id}${result.exit_code !== undefined ? ` (exit ${result.exit_code})` : ''}.`, 'info');
  } catch (error) {
    toast(`Could not kill: ${errorText(error)}`);
  }
}

// ---------- recording

let player = null;
let playerFor = null;

function renderRecordingControls(id, info) {
  const box = $('#recording');
  box.hidden = !(info && info.recorded);
  const link = $('#download-recording');
  link.href = shimPath(id, '/recording');
  link.setAttribute('download', `${id.replace(/[^A-Za-z0-9._-]/g, '_')}.cast`);
  if (playerFor !== id) disposePlayer();
}

function disposePlayer() {
  if (player) {
    try { player.dispose(); } catch { /* already gone */ }
  }
  player = null;
  playerFor = null;
  $('#player').replaceChildren();
  setText($('#play-recording'), 'Play recording');
}

async function playRecording() {
  const id = currentShimId();
  if (id === null) return;
  const button = $('#play-recording');
  button.disabled = true;
  try {
    if (!(await loadPlayerScript())) {
      throw new Error(wasmRefused
        ? 'this server\'s security policy refuses WebAssembly, which the player needs; download the .cast file instead'
        : 'the recording player did not load');
    }
    const response = await fetch(shimPath(id, '/recording'), { credentials: 'same-origin' });
    const text = await response.text();
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      let code = '';
      try {
        const data = JSON.parse(text);
        if (typeof data.error === 'string') message = data.error;
        if (typeof data.code === 'string') code = data.code;
      } catch { /* not JSON */ }
      if (response.status === 401) noteSignedOut();
      throw new ApiError(response.status, code, message);
    }
    if (currentShimId() !== id) return;
    disposePlayer();
    const container = $('#player');
    player = window.AsciinemaPlayer.create({ data: text }, container, {
      fit: 'width',
      autoPlay: true,
      idleTimeLimit: 2,
      theme: 'asciinema',
      terminalFontFamily: getComputedStyle(document.documentElement).getPropertyValue('--mono').trim() || 'monospace',
    });
    playerFor = id;
    setText(button, 'Reload recording');
    setTimeout(() => {
      if (wasmRefused && playerFor === id) {
        disposePlayer();
        $('#player').append(h('p', { className: 'hint' }, 'The recording player could not start: '
          + 'this server\'s security policy refuses WebAssembly, which it needs. '
          + 'Download the .cast file and play it with `asciinema play`.'));
        toast('The recording player could not start (WebAssembly is refused here). Download the .cast file instead.');
      }
    }, 300);
  } catch (error) {
    toast(`Could not play the recording: ${errorText(error)}`);
  } finally {
    button.disabled = false;
  }
}

// asciinema-player compiles WebAssembly; a CSP without 'wasm-unsafe-eval' refuses it.
// asciinema-player compiles WebAssembly; a CSP without 'wasm-unsafe-eval' refuses it.
let wasmRefused = false;
document.addEventListener('securitypolicyviolation', (event) => {
  const blocked = String(event.blockedURI || '');
  if (blocked === 'wasm-eval' || blocked === 'eval') wasmRefused = true;
});

/** Loads the player's script the first time it is needed (it is large, and only some shims are recorded). */
let playerScript = null;
function loadPlayerScript() {
  if (window.AsciinemaPlayer) return Promise.resolve(true);
  if (playerScript) return playerScript;
  playerScript = new Promise((resolve) => {
    const script = document.createElement('script');
    script.src = '/assets/vendor/asciinema-player/asciinema-player.min.js';
    script.onload = () => resolve(!!window.AsciinemaPlayer);
    script.onerror = () => { playerScript = null; resolve(false); };
    document.head.append(script);
  });
  return playerScript;
}

// ---------------------------------------------------------------------------------------
// the live terminal

/** @type {TerminalSession|null} */
let terminalSession = null;

class TerminalSession {
  constructor(id, container) {
    this.id = id;
    this.container = container;
    this.ws = null;
    this.writer = false;
    this.wantWriter = false;
    this.agentRows = 24;
    this.agentCols = 80;
    this.closed = false;
    this.retry = null;
    this.retryDelay = 1000;
    this.state = null;
    this.encoder = new TextEncoder();
    this.baseFont = 13;

    container.replaceChildren();
    container.dataset.mode = 'observing';
    if (!window.Terminal) {
      container.append(h('p', { className: 'hint' }, 'The terminal (xterm.js) did not load.'));
      this.term = null;
      return;
    }
    this.term = new window.Terminal({
      fontFamily: getComputedStyle(document.documentElement).getPropertyValue('--mono').trim() || 'monospace',
      fontSize: this.baseFont,
      lineHeight: 1.1,
      cursorBlink: false,
      scrollback: 5000,
      allowProposedApi: false,
      theme: {
        background: '#0d1117',
        foreground: '#d6dde6',
        cursor: '#d6dde6',
        cursorAccent: '#0d1117',
        selectionBackground: '#3b5070',
        scrollbarSliderBackground: 'rgba(201, 209, 217, 0.16)',
        scrollbarSliderHoverBackground: 'rgba(201, 209, 217, 0.3)',
        scrollbarSliderActiveBackground: 'rgba(201, 209, 217, 0.42)',
        black: '#484f58', red: '#ff7b72', green: '#3fb950', yellow: '#d29922',
        blue: '#58a6ff', magenta: '#bc8cff', cyan: '#39c5cf', white: '#b1bac4',
        brightBlack: '#6e7681', brightRed: '#ffa198', brightGreen: '#56d364', brightYellow: '#e3b341',
        brightBlue: '#79c0ff', brightMagenta: '#d2a8ff', brightCyan: '#56d4dd', brightWhite: '#f0f6fc',
      },
    });
    this.fit = window.FitAddon ? new window.FitAddon.FitAddon() : null;
    if (this.fit) this.term.loadAddon(this.fit);
    this.term.open(container);
    this.term.attachCustomKeyEventHandler((event) => this.onKey(event));
    this.term.onData((data) => this.sendInput(this.encoder.encode(data)));
    this.term.onBinary((data) => this.sendInput(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    this.resizeObserver = new ResizeObserver(() => this.layoutSoon());
    this.resizeObserver.observe(container);
    this.term.write('\x1b[2mconnecting…\x1b[0m');
  }

  onKey(event) {
    // Esc leaves the terminal (Ctrl+[ sends Esc to the agent, as in any terminal).
    if (event.key === 'Escape' && !event.ctrlKey && !event.altKey && !event.metaKey) {
      if (event.type === 'keydown') {
        event.preventDefault();
        this.term.blur();
        const next = this.writer ? $('#release') : $('#takeover');
        (next && !next.hidden && !next.disabled ? next : $('#message')).focus();
      }
      return false;
    }
    if (!this.writer) return false;  // observing: keys keep their page meaning (Tab moves on)
    return true;
  }

  sendInput(bytes) {
    if (!this.writer || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(bytes);
  }

  sendEsc() {
    this.sendInput(new Uint8Array([0x1b]));
    this.term?.focus();
  }

  proposed() {
    if (!this.fit) return null;
    try { return this.fit.proposeDimensions() || null; } catch { return null; }
  }

  attach(mode) {
    if (!this.term || this.closed) return;
    clearTimeout(this.retry);
    this.wantWriter = mode === 'takeover';
    this.container.dataset.mode = this.wantWriter ? 'writing' : 'observing';
    // An observer takes the agent's size; only a writer asks for its own.
    const size = this.wantWriter ? this.proposed() : null;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${scheme}//${location.host}${shimPath(this.id, '/terminal')}?mode=${mode}`;
    if (size && size.rows > 1 && size.cols > 1) url += `&rows=${size.rows}&cols=${size.cols}`;
    this.dropSocket();
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (error) {
      this.status(`cannot connect: ${errorText(error)}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.gotError = false;
    this.status(mode === 'takeover' ? 'taking over…' : 'connecting…');
    ws.onopen = () => { if (this.ws === ws) this.retryDelay = 1000; };
    ws.onmessage = (message) => {
      if (this.ws !== ws) return;
      if (typeof message.data === 'string') this.control(message.data);
      else this.term.write(new Uint8Array(message.data));
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.wantWriter = false;
      this.setWriter(false);
      if (this.closed) return;
      const ended = this.state === 'dead' || this.state === 'context_exhausted';
      if (ended) {
        this.status('the agent has ended');
        return;
      }
      if (this.gotError && this.fatal) return;
      this.status(event.reason ? `disconnected (${event.reason}); retrying…` : 'disconnected; retrying…');
      this.retry = setTimeout(() => this.attach('observe'), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 15000);
    };
  }

  control(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    switch (msg.type) {
      case 'attached':
        // A fresh attachment draws the whole screen next: start from a clean terminal.
        this.term.reset();
        this.agentRows = msg.rows || this.agentRows;
        this.agentCols = msg.cols || this.agentCols;
        this.setWriter(!!msg.writer);
        if (this.wantWriter && !msg.writer) toast('Could not take over the terminal; observing instead.');
        this.wantWriter = !!msg.writer;
        this.layout(true);
        this.status('');
        if (this.writer) this.term.focus();
        break;
      case 'resized':
        this.agentRows = msg.rows || this.agentRows;
        this.agentCols = msg.cols || this.agentCols;
        if (!this.writer) this.layout(true);
        break;
      case 'refreshed':
        this.term.reset();
        break;
      case 'writer_changed':
        this.setWriter(!!msg.writer);
        this.wantWriter = !!msg.writer;
        if (!msg.writer) {
          toast(msg.reason ? `Terminal: ${msg.reason}` : 'Someone else took over the terminal; observing now.', 'info');
        }
        this.layout(true);
        break;
      case 'detached':
        this.status(msg.reason ? `detached: ${msg.reason}` : 'detached');
        break;
      case 'error':
        this.gotError = true;
        this.fatal = msg.code === 'NOT_FOUND' || msg.code === 'PERMISSION_DENIED' || msg.code === 'UNAUTHENTICATED';
        // A shim that is not there has its own notice in the view.
        if (msg.code !== 'NOT_FOUND') toast(`Terminal: ${msg.error || 'error'}${msg.code ? ` (${msg.code})` : ''}`);
        this.status(msg.error || 'error');
        break;
      default:
        break;
    }
  }

  setWriter(writer) {
    this.writer = writer;
    const mode = writer ? 'writing' : 'observing';
    // While a takeover is being attached the box already has the writer's size.
    this.container.dataset.mode = writer || (this.wantWriter && this.ws) ? 'writing' : 'observing';
    const label = $('#terminal-mode');
    setText(label, mode);
    label.dataset.mode = mode;
    $('#takeover').hidden = writer;
    $('#release').hidden = !writer;
    $('#send-esc').hidden = !writer;
    this.hint();
    if (this.term) {
      this.term.options.cursorBlink = writer;
      this.term.options.disableStdin = !writer;
    }
  }

  hint() {
    const ended = this.state === 'dead' || this.state === 'context_exhausted';
    setText($('#terminal-hint'), this.writer
      ? 'Writing: your keys go to the agent. Esc leaves the terminal; Ctrl+[ or the Esc button sends Esc.'
      : ended ? 'The agent has ended: this is its last screen.'
        : 'Observing: the agent\'s screen, live. Take over to type into it. Esc leaves the terminal.');
  }

  layoutSoon() {
    clearTimeout(this.layoutTimer);
    this.layoutTimer = setTimeout(() => this.layout(false), 80);
  }

  layout(force) {
    if (!this.term) return;
    if (this.writer) {
      if (this.term.options.fontSize !== this.baseFont) this.term.options.fontSize = this.baseFont;
      const size = this.proposed();
      if (!size || !(size.cols > 1) || !(size.rows > 1)) return;
      if (force || size.cols !== this.term.cols || size.rows !== this.term.rows) {
        this.term.resize(size.cols, size.rows);
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
          this.ws.send(JSON.stringify({ type: 'resize', rows: size.rows, cols: size.cols }));
        }
      }
      return;
    }
    // Observing: the agent's size, in a font small enough to fit the width when it can, but
    // never below a legible 10 px (a wider terminal scrolls sideways in its box).
    const cols = this.agentCols;
    const rows = this.agentRows;
    if (this.term.cols !== cols || this.term.rows !== rows) this.term.resize(cols, rows);
    const width = this.container.clientWidth;
    const probe = this.proposed();
    if (probe && probe.cols > 0 && width > 0) {
      const current = this.term.options.fontSize;
      // proposeDimensions gives how many columns of the current font fit
      let wanted = Math.floor((current * probe.cols / cols) * 2) / 2;
      wanted = Math.max(10, Math.min(this.baseFont, wanted));
      if (Math.abs(wanted - current) >= 0.5) this.term.options.fontSize = wanted;
    }
  }

  status(text) {
    setText($('#terminal-status'), text);
  }

  takeover() { this.attach('takeover'); }

  release() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      try { this.ws.send(JSON.stringify({ type: 'detach' })); } catch { /* closing anyway */ }
    }
    this.attach('observe');
    $('#takeover').focus();
  }

  shimStateChanged(state) {
    const was = this.state;
    this.state = state;
    const ended = state === 'dead' || state === 'context_exhausted';
    if (ended && this.writer) this.setWriter(false);
    if (was !== state) this.hint();
    if (was !== null && (was === 'dead' || was === 'context_exhausted') && !ended && !this.ws && !this.closed) {
      this.attach('observe');
    }
  }

  dropSocket() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'detach' }));
        ws.close(1000, 'page closed the terminal');
      } catch { /* ignore */ }
    }
  }

  dispose() {
    this.closed = true;
    clearTimeout(this.retry);
    clearTimeout(this.layoutTimer);
    this.dropSocket();
    this.resizeObserver?.disconnect();
    this.term?.dispose();
    this.container.replaceChildren();
    this.container.dataset.mode = 'observing';
    this.setWriter(false);
    this.status('');
  }
}

// ---------------------------------------------------------------------------------------
// routing

let routedOnce = false;

function route() {
  const id = currentShimId();
  const fleetView = $('#fleet-view');
  const agentView = $('#agent-view');
  if (id === null) {
    if (terminalSession) { terminalSession.dispose(); terminalSession = null; }
    disposePlayer();
    agentView.hidden = true;
    delete agentView.dataset.shimId;
    fleetView.hidden = false;
    document.title = 'agentshim';
    refreshFleet(10000);
    markAllDirty();
    if (routedOnce) $('#fleet-title').focus({ preventScroll: false });
  } else {
    fleetView.hidden = true;
    agentView.hidden = false;
    agentView.dataset.shimId = id;
    if (!terminalSession || terminalSession.id !== id) {
      if (terminalSession) { terminalSession.dispose(); terminalSession = null; }
      disposePlayer();
      $('#message').value = '';
      const r = shims.get(id);
      if (!r || !r.info) fetchShim(id);
      renderAgent();
      terminalSession = new TerminalSession(id, $('#terminal'));
      terminalSession.state = r && r.info ? r.info.state : null;
      terminalSession.attach('observe');
    }
    renderAgent();
    window.scrollTo(0, 0);
    if (routedOnce) $('#agent-title').focus({ preventScroll: true });
  }
  routedOnce = true;
}

// ---------------------------------------------------------------------------------------
// keyboard

let pendingG = 0;

function onKeyDown(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) return;
  const key = event.key;
  if (key === '/') {
    event.preventDefault();
    if (currentShimId() !== null) location.hash = '#/';
    setTimeout(() => {
      const pressed = $('.filter[aria-pressed="true"]') || $('.filter');
      pressed?.focus();
    }, 0);
    pendingG = 0;
    return;
  }
  if (key === 'g') {
    pendingG = Date.now();
    return;
  }
  if (key === 'f' && pendingG && Date.now() - pendingG < 1500) {
    event.preventDefault();
    pendingG = 0;
    if (location.hash !== '#/') location.hash = '#/';
    else $('#fleet-title').focus();
    return;
  }
  pendingG = 0;
}

function onFilterKeys(event) {
  // Arrow keys move along the filter row too (Tab still reaches every button).
  if (!event.target.classList.contains('filter')) return;
  if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
  const buttons = $$('.filter');
  const index = buttons.indexOf(event.target);
  const next = buttons[(index + (event.key === 'ArrowRight' ? 1 : buttons.length - 1)) % buttons.length];
  event.preventDefault();
  next.focus();
}

// ---------------------------------------------------------------------------------------
// start

function start() {
  for (const button of $$('.filter')) {
    button.addEventListener('click', () => setFilter(button.dataset.filter));
  }
  $('#filters').addEventListener('keydown', onFilterKeys);
  $('#send-form').addEventListener('submit', sendMessage);
  $('#message').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $('#send-form').requestSubmit();
    }
  });
  $('#takeover').addEventListener('click', () => terminalSession?.takeover());
  $('#release').addEventListener('click', () => terminalSession?.release());
  $('#send-esc').addEventListener('click', () => terminalSession?.sendEsc());
  $('#play-recording').addEventListener('click', playRecording);
  $('#kill').addEventListener('click', killShim);
  document.addEventListener('keydown', onKeyDown);
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refreshFleet(30000);
  });
  // ages move on; a local tick, no server call
  setInterval(() => markAllDirty(), 5000);

  setConnection('connecting');
  loadServer();
  loadFleet().then(() => connect());
  route();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

export { fold, shims, firstLine, humanDuration };

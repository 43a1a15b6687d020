// Loads the Make app definition (makecomapp.json and its code files) and runs
// its communication blocks the way Make documents them, with lib/iml.js as the
// expression evaluator. This is a test harness, not a Make replacement: it
// implements only the directives the definition uses and refuses the others.

'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { evaluate, truthy } = require('./iml');

const APP_DIR = path.resolve(__dirname, '..');

// Directives the runner implements. Anything else in a request or response
// is refused, so the definition cannot quietly rely on something untested.
const REQUEST_KEYS = new Set(['url', 'method', 'headers', 'qs', 'body', 'type', 'response', 'pagination', 'log', 'condition']);
const RESPONSE_KEYS = new Set(['output', 'iterate', 'limit', 'error', 'trigger', 'data', 'metadata', 'uid']);
const BASE_KEYS = new Set(['baseUrl', 'headers', 'response', 'log']);

class MakeError extends Error {
  constructor(message, type, statusCode, body) {
    super(message);
    this.name = 'MakeError';
    this.type = type;
    this.statusCode = statusCode;
    this.body = body;
  }
}

function readJSON(rel) {
  return JSON.parse(fs.readFileSync(path.join(APP_DIR, rel), 'utf8'));
}

function loadApp() {
  const manifest = readJSON('makecomapp.json');
  const load = (codeFiles) => {
    const out = {};
    for (const [k, rel] of Object.entries(codeFiles || {})) if (rel) out[k] = rel.endsWith('.json') ? readJSON(rel) : fs.readFileSync(path.join(APP_DIR, rel), 'utf8');
    return out;
  };
  const app = { manifest, base: readJSON(manifest.generalCodeFiles.base), groups: readJSON(manifest.generalCodeFiles.groups), connections: {}, webhooks: {}, modules: {}, rpcs: {} };
  for (const kind of ['connection', 'webhook', 'module', 'rpc']) {
    for (const [id, meta] of Object.entries(manifest.components[kind] || {})) {
      app[`${kind}s`][id] = { id, ...meta, code: load(meta.codeFiles) };
    }
  }
  return app;
}

// ------------------------------------------------------------------ checks

function checkKeys(obj, allowed, what) {
  for (const k of Object.keys(obj || {})) {
    if (!allowed.has(k) && !/^[0-9]{3}$/.test(k)) throw new Error(`${what}: directive "${k}" is not implemented by the test runner`);
  }
}

function checkRequest(req, what) {
  checkKeys(req, REQUEST_KEYS, what);
  checkKeys(req.response, RESPONSE_KEYS, `${what}.response`);
  checkKeys(req.pagination, new Set(['qs', 'condition']), `${what}.pagination`);
}

// ------------------------------------------------------------------ parameters

// Make hands a module only the parameters the user filled in, with defaults
// applied; required ones must be there. Unknown names are a test bug.
function prepareParameters(specs, given) {
  const byName = new Map(specs.filter((s) => s.name).map((s) => [s.name, s]));
  for (const k of Object.keys(given)) if (!byName.has(k)) throw new Error(`parameter "${k}" is not declared`);
  const out = {};
  for (const s of specs) {
    if (!s.name || s.type === 'banner') continue;
    let v = given[s.name];
    if ((v === undefined || v === '') && s.default !== undefined) v = s.default;
    if (v === undefined || v === '') {
      if (s.required) throw new Error(`required parameter "${s.name}" is missing`);
      continue;
    }
    if (s.type === 'select' && s.multiple) {
      // A multiple select is an array of option values; an empty one is not sent.
      if (!Array.isArray(v)) throw new Error(`parameter "${s.name}": a multiple select takes an array`);
      if (v.length === 0) {
        if (s.required) throw new Error(`required parameter "${s.name}" is empty`);
        continue;
      }
      for (const one of v) {
        if (Array.isArray(s.options) && !s.options.some((o) => o.value === one)) {
          throw new Error(`parameter "${s.name}": ${JSON.stringify(one)} is not one of its options`);
        }
      }
    } else if (s.type === 'select' && Array.isArray(s.options) && !s.options.some((o) => o.value === v)) {
      throw new Error(`parameter "${s.name}": ${JSON.stringify(v)} is not one of its options`);
    }
    if (s.type === 'collection' && Array.isArray(s.spec)) {
      const inner = prepareParameters(s.spec, v);
      if (Object.keys(inner).length === 0) {
        if (s.required) throw new Error(`required parameter "${s.name}" is empty`);
        continue; // an empty collection is not sent
      }
      v = inner;
    }
    out[s.name] = v;
  }
  return out;
}

// ------------------------------------------------------------------ HTTP

function mergeRequest(parent, child) {
  const out = { ...parent, ...child };
  for (const k of ['headers', 'qs']) if (parent[k] || child[k]) out[k] = { ...(parent[k] || {}), ...(child[k] || {}) };
  if (parent.response || child.response) out.response = { ...(parent.response || {}), ...(child.response || {}) };
  return out;
}

function dropEmpty(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) if (v !== undefined && v !== null && v !== '') out[k] = v;
  return out;
}

async function send(req, ctx, base) {
  const url0 = evaluate(req.url, ctx);
  const baseUrl = base ? evaluate(base.baseUrl, ctx) : '';
  const full = url0.startsWith('/') ? baseUrl + url0 : url0;
  const url = new URL(full);
  const qs = dropEmpty(evaluate({ ...(base?.qs || {}), ...(req.qs || {}) }, ctx));
  for (const [k, v] of Object.entries(qs)) {
    for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
  }
  const headers = dropEmpty(evaluate({ ...(base?.headers || {}), ...(req.headers || {}) }, ctx));
  const method = (req.method || 'GET').toUpperCase();
  let payload;
  if (req.body !== undefined && method !== 'GET') {
    if (req.type && req.type !== 'json') throw new Error(`request type ${req.type} is not implemented`);
    payload = JSON.stringify(evaluate(req.body, ctx));
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(url, { method, headers, body: payload });
  const raw = await res.text();
  let body = raw;
  if (raw !== '' && (res.headers.get('content-type') || '').includes('json')) body = JSON.parse(raw);
  if (raw === '') body = undefined;
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body, request: { method, url: url.toString(), headers, body: payload } };
}

function raise(res, response, base, ctx) {
  const spec = response?.error || base?.response?.error;
  const rctx = { ...ctx, body: res.body, headers: res.headers, statusCode: res.statusCode };
  let message = `[${res.statusCode}] request failed`;
  let type = 'RuntimeError';
  if (spec) {
    const specific = spec[String(res.statusCode)];
    const chosen = typeof spec === 'string' ? { message: spec } : specific || spec;
    message = evaluate(chosen.message, rctx);
    type = chosen.type || spec.type || type;
  }
  throw new MakeError(message, type, res.statusCode, res.body);
}

// Runs one communication object: request, error mapping, iterate/output,
// pagination and limit. Returns {items, output, data, metadata, uid, pages}.
async function run(req, ctx, { base, what = 'communication' } = {}) {
  checkRequest(req, what);
  if (base) checkKeys(base, BASE_KEYS, 'base');
  if (req.condition !== undefined && !truthy(evaluate(req.condition, ctx))) return { skipped: true, items: [] };
  const response = req.response || {};
  const limit = response.limit !== undefined ? Number(evaluate(response.limit, ctx)) : Infinity;
  const items = [];
  const pages = [];
  let current = req;
  let result = {};
  for (;;) {
    const res = await send(current, ctx, base);
    pages.push(res);
    if (res.statusCode >= 400) raise(res, req.response, base, ctx);
    const rctx = { ...ctx, body: res.body, headers: res.headers, statusCode: res.statusCode };
    if (response.iterate !== undefined) {
      const it = response.iterate;
      const container = evaluate(typeof it === 'object' ? it.container : it, rctx);
      if (!Array.isArray(container)) throw new Error(`${what}: iterate did not yield an array`);
      for (const item of container) {
        const ictx = { ...rctx, item };
        if (typeof it === 'object' && it.condition !== undefined && !truthy(evaluate(it.condition, ictx))) continue;
        items.push({ raw: item, output: evaluate(response.output !== undefined ? response.output : '{{item}}', ictx), ctx: ictx });
      }
    } else {
      result.output = evaluate(response.output !== undefined ? response.output : '{{body}}', rctx);
    }
    if (response.data) result.data = evaluate(response.data, rctx);
    if (response.metadata) result.metadata = evaluate(response.metadata, rctx);
    if (response.uid) result.uid = evaluate(response.uid, rctx);
    const pg = req.pagination;
    if (!pg || items.length >= limit || !truthy(evaluate(pg.condition, rctx))) break;
    // Pagination values are evaluated against the page just read and merged
    // over the original request (mergeWithParent defaults to true).
    current = mergeRequest(req, { qs: evaluate(pg.qs || {}, rctx) });
  }
  result.items = items;
  result.pages = pages;
  return result;
}

// ------------------------------------------------------------------ components

function connectionCtx(connection) {
  return { connection };
}

async function testConnection(app, connectionId, parameters) {
  const c = app.connections[connectionId];
  const params = prepareParameters(c.code.params, parameters);
  // Make runs the connection check without Base: the URL and headers are its own.
  const r = await run(c.code.communication, { parameters: params }, { what: `connection ${connectionId}` });
  return { metadata: r.metadata, uid: r.uid, output: r.output };
}

async function callRpc(app, rpcId, connection, parameters = {}) {
  const rpc = app.rpcs[rpcId];
  const params = prepareParameters(rpc.code.params || [], parameters);
  const r = await run(rpc.code.communication, { ...connectionCtx(connection), parameters: params }, { base: app.base, what: `rpc ${rpcId}` });
  return r.items.map((i) => i.output);
}

function moduleParams(mod) {
  return [...(mod.code.staticParams || []), ...(mod.code.mappableParams || [])];
}

// Action or search module: one bundle for an action, the iterated items for a search.
async function runModule(app, moduleId, connection, parameters = {}) {
  const mod = app.modules[moduleId];
  if (!['action', 'search'].includes(mod.moduleType)) throw new Error(`${moduleId} is a ${mod.moduleType}`);
  const params = prepareParameters(moduleParams(mod), parameters);
  const r = await run(mod.code.communication, { ...connectionCtx(connection), parameters: params }, { base: app.base, what: `module ${moduleId}` });
  if (mod.moduleType === 'search') {
    const limit = mod.code.communication.response?.limit !== undefined ? Number(evaluate(mod.code.communication.response.limit, { parameters: params })) : Infinity;
    return { bundles: r.items.slice(0, limit).map((i) => i.output), request: r.pages[0].request };
  }
  return { bundle: r.output, request: r.pages[0].request, statusCode: r.pages[0].statusCode };
}

// Polling trigger, emulating Make's bookkeeping for `trigger.type: id`:
// `state.data.lastId` is the id of the last item processed (what the
// definition sends as since_id). Items are read (with pagination) until the
// remembered id shows up or the pages end, put into ascending order, cut to
// the limit (oldest first), and the last one becomes the new lastId.
async function runTrigger(app, moduleId, connection, parameters, state) {
  const mod = app.modules[moduleId];
  if (mod.moduleType !== 'trigger') throw new Error(`${moduleId} is not a polling trigger`);
  const comm = mod.code.communication;
  const trig = comm.response.trigger;
  if (trig.type !== 'id' || trig.order !== 'desc') throw new Error('only trigger type id, order desc is emulated');
  const params = prepareParameters(moduleParams(mod), parameters);
  const ctx = { ...connectionCtx(connection), parameters: params, data: { ...(state.data || {}) } };
  const { limit, ...response } = comm.response; // Make applies the limit after ordering
  const r = await run({ ...comm, response }, ctx, { base: app.base, what: `trigger ${moduleId}` });
  const fresh = [];
  for (const it of r.items) {
    const id = evaluate(trig.id, it.ctx);
    if (state.data?.lastId && id === state.data.lastId) break;
    fresh.push({ id, output: it.output });
  }
  fresh.reverse();
  const max = limit !== undefined ? Number(evaluate(limit, ctx)) : Infinity;
  const taken = fresh.slice(0, max);
  const data = { ...(state.data || {}) };
  if (taken.length) data.lastId = taken[taken.length - 1].id;
  return { bundles: taken.map((t) => t.output), state: { data }, request: r.pages[0].request };
}

// The "Choose where to start" list: the epoch block merged over the trigger's
// communication. Each entry keeps the trigger id of its item, which is what
// Make stores when the user picks it.
async function runEpoch(app, moduleId, connection, parameters, state = {}) {
  const mod = app.modules[moduleId];
  const comm = mod.code.communication;
  const epoch = mod.code.epoch;
  checkKeys(epoch, new Set(['qs', 'response']), `epoch ${moduleId}`);
  const merged = mergeRequest(comm, epoch);
  merged.response = { ...epoch.response };
  const params = prepareParameters(moduleParams(mod), parameters);
  const ctx = { ...connectionCtx(connection), parameters: params, data: { ...(state.data || {}) } };
  const r = await run(merged, ctx, { base: app.base, what: `epoch ${moduleId}` });
  const limit = epoch.response.limit !== undefined ? Number(epoch.response.limit) : Infinity;
  return r.items.slice(0, limit).map((it) => ({ ...it.output, id: evaluate(comm.response.trigger.id, it.ctx) }));
}

// Webhook attach: Make gives {{webhook.url}} (and its own internal id) and
// keeps the attach's response.data as the webhook's data.
async function attachWebhook(app, webhookId, connection, parameters, makeWebhook) {
  const w = app.webhooks[webhookId];
  const params = prepareParameters(w.code.params, parameters);
  const r = await run(w.code.attach, { ...connectionCtx(connection), parameters: params, webhook: makeWebhook }, { base: app.base, what: `attach ${webhookId}` });
  return { parameters: params, data: r.data || {} };
}

async function detachWebhook(app, webhookId, connection, attached) {
  const w = app.webhooks[webhookId];
  const r = await run(w.code.detach, { ...connectionCtx(connection), parameters: attached.parameters, webhook: attached.data }, { base: app.base, what: `detach ${webhookId}` });
  return { statusCode: r.pages[0].statusCode };
}

// An incoming request on the webhook URL becomes bundles: the webhook's
// communication maps the request, then the instant trigger's own
// communication (optional, not used by this app) would run per bundle.
function receiveWebhook(app, webhookId, moduleId, request, attached) {
  const w = app.webhooks[webhookId];
  checkKeys(w.code.communication, new Set(['output', 'iterate']), `webhook ${webhookId}`);
  const mod = app.modules[moduleId];
  if (mod.webhook !== webhookId) throw new Error(`${moduleId} does not use webhook ${webhookId}`);
  if (mod.code.communication) throw new Error('instant trigger communication is not implemented by the test runner');
  const ctx = { body: request.body, headers: request.headers, parameters: attached.parameters, webhook: attached.data };
  const it = w.code.communication.iterate;
  if (it) return evaluate(it, ctx).map((item) => evaluate(w.code.communication.output ?? '{{item}}', { ...ctx, item }));
  return [evaluate(w.code.communication.output ?? '{{body}}', ctx)];
}

module.exports = {
  APP_DIR,
  MakeError,
  loadApp,
  prepareParameters,
  moduleParams,
  testConnection,
  callRpc,
  runModule,
  runTrigger,
  runEpoch,
  attachWebhook,
  detachWebhook,
  receiveWebhook,
};

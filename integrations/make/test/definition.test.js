'use strict';

// Static checks of the app definition: the layout makecomapp.json describes,
// the references between components, and that every IML expression is inside
// the subset lib/iml.js evaluates and names only variables and parameters
// that exist where it runs.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadApp, APP_DIR } = require('../lib/app');
const { expressions, paths } = require('../lib/iml');
const { uncovered, eventNamesFromOpenAPI } = require('./helpers');

const app = loadApp();
const m = app.manifest;

const PARAM_TYPES = new Set(['any', 'array', 'banner', 'boolean', 'buffer', 'cert', 'collection', 'color', 'date', 'email', 'file', 'filename', 'filter', 'folder', 'hidden', 'integer', 'json', 'number', 'password', 'path', 'pkey', 'port', 'select', 'text', 'time', 'timestamp', 'timezone', 'udt', 'uinteger', 'url', 'uuid']);

function walkFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walkFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

test('makecomapp.json names every code file, each exists and is valid JSON', () => {
  assert.equal(m.fileVersion, 1);
  const referenced = new Set(Object.values(m.generalCodeFiles).filter(Boolean));
  for (const kind of ['connection', 'webhook', 'module', 'rpc', 'function']) {
    assert.ok(m.components[kind], `components.${kind}`);
    for (const c of Object.values(m.components[kind])) for (const f of Object.values(c.codeFiles)) if (f) referenced.add(f);
  }
  for (const f of referenced) {
    assert.ok(fs.existsSync(path.join(APP_DIR, f)), `${f} exists`);
    if (f.endsWith('.json')) assert.doesNotThrow(() => JSON.parse(fs.readFileSync(path.join(APP_DIR, f), 'utf8')), f);
  }
  // …and there are no stray definition files that Make would never see.
  const onDisk = ['general', 'connections', 'webhooks', 'modules', 'rpcs'].flatMap((d) => walkFiles(path.join(APP_DIR, d))).map((f) => path.relative(APP_DIR, f));
  assert.deepEqual(onDisk.filter((f) => !referenced.has(f)), []);
  for (const o of m.origins) {
    assert.match(o.appId, /^[a-z][0-9a-z-]+[0-9a-z]$/);
    assert.ok(o.baseUrl && o.appVersion && o.apikeyFile);
  }
});

test('components are well formed and reference each other correctly', () => {
  for (const [id, c] of Object.entries(app.connections)) assert.ok(['basic', 'oauth'].includes(c.connectionType), id);
  for (const [id, w] of Object.entries(app.webhooks)) {
    assert.ok(['web', 'web-shared'].includes(w.webhookType), id);
    assert.ok(app.connections[w.connection], `${id}.connection`);
    assert.ok(w.code.attach && w.code.detach, `${id} attaches and detaches itself`);
  }
  for (const [id, r] of Object.entries(app.rpcs)) {
    assert.match(id, /^[a-zA-Z][0-9a-zA-Z]{3,47}$/);
    assert.ok(app.connections[r.connection], `${id}.connection`);
  }
  const grouped = app.groups.flatMap((g) => g.modules);
  for (const [id, mod] of Object.entries(app.modules)) {
    assert.match(id, /^[a-zA-Z][0-9a-zA-Z]{3,47}$/);
    assert.ok(['trigger', 'action', 'search', 'instant_trigger', 'responder', 'universal'].includes(mod.moduleType), id);
    assert.ok(mod.label && mod.description, `${id} has a label and a description`);
    assert.ok(app.connections[mod.connection], `${id}.connection`);
    if (mod.actionCrud) assert.ok(['create', 'read', 'update', 'delete'].includes(mod.actionCrud), id);
    if (mod.moduleType === 'instant_trigger') assert.ok(app.webhooks[mod.webhook], `${id}.webhook`);
    else assert.ok(mod.code.communication, `${id} has a communication`);
    if (mod.moduleType === 'trigger') {
      assert.ok(mod.code.epoch, `${id} has an epoch`);
      assert.deepEqual(Object.keys(mod.code.communication.response.trigger).sort(), ['id', 'order', 'type']);
    }
    assert.ok(mod.code.interface, `${id} has an interface`);
    assert.ok(mod.code.samples, `${id} has samples`);
    assert.equal(grouped.filter((g) => g === id).length, 1, `${id} is in exactly one group`);
  }
  for (const g of grouped) assert.ok(app.modules[g], `group member ${g} exists`);
});

function checkParams(list, where) {
  for (const p of list) {
    assert.ok(PARAM_TYPES.has(p.type), `${where}: ${p.name} has a known type (${p.type})`);
    if (p.type !== 'banner') assert.match(p.name, /^[A-Za-z_][A-Za-z0-9_]*$/, `${where}: name`);
    if (p.type === 'collection' || (p.type === 'array' && Array.isArray(p.spec))) checkParams(p.spec, `${where}.${p.name}`);
    if (p.type === 'select' && typeof p.options === 'string') {
      const rpc = /^rpc:\/\/(.+)$/.exec(p.options);
      assert.ok(rpc && app.rpcs[rpc[1]], `${where}: ${p.name} options RPC exists`);
    }
  }
}

test('parameters and interfaces use Make parameter types; samples fit the interfaces', () => {
  for (const [id, c] of Object.entries(app.connections)) checkParams(c.code.params, `connection ${id}`);
  for (const [id, w] of Object.entries(app.webhooks)) checkParams(w.code.params, `webhook ${id}`);
  for (const [id, r] of Object.entries(app.rpcs)) checkParams(r.code.params, `rpc ${id}`);
  for (const [id, mod] of Object.entries(app.modules)) {
    for (const k of ['staticParams', 'mappableParams', 'interface']) if (mod.code[k]) checkParams(mod.code[k], `${id}.${k}`);
    assert.deepEqual(uncovered(mod.code.samples, mod.code.interface), [], `${id}: samples fit the interface`);
  }
});

test('event selects offer exactly the event names of the OpenAPI document', () => {
  const names = eventNamesFromOpenAPI();
  // The document is the source of truth (14 names since sale_refunded); the
  // hub's own list is compared with it in hub.test.js.
  assert.ok(names.length >= 14 && names.includes('sale_refunded'), names.join(', '));
  const hookOptions = app.webhooks.hubEvent.code.params.find((p) => p.name === 'event').options.map((o) => o.value);
  assert.deepEqual(hookOptions, [...names, '*']);
  const pollOptions = app.modules.watchEventsPolling.code.staticParams.find((p) => p.name === 'type').options.map((o) => o.value);
  assert.deepEqual(pollOptions, names);
});

// Where each code runs decides which IML variables exist there.
function contexts() {
  const out = [];
  const paramNames = (list) => new Set((list || []).map((p) => p.name));
  out.push({ where: 'base', value: app.base, vars: ['connection', 'body', 'statusCode', 'headers'], params: new Set() });
  for (const [id, c] of Object.entries(app.connections)) {
    out.push({ where: `connection ${id}`, value: c.code.communication, vars: ['parameters', 'body', 'statusCode', 'headers'], params: paramNames(c.code.params) });
  }
  for (const [id, w] of Object.entries(app.webhooks)) {
    const params = paramNames(w.code.params);
    out.push({ where: `webhook ${id}`, value: w.code.communication, vars: ['body', 'headers', 'parameters', 'webhook'], params });
    out.push({ where: `attach ${id}`, value: w.code.attach, vars: ['connection', 'parameters', 'webhook', 'body', 'statusCode', 'headers'], params, webhook: ['url', 'id'] });
    const stored = Object.keys(w.code.attach.response?.data || {});
    out.push({ where: `detach ${id}`, value: w.code.detach, vars: ['connection', 'parameters', 'webhook', 'body', 'statusCode', 'headers'], params, webhook: stored });
  }
  for (const [id, r] of Object.entries(app.rpcs)) {
    out.push({ where: `rpc ${id}`, value: r.code.communication, vars: ['connection', 'parameters', 'body', 'item', 'statusCode', 'headers'], params: paramNames(r.code.params) });
  }
  for (const [id, mod] of Object.entries(app.modules)) {
    const params = paramNames([...(mod.code.staticParams || []), ...(mod.code.mappableParams || [])]);
    const vars = ['connection', 'parameters', 'body', 'item', 'statusCode', 'headers', ...(mod.moduleType === 'trigger' ? ['data'] : [])];
    if (mod.code.communication) out.push({ where: `module ${id}`, value: mod.code.communication, vars, params });
    if (mod.code.epoch) out.push({ where: `epoch ${id}`, value: mod.code.epoch, vars, params });
  }
  return out;
}

test('every IML expression is in the evaluated subset and names existing variables and parameters', () => {
  let count = 0;
  for (const c of contexts()) {
    for (const e of expressions(c.value)) {
      count++;
      let ps;
      assert.doesNotThrow(() => (ps = paths(e.src)), `${c.where} ${e.where}: {{${e.src}}}`);
      for (const p of ps) {
        assert.ok(c.vars.includes(p[0]), `${c.where} ${e.where}: ${p[0]} is not available here`);
        if (p[0] === 'parameters') assert.ok(c.params.has(p[1]), `${c.where} ${e.where}: parameter ${p[1]} is not declared`);
        if (p[0] === 'webhook' && c.webhook) assert.ok(c.webhook.includes(p[1]), `${c.where} ${e.where}: webhook.${p[1]} is not available here`);
        if (p[0] === 'data') assert.deepEqual(p, ['data', 'lastId'], `${c.where}: only data.lastId is emulated`);
      }
    }
  }
  assert.ok(count > 50, `checked ${count} expressions`);
});

test('the connection check does not depend on Base, and Base authorizes every other call', () => {
  const conn = app.connections.hub.code.communication;
  assert.match(conn.url, /^\{\{parameters\.baseUrl\}\}\//);
  assert.equal(conn.headers.Authorization, 'Bearer {{parameters.apiKey}}');
  assert.equal(app.base.headers.Authorization, 'Bearer {{connection.apiKey}}');
  assert.equal(app.base.baseUrl, '{{connection.baseUrl}}');
  const relative = [
    ...Object.values(app.modules).map((x) => x.code.communication),
    ...Object.values(app.rpcs).map((x) => x.code.communication),
    ...Object.values(app.webhooks).flatMap((x) => [x.code.attach, x.code.detach]),
  ].filter(Boolean);
  for (const r of relative) assert.match(r.url, /^\/v1\//, 'modules, RPCs, attach and detach use URLs relative to Base');
});

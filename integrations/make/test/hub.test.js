'use strict';

// Executes every request the Make app definition describes against a real
// hub (`hub dev`, built from this repository) and checks the mapped outputs.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Webhook } = require('standardwebhooks');

const make = require('../lib/app');
const { startHub, sleep } = require('../lib/hub');
const { startSmtpServer } = require('../lib/smtp');
const { uncovered, eventNamesFromOpenAPI } = require('./helpers');

const app = make.loadApp();
const iface = (id) => app.modules[id].code.interface;

// A stand-in for Make's webhook endpoint: records every request.
function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      received.push({ method: req.method, url: req.url, headers: req.headers, raw, body, at: Date.now() });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('Accepted');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, received, port: server.address().port }));
  });
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('Make app against a real hub', { timeout: 170000 }, () => {
  let hub;
  let conn; // Make's `connection` collection: the connection parameters
  let receiver;
  let api;
  const email = `make.${Date.now()}@Example.com`;
  const s = {}; // state shared by the steps below, in order

  before(async () => {
    hub = await startHub();
    conn = { apiKey: hub.apiKey, baseUrl: hub.baseUrl };
    receiver = await startReceiver();
    api = async (method, path, body) => {
      const res = await fetch(hub.baseUrl + path, {
        method,
        headers: { Authorization: `Bearer ${hub.apiKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
  });

  after(async () => {
    if (receiver) receiver.server.close();
    if (hub && !hub.exit) await hub.stop();
  });

  it('connection: the check returns the label from /v1/me; a bad key is refused', async () => {
    const ok = await make.testConnection(app, 'hub', conn);
    assert.deepEqual(ok.metadata, { type: 'text', value: 'Demo Café · demo' });
    assert.match(ok.uid, /^b_/);
    await assert.rejects(make.testConnection(app, 'hub', { ...conn, apiKey: '7loc_sc_' + 'x'.repeat(40) }), (e) => {
      assert.equal(e.type, 'InvalidAccessTokenError');
      assert.match(e.message, /^\[401\] .+ \(unauthorized\)$/);
      return true;
    });
  });

  it('RPC listCardTemplates: the card template select lists the demo template', async () => {
    const options = await make.callRpc(app, 'listCardTemplates', conn);
    assert.deepEqual(options, [{ label: 'Coffee card', value: hub.templateId }]);
  });

  it('webhook attach: subscribes the Make webhook URL, visible in GET /v1/hooks', async () => {
    s.webhookUrl = `http://127.0.0.1:${receiver.port}/make/${Date.now()}`;
    s.attached = await make.attachWebhook(app, 'hubEvent', conn, { event: 'card_issued' }, { id: 42, url: s.webhookUrl });
    assert.match(s.attached.data.hookId, /^hk_/);
    assert.match(s.attached.data.secret, /^whsec_/);
    const hooks = await api('GET', '/v1/hooks');
    const mine = hooks.body.data.filter((h) => h.target_url === s.webhookUrl);
    assert.deepEqual(
      mine.map((h) => ({ id: h.id, event: h.event, status: h.status })),
      [{ id: s.attached.data.hookId, event: 'card_issued', status: 'active' }],
    );
    // Attaching the same event and URL again (Make retrying) keeps one hook.
    const again = await make.attachWebhook(app, 'hubEvent', conn, { event: 'card_issued' }, { id: 42, url: s.webhookUrl });
    assert.equal(again.data.hookId, s.attached.data.hookId);
  });

  it('action issueCard: issues a card (card_…), and returns the same card when repeated', async () => {
    const r = await make.runModule(app, 'issueCard', conn, {
      template_id: hub.templateId,
      customer: { email, name: 'Make Tester' },
    });
    assert.equal(r.statusCode, 201);
    assert.deepEqual(JSON.parse(r.request.body), { template_id: hub.templateId, customer: { email, name: 'Make Tester' } });
    assert.match(r.bundle.id, /^card_/);
    assert.equal(r.bundle.template_id, hub.templateId);
    assert.equal(r.bundle.customer.email, email.toLowerCase());
    assert.equal(r.bundle.stamps, 0);
    assert.deepEqual(uncovered(r.bundle, iface('issueCard')), []);
    s.card = r.bundle;
    const again = await make.runModule(app, 'issueCard', conn, { template_id: hub.templateId, customer: { email } });
    assert.equal(again.statusCode, 200);
    assert.equal(again.bundle.id, s.card.id);
  });

  it('instant trigger watchEvents: the card_issued delivery reaches the webhook URL, signed, within 10 s', async () => {
    const d = await waitFor(() => receiver.received.find((x) => x.body?.card?.id === s.card.id), 10000, 'the card_issued delivery');
    assert.equal(d.method, 'POST');
    assert.equal(d.url, new URL(s.webhookUrl).pathname);
    assert.match(d.headers['content-type'], /^application\/json/);
    assert.equal(d.headers['webhook-id'], d.body.id);
    assert.match(d.headers['webhook-timestamp'], /^[0-9]+$/);
    assert.ok(Math.abs(Date.now() / 1000 - Number(d.headers['webhook-timestamp'])) < 300);
    assert.match(d.headers['webhook-signature'], /^v1,/);
    // The secret the attach stored in the webhook's data verifies the delivery.
    assert.doesNotThrow(() => new Webhook(s.attached.data.secret).verify(d.raw, d.headers));
    const bundles = make.receiveWebhook(app, 'hubEvent', 'watchEvents', d, s.attached);
    assert.equal(bundles.length, 1);
    assert.equal(bundles[0].event, 'card_issued');
    assert.equal(bundles[0].id, d.headers['webhook-id']);
    assert.equal(bundles[0].card.id, s.card.id);
    assert.equal(bundles[0].customer.email, email.toLowerCase());
    assert.deepEqual(uncovered(bundles[0], iface('watchEvents')), []);
    const stored = await api('GET', `/v1/events/${d.body.id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.event, 'card_issued');
    s.cardIssuedEvent = d.body.id;
  });

  it('action addStampsToCard: adds stamps; a repeated idempotency key does not stamp twice', async () => {
    const params = { card_id: s.card.id, count: 4, note: 'order 17', idempotency_key: `make-${Date.now()}` };
    const r = await make.runModule(app, 'addStampsToCard', conn, params);
    assert.equal(r.request.headers['Idempotency-Key'], params.idempotency_key);
    assert.equal(r.bundle.card.id, s.card.id);
    assert.equal(r.bundle.card.stamps, 4);
    assert.deepEqual(r.bundle.events.map((e) => e.event), ['stamp_added']);
    assert.deepEqual(r.bundle.rewards, []);
    assert.deepEqual(uncovered(r.bundle, iface('addStampsToCard')), []);
    const replay = await make.runModule(app, 'addStampsToCard', conn, params);
    assert.deepEqual(replay.bundle, r.bundle);
    // Without a key no Idempotency-Key header is sent.
    const noKey = await make.runModule(app, 'addStampsToCard', conn, { card_id: s.card.id });
    assert.equal(noKey.request.headers['Idempotency-Key'], undefined);
    assert.deepEqual(JSON.parse(noKey.request.body), { count: 1 }, 'the Stamps default is 1');
    assert.equal(noKey.bundle.card.stamps, 5);
    s.goalViaCard = noKey.bundle;
  });

  it('action addStampsByCustomer: stamps until the next goal and returns its reward', async () => {
    // The card is at 5 of 10 (first goal reached above); 5 more reach the second goal.
    assert.deepEqual(s.goalViaCard.events.map((e) => e.event), ['stamp_added', 'goal_reached', 'reward_issued']);
    const r = await make.runModule(app, 'addStampsByCustomer', conn, { customer: { email: email.toUpperCase() }, count: 5 });
    assert.deepEqual(JSON.parse(r.request.body), { customer: { email: email.toUpperCase() }, count: 5 });
    assert.equal(r.bundle.card.id, s.card.id);
    assert.deepEqual(r.bundle.events.map((e) => e.event), ['stamp_added', 'goal_reached', 'reward_issued']);
    assert.equal(r.bundle.rewards.length, 1);
    const reward = r.bundle.rewards[0];
    assert.equal(reward.type, 'reward');
    assert.equal(reward.title, 'Free cake');
    assert.equal(reward.status, 'issued');
    assert.match(reward.redeem_code, /^[A-Z0-9]{8}$/);
    assert.equal(r.bundle.card.cycle, 2, 'the last goal starts a new cycle');
    assert.deepEqual(uncovered(r.bundle, iface('addStampsByCustomer')), []);
    s.reward = reward;
  });

  it('search findVoucher: finds the reward by its redeem code (any case)', async () => {
    const r = await make.runModule(app, 'findVoucher', conn, { redeem_code: s.reward.redeem_code.toLowerCase() });
    assert.equal(r.bundles.length, 1);
    assert.equal(r.bundles[0].id, s.reward.id);
    assert.equal(r.bundles[0].status, 'issued');
    assert.deepEqual(uncovered(r.bundles[0], iface('findVoucher')), []);
    const none = await make.runModule(app, 'findVoucher', conn, { redeem_code: 'NOSUCHCODE' });
    assert.deepEqual(none.bundles, []);
  });

  it('search findCard: by email, and by template with a limit across pages', async () => {
    const byEmail = await make.runModule(app, 'findCard', conn, { email });
    assert.deepEqual(byEmail.bundles.map((c) => c.id), [s.card.id]);
    assert.equal(byEmail.bundles[0].stamps_total, 10);
    assert.deepEqual(uncovered(byEmail.bundles[0], iface('findCard')), []);
    // A second customer's card; limit 1 returns only the newest.
    const other = await make.runModule(app, 'issueCard', conn, { template_id: hub.templateId, customer: { phone: '+380 (67) 765-43-21' } });
    const limited = await make.runModule(app, 'findCard', conn, { template_id: hub.templateId, limit: 1 });
    assert.deepEqual(limited.bundles.map((c) => c.id), [other.bundle.id]);
    const both = await make.runModule(app, 'findCard', conn, { template_id: hub.templateId });
    assert.deepEqual(both.bundles.map((c) => c.id), [other.bundle.id, s.card.id]);
  });

  it('search findCustomer: by email and by phone', async () => {
    const r = await make.runModule(app, 'findCustomer', conn, { email });
    assert.equal(r.bundles.length, 1);
    assert.equal(r.bundles[0].id, s.card.customer.id);
    assert.equal(r.bundles[0].name, 'Make Tester');
    assert.deepEqual(uncovered(r.bundles[0], iface('findCustomer')), []);
    const byPhone = await make.runModule(app, 'findCustomer', conn, { phone: '+380677654321' });
    assert.equal(byPhone.bundles.length, 1);
    assert.equal(byPhone.bundles[0].phone, '+380677654321');
    const none = await make.runModule(app, 'findCustomer', conn, { email: 'nobody@example.com' });
    assert.deepEqual(none.bundles, []);
  });

  it('action redeemVoucher: redeems the reward once; a second time maps already_redeemed to an error', async () => {
    const r = await make.runModule(app, 'redeemVoucher', conn, { redeem_code: s.reward.redeem_code, redeemed_via: 'pos' });
    assert.equal(r.bundle.id, s.reward.id);
    assert.equal(r.bundle.status, 'redeemed');
    assert.equal(r.bundle.redeemed_via, 'pos');
    assert.ok(r.bundle.redeemed_at);
    assert.deepEqual(uncovered(r.bundle, iface('redeemVoucher')), []);
    await assert.rejects(make.runModule(app, 'redeemVoucher', conn, { redeem_code: s.reward.redeem_code }), (e) => {
      assert.equal(e.type, 'DataError');
      assert.equal(e.statusCode, 409);
      assert.match(e.message, /^\[409\] .+ \(already_redeemed\)$/);
      return true;
    });
  });

  it('action issueVoucher: to a customer by email, to a card with its own code; a missing holder is a DataError', async () => {
    const r = await make.runModule(app, 'issueVoucher', conn, { customer: { email: 'new.voucher@example.com' }, title: 'Welcome 10% off' });
    assert.deepEqual(JSON.parse(r.request.body), { customer: { email: 'new.voucher@example.com' }, title: 'Welcome 10% off' });
    assert.equal(r.statusCode, 201);
    assert.match(r.bundle.id, /^v_/);
    assert.equal(r.bundle.type, 'voucher');
    assert.equal(r.bundle.status, 'issued');
    assert.equal(r.bundle.card_id, null);
    assert.match(r.bundle.redeem_code, /^[A-HJKMNP-Z2-9]{8}$/);
    assert.deepEqual(uncovered(r.bundle, iface('issueVoucher')), []);

    const expires = new Date(Date.now() + 7 * 864e5).toISOString();
    const byCard = await make.runModule(app, 'issueVoucher', conn, { card_id: s.card.id, title: 'Birthday cake', redeem_code: `make-${Date.now()}`, expires_at: expires });
    assert.equal(byCard.bundle.card_id, s.card.id);
    assert.equal(byCard.bundle.customer_id, s.card.customer.id);
    assert.match(byCard.bundle.redeem_code, /^MAKE-[0-9]+$/);
    assert.equal(Date.parse(byCard.bundle.expires_at), Date.parse(expires));
    // An empty customer collection is not sent, so card_id alone names the holder.
    const emptyCollection = await make.runModule(app, 'issueVoucher', conn, { card_id: s.card.id, customer: {}, title: 'Coffee' });
    assert.equal(emptyCollection.bundle.card_id, s.card.id);

    await assert.rejects(make.runModule(app, 'issueVoucher', conn, { title: 'Nobody' }), (e) => {
      assert.equal(e.type, 'DataError');
      assert.equal(e.statusCode, 422);
      assert.match(e.message, /\(validation_failed\)$/);
      return true;
    });
    await assert.rejects(make.runModule(app, 'addStampsToCard', conn, { card_id: 'card_00000000000000000000000000' }), (e) => {
      assert.equal(e.type, 'DataError');
      assert.equal(e.statusCode, 404);
      assert.match(e.message, /\(not_found\)$/);
      return true;
    });
  });

  it('polling trigger watchEventsPolling (one type): since_id is the epoch; each run returns only newer events and moves it', async () => {
    const epoch = await make.runEpoch(app, 'watchEventsPolling', conn, { type: 'stamp_added' });
    assert.equal(epoch.length, 3); // 4 stamps, then 1, then 5 (the idempotent replay emitted nothing)
    for (const e of epoch) {
      assert.match(e.label, /^stamp_added · /);
      assert.ok(e.label.endsWith(email.toLowerCase()));
      assert.match(e.date, /^\d{4}-\d\d-\d\dT/);
      assert.match(e.id, /^evt_/);
    }
    // "All": no epoch yet.
    let run = await make.runTrigger(app, 'watchEventsPolling', conn, { type: 'stamp_added' }, { data: {} });
    assert.equal(new URL(run.request.url).searchParams.get('since_id'), null);
    assert.equal(new URL(run.request.url).searchParams.get('type'), 'stamp_added');
    assert.deepEqual(run.bundles.map((b) => b.data.count), [4, 1, 5], 'oldest first');
    assert.equal(run.state.data.lastId, epoch[0].id, 'the newest id becomes the epoch');
    for (const b of run.bundles) assert.deepEqual(uncovered(b, iface('watchEventsPolling')), []);
    // Nothing new: the next run asks since_id=<epoch> and returns nothing.
    run = await make.runTrigger(app, 'watchEventsPolling', conn, { type: 'stamp_added' }, run.state);
    assert.equal(new URL(run.request.url).searchParams.get('since_id'), epoch[0].id);
    assert.deepEqual(run.bundles, []);
    const state = run.state;
    // Reopening "Choose where to start" later still lists the same events.
    assert.deepEqual(await make.runEpoch(app, 'watchEventsPolling', conn, { type: 'stamp_added' }, state), epoch);
    // A new stamp shows up exactly once.
    await make.runModule(app, 'addStampsToCard', conn, { card_id: s.card.id, count: 2 });
    run = await make.runTrigger(app, 'watchEventsPolling', conn, { type: 'stamp_added' }, state);
    assert.equal(run.bundles.length, 1);
    assert.equal(run.bundles[0].data.count, 2);
    assert.ok(run.bundles[0].id > epoch[0].id);
    assert.equal(run.state.data.lastId, run.bundles[0].id);
    // "Choose where to start": picking the oldest event returns the two after it.
    const picked = await make.runTrigger(app, 'watchEventsPolling', conn, { type: 'stamp_added' }, { data: { lastId: epoch[2].id } });
    assert.deepEqual(picked.bundles.map((b) => b.data.count), [1, 5, 2]);
  });

  it('polling trigger watchEventsPolling (all events, limit 4): pages through the backlog in order, no gaps, no repeats', async () => {
    const all = await make.runEpoch(app, 'watchEventsPolling', conn, {});
    const start = all.find((e) => e.id === s.cardIssuedEvent);
    assert.ok(start, 'the card_issued event is offered in "Choose where to start"');
    const expected = (await api('GET', `/v1/events?since_id=${s.cardIssuedEvent}&limit=100`)).body.data.map((e) => e.id).reverse();
    assert.ok(expected.length > 8, `backlog of ${expected.length} events`);
    let state = { data: { lastId: start.id } };
    const seen = [];
    for (let i = 0; i < 20; i++) {
      const run = await make.runTrigger(app, 'watchEventsPolling', conn, { limit: 4 }, state);
      assert.ok(run.bundles.length <= 4);
      if (run.bundles.length === 0) break;
      seen.push(...run.bundles.map((b) => b.id));
      for (const b of run.bundles) assert.deepEqual(uncovered(b, iface('watchEventsPolling')), []);
      state = run.state;
    }
    assert.deepEqual(seen, expected);
  });

  it('every event name: the hub samples and the real events fit the trigger interfaces', async () => {
    const names = eventNamesFromOpenAPI();
    for (const name of names) {
      const r = await api('GET', `/v1/events/samples?type=${name}`);
      assert.equal(r.status, 200, name);
      assert.ok(r.body.data.length > 0, `samples of ${name}`);
      for (const e of r.body.data) {
        assert.equal(e.event, name);
        assert.deepEqual(uncovered(e, iface('watchEvents')), [], `${name} sample vs watchEvents`);
        assert.deepEqual(uncovered(e, iface('watchEventsPolling')), [], `${name} sample vs watchEventsPolling`);
      }
    }
    const real = await api('GET', '/v1/events?limit=100');
    for (const e of real.body.data) assert.deepEqual(uncovered(e, iface('watchEvents')), [], e.event);
  });

  it('webhook detach: deletes the hook; detaching again is harmless', async () => {
    const r = await make.detachWebhook(app, 'hubEvent', conn, s.attached);
    assert.equal(r.statusCode, 204);
    const hooks = await api('GET', '/v1/hooks');
    assert.deepEqual(hooks.body.data.filter((h) => h.target_url === s.webhookUrl), []);
    assert.equal((await api('GET', `/v1/hooks/${s.attached.data.hookId}`)).status, 404);
    const again = await make.detachWebhook(app, 'hubEvent', conn, s.attached);
    assert.equal(again.statusCode, 204);
  });

  // Send a Message: no channel reaches the customer at first (422); then the
  // email channel points at a local SMTP server and the customer consents.
  it('action sendMessage: 422 when no channel can reach the customer, 404 for an unknown one', async () => {
    const r = make.runModule(app, 'sendMessage', conn, { customer_id: s.card.customer.id, text: 'Hello' });
    await assert.rejects(r, (e) => {
      assert.equal(e.type, 'DataError');
      assert.equal(e.statusCode, 422);
      assert.equal(e.message, '[422] no channel in the order can reach the customer (validation_failed)');
      assert.match(e.body.error.fields.channels, /consent, an address and a configured provider/);
      return true;
    });
    await assert.rejects(make.runModule(app, 'sendMessage', conn, { customer: { email: 'nobody@example.com' }, text: 'Hello' }), (e) => {
      assert.equal(e.type, 'DataError');
      assert.equal(e.statusCode, 404);
      assert.equal(e.message, '[404] customer not found (not_found)');
      return true;
    });
  });

  it('action sendMessage: a transactional text by email, idempotent with a key; the SMTP server receives it', async () => {
    s.smtp = await startSmtpServer();
    const put = await api('PUT', '/v1/channels/email', { host: s.smtp.host, port: s.smtp.port, tls: 'none', from: 'hello@cafe.test' });
    assert.equal(put.status, 200);
    assert.equal((await api('PATCH', `/v1/customers/${s.card.customer.id}`, { consent: { email: true } })).status, 200);

    const params = {
      customer_id: s.card.customer.id,
      text: 'Your table is ready.',
      subject: 'Table',
      channels: ['messengers', 'email'],
      transactional: true,
      idempotency_key: `make-msg-${Date.now()}`,
    };
    const r = await make.runModule(app, 'sendMessage', conn, params);
    assert.equal(r.statusCode, 202);
    assert.equal(r.request.headers['Idempotency-Key'], params.idempotency_key);
    assert.deepEqual(JSON.parse(r.request.body), {
      customer_id: s.card.customer.id, text: 'Your table is ready.', subject: 'Table', channels: ['messengers', 'email'], transactional: true,
    });
    assert.match(r.bundle.id, /^dlv_/);
    assert.ok(['pending', 'sending', 'sent'].includes(r.bundle.status), r.bundle.status);
    assert.equal(r.bundle.channel, 'email');
    assert.equal(r.bundle.customer_id, s.card.customer.id);
    assert.equal(r.bundle.transactional, true);
    assert.deepEqual(uncovered(r.bundle, iface('sendMessage')), []);
    assert.deepEqual(Object.keys(r.bundle).sort(), iface('sendMessage').map((f) => f.name).sort());
    const replay = await make.runModule(app, 'sendMessage', conn, params);
    assert.equal(replay.bundle.id, r.bundle.id, 'the same key returns the first delivery');

    const mail = await waitFor(() => s.smtp.messages.find((m) => m.data.includes(`X-Hub-Delivery: ${r.bundle.id}`)), 10000, 'the email');
    assert.deepEqual(mail.to, [email.toLowerCase()]);
    assert.match(mail.data, /^Subject: Table\r$/m);
    assert.match(mail.data, /Your table is ready\./);
    assert.equal(s.smtp.messages.filter((m) => m.data.includes(`X-Hub-Delivery: ${r.bundle.id}`)).length, 1);
    const stored = await api('GET', `/v1/deliveries/${r.bundle.id}`);
    assert.ok(['sending', 'sent'].includes(stored.body.status), stored.body.status);
  });

  it('RPC listMessageTemplates and sendMessage with a template and data, by customer email', async () => {
    const created = await api('POST', '/v1/message-templates', {
      name: 'Receipt',
      variants: [
        { language: 'en', kind: 'email', subject: 'Order {{ data.order }}', text: 'Hi {{ customer.name }}, order {{ data.order }} at table {{ data.table }}.' },
        { language: 'en', kind: 'text', text: 'Order {{ data.order }} is ready.' },
      ],
    });
    assert.equal(created.status, 201);
    const options = await make.callRpc(app, 'listMessageTemplates', conn);
    // A new business also has the ready-made automations' templates: the
    // dropdown lists every template the API lists, newest first.
    const listed = await api('GET', '/v1/message-templates?limit=100');
    assert.equal(listed.status, 200);
    assert.deepEqual(options, listed.body.data.map((t) => ({ label: t.name, value: t.id })));
    assert.deepEqual(options[0], { label: 'Receipt', value: created.body.id });

    const r = await make.runModule(app, 'sendMessage', conn, {
      customer: { email: email.toUpperCase() },
      template_id: created.body.id,
      data: [{ key: 'order', value: 'A-17' }, { key: 'table', value: '4' }],
    });
    assert.deepEqual(JSON.parse(r.request.body), {
      customer: { email: email.toUpperCase() }, template_id: created.body.id, transactional: false, data: { order: 'A-17', table: '4' },
    }, 'Transactional defaults to false; the data pairs become an object');
    assert.equal(r.request.headers['Idempotency-Key'], undefined);
    assert.match(r.bundle.id, /^dlv_/);
    assert.equal(r.bundle.transactional, false);
    // The demo business has no quiet hours and no frequency cap: it goes out at once.
    const mail = await waitFor(() => s.smtp.messages.find((m) => m.data.includes(`X-Hub-Delivery: ${r.bundle.id}`)), 10000, 'the email');
    assert.match(mail.data, /^Subject: Order A-17\r$/m);
    assert.match(mail.data, /Hi Make Tester, order A-17 at table 4\./);

    await assert.rejects(make.runModule(app, 'sendMessage', conn, { customer_id: s.card.customer.id, template_id: created.body.id, text: 'x' }), (e) => {
      assert.equal(e.statusCode, 422);
      assert.equal(e.message, '[422] the request has invalid fields (validation_failed)');
      return true;
    });
    await s.smtp.close();
  });

  it('the hub stops cleanly on SIGTERM', async () => {
    const exit = await hub.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, JSON.stringify(hub.output()));
  });
});

'use strict';

// Record a Sale (POST /v1/sales) and the sale_refunded event, run from the
// Make app definition against a hub of its own (`hub dev`, built from this
// repository). The demo card template keeps the default earning rule: one
// stamp per sale.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const make = require('../lib/app');
const { startHub } = require('../lib/hub');
const { uncovered, eventNamesFromOpenAPI } = require('./helpers');

const app = make.loadApp();
const iface = (id) => app.modules[id].code.interface;

describe('Make app: Record a Sale against a real hub', { timeout: 120000 }, () => {
  let hub;
  let conn;
  let api;
  const stamp = Date.now().toString(36);
  const phone = `+38067${String(Date.now()).slice(-7)}`;
  const s = {};

  before(async () => {
    hub = await startHub();
    conn = { apiKey: hub.apiKey, baseUrl: hub.baseUrl };
    api = async (method, path, body) => {
      const res = await fetch(hub.baseUrl + path, {
        method,
        headers: { Authorization: `Bearer ${hub.apiKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const issued = await api('POST', '/v1/cards', { template_id: hub.templateId, customer: { phone, name: 'Sale Tester' } });
    assert.equal(issued.status, 201);
    s.card = issued.body;
  });

  after(async () => {
    if (hub && !hub.exit) await hub.stop();
  });

  it('the hub reports the event names the selects offer, sale_refunded included', async () => {
    const samples = await api('GET', '/v1/events/samples');
    assert.equal(samples.status, 200);
    const reported = samples.body.data.map((e) => e.event);
    assert.ok(reported.includes('sale_refunded'));
    assert.deepEqual(reported, eventNamesFromOpenAPI());
    const pollOptions = app.modules.watchEventsPolling.code.staticParams.find((p) => p.name === 'type').options.map((o) => o.value);
    assert.deepEqual(pollOptions, reported);
    const hookOptions = app.webhooks.hubEvent.code.params.find((p) => p.name === 'event').options.map((o) => o.value);
    assert.deepEqual(hookOptions, [...reported, '*']);
  });

  it('action recordSale: a sale for a customer with a card adds its stamps and returns the card', async () => {
    s.orderId = `M-${stamp}`;
    const params = {
      order_id: s.orderId,
      total: '12.40',
      currency: 'EUR',
      customer: { phone: phone.replace(/(\d{3})(\d{4})$/, ' $1 $2') },
      items: [
        { sku: 'LATTE', name: 'Latte', category: 'Coffee', quantity: '2', price: '3.20' },
        { sku: 'BUN', quantity: '0.5', price: '6.00' },
      ],
      closed_at: '2026-05-11T14:34:56+02:00',
    };
    const r = await make.runModule(app, 'recordSale', conn, params);
    assert.equal(r.statusCode, 201);
    // The body is the SaleInput: source defaults to make, money stays text.
    assert.deepEqual(JSON.parse(r.request.body), { source: 'make', ...params });
    assert.match(r.bundle.id, /^sale_/);
    assert.equal(r.bundle.status, 'applied');
    assert.equal(r.bundle.stamps_added, 1);
    assert.equal(r.bundle.total, '12.40');
    assert.equal(r.bundle.closed_at, '2026-05-11T12:34:56Z');
    assert.equal(r.bundle.customer_id, s.card.customer.id);
    assert.equal(r.bundle.card_id, s.card.id);
    assert.equal(r.bundle.card.id, s.card.id);
    assert.equal(r.bundle.card.stamps, 1);
    assert.deepEqual(r.bundle.items.map((i) => [i.sku, i.quantity, i.price]), [['LATTE', 2, '3.20'], ['BUN', 0.5, '6.00']]);
    assert.deepEqual(uncovered(r.bundle, iface('recordSale')), []);
    assert.deepEqual(Object.keys(r.bundle).sort(), iface('recordSale').map((f) => f.name).sort());
    s.sale = r.bundle;
  });

  it('action recordSale: the same order again returns the first sale and stamps nothing', async () => {
    const r = await make.runModule(app, 'recordSale', conn, { order_id: s.orderId, total: '99.00', currency: 'EUR', customer: { phone } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.bundle.id, s.sale.id);
    assert.equal(r.bundle.total, '12.40');
    assert.equal(r.bundle.stamps_added, 1);
    assert.equal((await api('GET', `/v1/cards/${s.card.id}`)).body.stamps_total, 1);
  });

  it('action recordSale: by card ID, with its own source; an empty customer collection is not sent', async () => {
    const r = await make.runModule(app, 'recordSale', conn, { source: 'web-shop', order_id: `W-${stamp}`, total: '5', currency: 'UAH', customer: { card_id: s.card.id } });
    assert.deepEqual(JSON.parse(r.request.body), { source: 'web-shop', order_id: `W-${stamp}`, customer: { card_id: s.card.id }, total: '5', currency: 'UAH' });
    assert.equal(r.bundle.status, 'applied');
    assert.equal(r.bundle.total, '5.00');
    assert.equal(r.bundle.card.stamps, 2);
    const none = await make.runModule(app, 'recordSale', conn, { order_id: `N-${stamp}`, total: '1', currency: 'EUR', customer: {} });
    assert.deepEqual(JSON.parse(none.request.body), { source: 'make', order_id: `N-${stamp}`, total: '1', currency: 'EUR' });
    assert.equal(none.bundle.status, 'unmatched');
  });

  it('action recordSale: a sale for an unknown phone is kept as unmatched', async () => {
    const r = await make.runModule(app, 'recordSale', conn, { order_id: `U-${stamp}`, total: '3.00', currency: 'EUR', customer: { phone: '+380500000001' } });
    assert.equal(r.statusCode, 201);
    assert.equal(r.bundle.status, 'unmatched');
    assert.equal(r.bundle.stamps_added, 0);
    assert.equal(r.bundle.customer.phone, '+380500000001');
    assert.equal(r.bundle.customer_id, null);
    assert.equal(r.bundle.card, null);
    assert.deepEqual(uncovered(r.bundle, iface('recordSale')), []);
  });

  it('action recordSale: a total the hub cannot read is a DataError with its 422', async () => {
    await assert.rejects(make.runModule(app, 'recordSale', conn, { order_id: `X-${stamp}`, total: '12,50', currency: 'EUR', customer: { phone } }), (e) => {
      assert.equal(e.type, 'DataError');
      assert.equal(e.statusCode, 422);
      assert.equal(e.message, '[422] the request has invalid fields (validation_failed)');
      assert.match(e.body.error.fields.total, /^must be a non-negative decimal string/);
      return true;
    });
    await assert.rejects(make.runModule(app, 'recordSale', conn, { order_id: `X-${stamp}`, total: '1' }), /required parameter "currency" is missing/);
  });

  it('the refund of the sale is a sale_refunded event that fits the trigger interfaces', async () => {
    const refund = await api('POST', `/v1/sales/make/${s.orderId}/refund`);
    assert.equal(refund.status, 200);
    assert.equal(refund.body.stamps_removed, 1);
    const run = await make.runTrigger(app, 'watchEventsPolling', conn, { type: 'sale_refunded' }, { data: {} });
    assert.equal(run.bundles.length, 1);
    const e = run.bundles[0];
    assert.equal(e.event, 'sale_refunded');
    assert.deepEqual(e.data, { stamps_removed: 1, sale: { id: s.sale.id, source: 'make', order_id: s.orderId } });
    assert.equal(e.card.id, s.card.id);
    assert.deepEqual(uncovered(e, iface('watchEventsPolling')), []);
    assert.deepEqual(uncovered(e, iface('watchEvents')), []);
    // The stamp_added of a sale names the sale too.
    const stamps = await api('GET', '/v1/events?type=stamp_added&limit=10');
    const fromSale = stamps.body.data.find((x) => x.data?.sale?.id === s.sale.id);
    assert.ok(fromSale, 'a stamp_added with data.sale');
    assert.deepEqual(uncovered(fromSale, iface('watchEvents')), []);
    const again = await make.runModule(app, 'recordSale', conn, { order_id: s.orderId, total: '12.40', currency: 'EUR' });
    assert.equal(again.bundle.status, 'refunded');
    assert.equal(again.bundle.stamps_removed, 1);
    assert.deepEqual(uncovered(again.bundle, iface('recordSale')), []);
  });
});

'use strict';

const zapier = require('zapier-platform-core');

const { App, appTester, createAccount, hub, uniqueEmail } = require('./support/helpers');
const EVENTS = require('../lib/events');
const eventSamples = require('../lib/samples/events.json');

const EVENT_NAMES = [
  'card_issued', 'card_saved', 'card_opened', 'stamp_added', 'goal_reached',
  'reward_issued', 'voucher_issued', 'voucher_redeemed', 'voucher_expired',
  'lottery_played', 'birthday_reached', 'inactivity_trigger', 'campaign_sent',
  'sale_refunded',
];

// The shape of a value: the same keys (recursively) and value types.
const shape = (value) => {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape(value[k])]));
  }
  return value === null ? 'null' : typeof value;
};

describe('the app definition', () => {
  it('passes the platform schema validation', async () => {
    const handler = zapier.createAppHandler(App);
    const result = await new Promise((resolve, reject) =>
      handler({ command: 'validate', calledFromCli: true }, {}, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(result.results).toEqual([]);
  });

  it('has one instant trigger per event name, all from the factory', () => {
    expect(EVENTS.map((e) => e.event)).toEqual(EVENT_NAMES);
    const hookTriggers = Object.values(App.triggers).filter((t) => t.operation.type === 'hook');
    expect(hookTriggers.map((t) => t.key).sort()).toEqual([...EVENT_NAMES].sort());
    for (const trigger of hookTriggers) {
      expect(trigger.operation.sample.event).toBe(trigger.key);
      expect(trigger.operation.sample.id).toMatch(/^evt_/);
      expect(trigger.display.description).toMatch(/^Triggers (when|on) /);
      const keys = trigger.operation.outputFields.map((f) => f.key);
      expect(keys).toEqual(expect.arrayContaining(['id', 'event', 'timestamp']));
    }
  });

});

describe('instant triggers against the hub', () => {
  let account;

  beforeAll(async () => {
    account = await createAccount('triggers');
  });

  // On an account without events the hub answers made-up samples; the app's
  // stored samples (lib/samples/events.json) must keep their shape.
  it("keeps each trigger's sample in the shape of the hub's samples", async () => {
    const { body } = await account.call('/v1/events/samples');
    // One sample per event type of the hub, in its order: the app has a
    // trigger for every event the hub reports, and no other.
    expect(body.data.map((e) => e.event)).toEqual(EVENT_NAMES);
    for (const live of body.data) {
      expect({ event: live.event, shape: shape(eventSamples[live.event]) }).toEqual({
        event: live.event,
        shape: shape(live),
      });
    }
  });

  describe.each(EVENT_NAMES)('%s', (event) => {
    const operation = () => App.triggers[event].operation;

    it('subscribes a REST hook and unsubscribes it', async () => {
      const targetUrl = `http://127.0.0.1:9/zapier/${event}`;
      const hook = await appTester(operation().performSubscribe, { authData: account.authData, targetUrl });
      expect(hook).toMatchObject({ event, target_url: targetUrl, status: 'active' });
      expect(hook.id).toMatch(/^hk_/);
      expect(hook.secret).toMatch(/^whsec_/);

      const listed = await account.call('/v1/hooks?limit=100');
      expect(listed.body.data.map((h) => h.id)).toContain(hook.id);

      await appTester(operation().performUnsubscribe, {
        authData: account.authData,
        targetUrl,
        subscribeData: hook,
      });
      const after = await account.call('/v1/hooks?limit=100');
      expect(after.body.data.map((h) => h.id)).not.toContain(hook.id);
      expect((await account.call(`/v1/hooks/${hook.id}`)).status).toBe(404);
    });

    it('returns the delivered event from perform', async () => {
      const sample = eventSamples[event];
      const results = await appTester(operation().perform, {
        authData: account.authData,
        cleanedRequest: sample,
      });
      expect(results).toEqual([sample]);
    });

    it('lists the hub samples while the account has no such event', async () => {
      const results = await appTester(operation().performList, { authData: account.authData });
      expect(results.length).toBeGreaterThanOrEqual(1);
      for (const item of results) {
        expect(item.event).toBe(event);
        expect(item.id).toMatch(/^evt_/);
      }
      expect(results[0].id).toBe(eventSamples[event].id);
    });
  });

  it('ignores a delivered event of another name', async () => {
    const results = await appTester(App.triggers.card_issued.operation.perform, {
      authData: account.authData,
      cleanedRequest: eventSamples.voucher_redeemed,
    });
    expect(results).toEqual([]);
  });

  it('unsubscribes by target URL when the hook id is unknown', async () => {
    const targetUrl = 'http://127.0.0.1:9/zapier/legacy';
    const hook = await appTester(App.triggers.stamp_added.operation.performSubscribe, {
      authData: account.authData,
      targetUrl,
    });
    await appTester(App.triggers.stamp_added.operation.performUnsubscribe, {
      authData: account.authData,
      targetUrl,
      subscribeData: {},
    });
    expect((await account.call(`/v1/hooks/${hook.id}`)).status).toBe(404);
  });

  it('lists real events, newest first, once they happen', async () => {
    const email = uniqueEmail('list');
    const issued = await account.call('/v1/cards', {
      method: 'POST',
      body: { template_id: account.templateId, customer: { email } },
    });
    expect(issued.status).toBe(201);
    const stamped = await account.call(`/v1/cards/${issued.body.id}/stamps`, { method: 'POST', body: { count: 5 } });
    expect(stamped.status).toBe(200);

    const cards = await appTester(App.triggers.card_issued.operation.performList, { authData: account.authData });
    expect(cards).toHaveLength(1);
    expect(cards[0]).toMatchObject({
      event: 'card_issued',
      business_id: account.businessId,
      customer: { email },
      card: { id: issued.body.id },
    });
    expect(cards[0].id).not.toBe(eventSamples.card_issued.id);

    const rewards = await appTester(App.triggers.reward_issued.operation.performList, { authData: account.authData });
    expect(rewards).toHaveLength(1);
    expect(rewards[0].voucher.redeem_code).toBe(stamped.body.rewards[0].redeem_code);

    // The stamp_added, goal_reached and reward_issued ids of the stamp call.
    const stampIds = stamped.body.events.map((e) => e.id);
    const stamps = await appTester(App.triggers.stamp_added.operation.performList, { authData: account.authData });
    expect(stampIds).toContain(stamps[0].id);
    expect(stamps[0].data.count).toBe(5);
  });

  it('feeds the Card Template dropdown', async () => {
    const templates = await appTester(App.triggers.card_templates.operation.perform, { authData: account.authData });
    expect(templates).toEqual([expect.objectContaining({ id: account.templateId, name: 'Coffee card' })]);
    expect(App.triggers.card_templates.display.hidden).toBe(true);
    expect(hub().templateId).toMatch(/^tpl_/);
  });
});

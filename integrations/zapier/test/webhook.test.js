'use strict';

// One real instant trigger, end to end: the app subscribes a local receiver,
// a card is issued through the app, and the hub's workers deliver the
// card_issued event with Standard Webhooks headers.

const crypto = require('crypto');
const http = require('http');

const { App, appTester, createAccount, uniqueEmail } = require('./support/helpers');

// A receiver on loopback that records every POST and answers 200.
const startReceiver = () =>
  new Promise((resolve) => {
    const received = [];
    const waiters = [];
    const server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => {
        raw += chunk;
      });
      req.on('end', () => {
        const delivery = { method: req.method, url: req.url, headers: req.headers, raw };
        received.push(delivery);
        waiters.splice(0).forEach((wake) => wake());
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
      });
    });
    // The first delivery matching `match`, or a rejection after timeoutMs.
    const next = (match, timeoutMs) =>
      new Promise((done, fail) => {
        const deadline = setTimeout(() => fail(new Error(`no delivery within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          const found = received.find(match);
          if (found) {
            clearTimeout(deadline);
            done(found);
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        received,
        next,
        close: () => new Promise((closed) => server.close(closed)),
      });
    });
  });

// Standard Webhooks: v1,base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)),
// key = base64-decoded secret after `whsec_`.
const expectedSignature = (secret, id, timestamp, body) => {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
};

describe('card_issued delivered to a subscribed hook', () => {
  let account;
  let receiver;
  let hook;
  const trigger = App.triggers.card_issued.operation;

  beforeAll(async () => {
    account = await createAccount('webhook');
    receiver = await startReceiver();
  });

  afterAll(async () => {
    if (hook) {
      await appTester(trigger.performUnsubscribe, { authData: account.authData, subscribeData: hook });
    }
    if (receiver) await receiver.close();
  });

  it('arrives signed within 10 s and passes through perform', async () => {
    const targetUrl = `${receiver.url}/hooks/standard/card_issued`;
    hook = await appTester(trigger.performSubscribe, { authData: account.authData, targetUrl });

    const email = uniqueEmail('webhook');
    const card = await appTester(App.creates.issue_card.operation.perform, {
      authData: account.authData,
      inputData: { template_id: account.templateId, email, name: 'Hook Ann' },
    });
    expect(card.newly_issued).toBe(true);

    const delivery = await receiver.next((d) => d.url === '/hooks/standard/card_issued', 10000);
    const event = JSON.parse(delivery.raw);
    expect(delivery.method).toBe('POST');
    expect(delivery.headers['content-type']).toMatch(/^application\/json/);
    expect(event).toMatchObject({
      event: 'card_issued',
      business_id: account.businessId,
      customer: { email, name: 'Hook Ann' },
      card: { id: card.id, template_id: account.templateId },
    });

    // Standard Webhooks headers.
    const id = delivery.headers['webhook-id'];
    const timestamp = delivery.headers['webhook-timestamp'];
    expect(id).toBe(event.id);
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
    const signatures = delivery.headers['webhook-signature'].split(' ');
    expect(signatures).toContain(`v1,${expectedSignature(hook.secret, id, timestamp, delivery.raw)}`);

    // What Zapier would run on this delivery.
    const results = await appTester(trigger.perform, { authData: account.authData, cleanedRequest: event });
    expect(results).toEqual([event]);

    // The event id is stable: the polling feed has the same one.
    const [listed] = await appTester(trigger.performList, { authData: account.authData });
    expect(listed.id).toBe(event.id);
  });
});

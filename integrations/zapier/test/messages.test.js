'use strict';

// Send Message (POST /v1/messages) against a real hub, in a business of its
// own: first no channel can reach the customer (422 naming `channels`), then
// the email channel is pointed at a local SMTP server (test/support/smtp-server.js)
// and the customer's email consent is granted, so the message goes out.

const { App, appTester, createAccount, errorDetails, thrown, uniqueEmail } = require('./support/helpers');
const { startSmtpServer } = require('./support/smtp-server');
const resources = require('../lib/samples/resources.json');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Send Message', () => {
  let account;
  let smtp;
  let customer;
  let template;
  const email = uniqueEmail('msg');
  const send = (inputData) =>
    appTester(App.creates.send_message.operation.perform, { authData: account.authData, inputData });

  // The delivery once a worker has handled it (sent or failed), within 10 s.
  const settled = async (id) => {
    const deadline = Date.now() + 10000;
    for (;;) {
      const { status, body } = await account.call(`/v1/deliveries/${id}`);
      expect(status).toBe(200);
      if (!['pending', 'sending'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`delivery ${id} still ${body.status} after 10 s`);
      await sleep(50);
    }
  };

  beforeAll(async () => {
    account = await createAccount('messages');
    smtp = await startSmtpServer();
    const card = await account.call('/v1/cards', {
      method: 'POST',
      body: { template_id: account.templateId, customer: { email, name: 'Ann' } },
    });
    expect(card.status).toBe(201);
    customer = card.body.customer;
  });

  afterAll(async () => {
    if (smtp) await smtp.close();
  });

  it('is a create with the sample of a real delivery', () => {
    const create = App.creates.send_message;
    expect(create.operation.sample).toEqual(resources.delivery);
    expect(Object.keys(create.operation.sample).sort()).toEqual(
      ['attempts', 'channel', 'created_at', 'customer_id', 'error', 'id', 'provider', 'provider_message_id',
        'provider_status', 'sent_at', 'source', 'status', 'transactional', 'updated_at'],
    );
    const input = Object.fromEntries(create.operation.inputFields.map((f) => [f.key, f]));
    expect(input.template_id.dynamic).toBe('message_templates.id.name');
    expect(Object.keys(input.channels.choices)).toEqual(['messengers', 'push', 'email', 'telegram', 'whatsapp', 'viber']);
    expect(input.channels.list).toBe(true);
    expect(input.transactional).toMatchObject({ type: 'boolean', default: 'false' });
    expect(input.transactional.helpText).toBe('receipts and codes: ignores quiet hours and frequency caps');
    expect(input.data.dict).toBe(true);
  });

  it('surfaces 422 "no channel in the order can reach the customer"', async () => {
    const details = errorDetails(await thrown(() => send({ customer_id: customer.id, text: 'Hello' })));
    expect(details).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(details.message).toMatch(/^validation_failed: no channel in the order can reach the customer \(channels: /);
  });

  it('surfaces 404 for an unknown customer, and explains missing inputs', async () => {
    const details = errorDetails(await thrown(() => send({ email: uniqueEmail('nobody'), text: 'Hello' })));
    expect(details).toMatchObject({ code: 'not_found', status: 404 });
    expect(details.message).toBe('not_found: customer not found');
    expect(errorDetails(await thrown(() => send({ text: 'Hello' }))).message).toMatch(/email or the customer phone/);
    expect(errorDetails(await thrown(() => send({ customer_id: customer.id }))).message).toMatch(/Message Template or a Text/);
  });

  it('sends a text by email once the channel is configured and the customer consents', async () => {
    const put = await account.call('/v1/channels/email', {
      method: 'PUT',
      body: { host: smtp.host, port: smtp.port, tls: 'none', from: 'hello@cafe.test' },
    });
    expect(put.status).toBe(200);
    // A configured channel is not enough: the customer has not consented.
    const details = errorDetails(await thrown(() => send({ customer_id: customer.id, text: 'Hello' })));
    expect(details.message).toMatch(/no channel in the order can reach the customer/);

    const consent = await account.call(`/v1/customers/${customer.id}`, { method: 'PATCH', body: { consent: { email: true } } });
    expect(consent.status).toBe(200);

    const delivery = await send({
      customer_id: customer.id,
      text: 'Your table is ready.',
      subject: 'Table',
      channels: ['messengers', 'email'],
      transactional: 'true',
    });
    expect(delivery.id).toMatch(/^dlv_/);
    expect(['pending', 'sending', 'sent']).toContain(delivery.status);
    expect(delivery).toMatchObject({ customer_id: customer.id, channel: 'email', transactional: true });
    expect(Object.keys(delivery).sort()).toEqual(Object.keys(resources.delivery).sort());

    const done = await settled(delivery.id);
    expect(done).toMatchObject({ status: 'sent', provider: 'email', attempts: 1 });
    const mail = smtp.messages.find((m) => m.data.includes(`X-Hub-Delivery: ${delivery.id}`));
    expect(mail.to).toEqual([email]);
    expect(mail.data).toMatch(/^Subject: Table\r$/m);
    expect(mail.data).toContain('Your table is ready.');
  });

  it('lists the message templates for the dropdown, and renders one with data by customer email', async () => {
    const created = await account.call('/v1/message-templates', {
      method: 'POST',
      body: {
        name: 'Receipt',
        variants: [
          { language: 'en', kind: 'email', subject: 'Order {{ data.order }}', text: 'Hi {{ customer.name }}, order {{ data.order }} is ready.' },
          { language: 'en', kind: 'text', text: 'Order {{ data.order }} is ready.' },
        ],
      },
    });
    expect(created.status).toBe(201);
    template = created.body;

    const options = await appTester(App.triggers.message_templates.operation.perform, { authData: account.authData });
    // A new business also has the ready-made automations' templates: the
    // dropdown lists what the API lists, newest first.
    const listed = await account.call('/v1/message-templates?limit=100');
    expect(options.map((o) => o.id)).toEqual(listed.body.data.map((t) => t.id));
    expect(options[0]).toEqual(expect.objectContaining({ id: template.id, name: 'Receipt' }));
    expect(App.triggers.message_templates.display.hidden).toBe(true);

    const delivery = await send({ email: email.toUpperCase(), template_id: template.id, data: { order: 'A-17' } });
    expect(delivery.id).toMatch(/^dlv_/);
    expect(delivery).toMatchObject({ customer_id: customer.id, channel: 'email', transactional: false });
    expect(['pending', 'sending', 'sent']).toContain(delivery.status);
    // A new business has no quiet hours and no frequency cap, so it goes out at once.
    const done = await settled(delivery.id);
    expect(done.status).toBe('sent');
    const mail = smtp.messages.find((m) => m.data.includes(`X-Hub-Delivery: ${delivery.id}`));
    expect(mail.data).toMatch(/^Subject: Order A-17\r$/m);
    expect(mail.data).toContain('Hi Ann, order A-17 is ready.');
  });

  it('surfaces a refused channel name and a template plus a text', async () => {
    let details = errorDetails(await thrown(() => send({ customer_id: customer.id, text: 'x', channels: ['sms'] })));
    expect(details).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(details.message).toMatch(/channels\[0\]: must be one of/);
    details = errorDetails(await thrown(() => send({ customer_id: customer.id, text: 'x', template_id: template.id })));
    expect(details.message).toMatch(/text: give template_id or text, not both/);
  });
});

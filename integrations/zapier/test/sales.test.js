'use strict';

// Record Sale (POST /v1/sales) against a real hub, in a business of its own
// whose card template keeps the default earning rule (one stamp per sale):
// a sale for a customer with a card stamps it, the same order again returns
// the first result, an unknown customer leaves the sale unmatched, a total
// the hub cannot read fails with the hub's 422, and a refund reaches the
// sale_refunded trigger.

const { App, appTester, createAccount, errorDetails, thrown, uniqueEmail } = require('./support/helpers');
const { saleBody } = require('../lib/sale-body');
const resources = require('../lib/samples/resources.json');

// The shape of a value: the same keys (recursively) and value types.
const shape = (value) => {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape(value[k])]));
  }
  return value === null ? 'null' : typeof value;
};

const uniquePhone = (() => {
  let n = 0;
  return () => {
    n += 1;
    return `+38067${String(Date.now() + n).slice(-7)}`;
  };
})();

const uniqueOrder = (label) => `${label}-${Date.now().toString(36)}-${process.pid}`;

describe('Record Sale: the definition and the body it sends', () => {
  const create = App.creates.record_sale;

  it('is a create with money and quantities as text fields, and line items', () => {
    expect(create).toMatchObject({ key: 'record_sale', noun: 'Sale', display: { label: 'Record Sale' } });
    const input = Object.fromEntries(create.operation.inputFields.map((f) => [f.key, f]));
    expect(Object.keys(input)).toEqual([
      'source', 'order_id', 'total', 'currency', 'card_id', 'phone', 'email', 'location_id', 'items', 'closed_at',
    ]);
    expect(input.source.default).toBe('zapier');
    expect(input.total).toMatchObject({ type: 'string', required: true });
    expect(input.order_id.required).toBe(true);
    expect(input.currency.required).toBe(true);
    expect(input.closed_at.type).toBe('datetime');
    const children = Object.fromEntries(input.items.children.map((f) => [f.key, f]));
    expect(Object.keys(children)).toEqual(['sku', 'name', 'category', 'quantity', 'price']);
    expect(children.price.type).toBe('string');
    expect(children.quantity.type).toBe('string');
    const outputs = create.operation.outputFields.map((f) => f.key);
    expect(outputs).toEqual(expect.arrayContaining(['id', 'status', 'stamps_added', 'card_id', 'card__stamps']));
    expect(create.operation.sample).toEqual(resources.sale);
  });

  it('maps the inputs to the body exactly: money as strings, one customer key, clean line items', () => {
    expect(
      saleBody({
        order_id: ' A-1 ',
        total: 12.5,
        currency: 'eur',
        phone: '+380671234567',
        email: 'ann@example.com',
        location_id: '',
        items: [
          { sku: 'LATTE', name: 'Latte', category: 'Coffee', quantity: '2', price: '3.20' },
          { sku: 'BUN', quantity: 0.5, price: 6 },
          { sku: '', name: '', quantity: '', price: '' },
        ],
        closed_at: '2026-05-11T12:34:56+02:00',
      }),
    ).toEqual({
      source: 'zapier',
      order_id: 'A-1',
      customer: { phone: '+380671234567' },
      total: '12.5',
      currency: 'EUR',
      items: [
        { sku: 'LATTE', name: 'Latte', category: 'Coffee', quantity: '2', price: '3.20' },
        { sku: 'BUN', quantity: 0.5, price: '6' },
      ],
      closed_at: '2026-05-11T12:34:56+02:00',
    });
    // The first of card, phone and email wins; none leaves the customer out.
    expect(saleBody({ order_id: '1', total: '1', currency: 'EUR', card_id: 'card_x', phone: '+1', email: 'a@b.c' }).customer)
      .toEqual({ card_id: 'card_x' });
    expect(saleBody({ order_id: '1', total: '1', currency: 'EUR', email: 'a@b.c' }).customer).toEqual({ email: 'a@b.c' });
    expect(saleBody({ source: 'shopify', order_id: '1', total: '1.00', currency: 'EUR' })).toEqual({
      source: 'shopify', order_id: '1', total: '1.00', currency: 'EUR',
    });
  });
});

describe('Record Sale against the hub', () => {
  let account;
  let card;
  const phone = uniquePhone();
  const email = uniqueEmail('sale');
  const record = (inputData) =>
    appTester(App.creates.record_sale.operation.perform, { authData: account.authData, inputData });

  beforeAll(async () => {
    account = await createAccount('sales');
    const issued = await account.call('/v1/cards', {
      method: 'POST',
      body: { template_id: account.templateId, customer: { phone, email, name: 'Ann' } },
    });
    expect(issued.status).toBe(201);
    card = issued.body;
  });

  let first;
  const orderId = uniqueOrder('A');

  it("records a sale for a customer with a card: the stamps are added and the card is returned", async () => {
    first = await record({
      order_id: orderId,
      total: '12.40',
      currency: 'EUR',
      phone: phone.replace(/(\d{3})(\d{4})$/, ' $1 $2'),
      items: [
        { sku: 'LATTE', name: 'Latte', category: 'Coffee', quantity: '2', price: '3.20' },
        { sku: 'BUN', quantity: '1', price: '6.00' },
      ],
      closed_at: '2026-05-11T14:34:56+02:00',
    });
    expect(first).toMatchObject({
      source: 'zapier',
      order_id: orderId,
      status: 'applied',
      stamps_added: 1,
      customer_id: card.customer.id,
      card_id: card.id,
      total: '12.40',
      currency: 'EUR',
      closed_at: '2026-05-11T12:34:56Z',
      customer: { phone },
      items: [
        { sku: 'LATTE', name: 'Latte', category: 'Coffee', quantity: 2, price: '3.20' },
        { sku: 'BUN', name: null, category: null, quantity: 1, price: '6.00' },
      ],
      card: { id: card.id, stamps: 1, stamps_total: 1 },
    });
    expect(first.id).toMatch(/^sale_/);
    // The stored sample has the shape of a real answer.
    expect(shape(resources.sale)).toEqual(shape(first));
  });

  it('returns the first result when the same order comes again, without stamping twice', async () => {
    const again = await record({ order_id: orderId, total: '99.00', currency: 'EUR', phone });
    expect(again).toMatchObject({ id: first.id, status: 'applied', stamps_added: 1, total: '12.40' });
    const now = await account.call(`/v1/cards/${card.id}`);
    expect(now.body.stamps_total).toBe(1);
  });

  it('stamps the card named by Card ID, which wins over phone and email', async () => {
    const sale = await record({
      source: 'web-shop',
      order_id: uniqueOrder('B'),
      total: '5',
      currency: 'uah',
      card_id: card.id,
      phone: uniquePhone(),
      email: uniqueEmail('other'),
    });
    expect(sale).toMatchObject({
      source: 'web-shop',
      status: 'applied',
      stamps_added: 1,
      card_id: card.id,
      total: '5.00',
      currency: 'UAH',
      customer: { card_id: card.id, phone: null, email: null },
      card: { stamps: 2 },
    });
  });

  it('keeps a sale for an unknown phone as unmatched', async () => {
    const stranger = uniquePhone();
    const sale = await record({ order_id: uniqueOrder('C'), total: '3.00', currency: 'EUR', phone: stranger });
    expect(sale).toMatchObject({
      status: 'unmatched',
      stamps_added: 0,
      customer: { phone: stranger },
      customer_id: null,
      card_id: null,
      card: null,
    });
  });

  it("surfaces the hub's 422 for a total it cannot read", async () => {
    const details = errorDetails(
      await thrown(() => record({ order_id: uniqueOrder('D'), total: '12,50', currency: 'EUR', phone })),
    );
    expect(details).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(details.message).toBe(
      'validation_failed: the request has invalid fields ' +
        '(total: must be a non-negative decimal string with at most 4 decimals, such as "12.50")',
    );
    const sales = await account.call('/v1/sales?limit=100');
    expect(sales.body.data.map((s) => s.total)).not.toContain('12.50');
  });

  it('shows the refund of a sale in the sale_refunded trigger', async () => {
    const refund = await account.call(`/v1/sales/zapier/${encodeURIComponent(orderId)}/refund`, { method: 'POST' });
    expect(refund.status).toBe(200);
    expect(refund.body.stamps_removed).toBe(1);
    const events = await appTester(App.triggers.sale_refunded.operation.performList, { authData: account.authData });
    expect(events[0]).toMatchObject({
      event: 'sale_refunded',
      business_id: account.businessId,
      customer: { id: card.customer.id },
      card: { id: card.id },
      data: { stamps_removed: 1, sale: { id: first.id, source: 'zapier', order_id: orderId } },
    });
    const again = await record({ order_id: orderId, total: '12.40', currency: 'EUR', phone });
    expect(again).toMatchObject({ id: first.id, status: 'refunded', stamps_removed: 1 });
  });
});

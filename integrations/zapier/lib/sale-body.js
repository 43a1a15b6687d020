'use strict';

// The body of POST /v1/sales (SaleInput of the hub's OpenAPI document) from
// the inputs of Record Sale, kept apart so tests can check the mapping.

const { compact } = require('./http');

// Money goes to the hub as a decimal string ("12.50"), never as a number:
// whatever Zapier hands over (a string, or a number mapped from another
// step) is sent as its text, trimmed. A value the hub cannot read ("12,50")
// is sent as given, so the step fails with the hub's own 422 message.
const money = (value) => (value === undefined || value === null ? undefined : String(value).trim());

// A quantity may be a JSON number or a decimal string; a number stays a
// number, anything else is sent as trimmed text.
const quantity = (value) => {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' ? value : String(value).trim();
};

const text = (value) => {
  if (value === undefined || value === null) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
};

// The customer as the hub reads it: exactly one of card_id, phone or email,
// the first one given in that order (the hub's own order), so a mapped but
// unused field cannot make the request invalid. Without any, the sale is
// recorded as unmatched.
const saleCustomer = (input) => {
  const cardId = text(input.card_id);
  if (cardId) return { card_id: cardId };
  const phone = text(input.phone);
  if (phone) return { phone };
  const email = text(input.email);
  if (email) return { email };
  return undefined;
};

// Zapier line items (the `items` group) arrive as an array of objects, one
// per line; a single object is one line. Rows with nothing filled in are
// dropped (the editor may send an empty one).
const saleItems = (value) => {
  if (value === undefined || value === null || value === '') return undefined;
  const rows = (Array.isArray(value) ? value : [value]).filter(
    (row) => row && typeof row === 'object' && Object.values(row).some((v) => v !== undefined && v !== null && v !== ''),
  );
  if (!rows.length) return undefined;
  return rows.map((row) =>
    compact({
      sku: text(row.sku),
      name: text(row.name),
      category: text(row.category),
      quantity: quantity(row.quantity),
      price: money(row.price),
    }),
  );
};

// The body of POST /v1/sales (SaleInput of the OpenAPI document).
const saleBody = (input) =>
  compact({
    source: text(input.source) || 'zapier',
    order_id: text(input.order_id),
    location_id: text(input.location_id),
    customer: saleCustomer(input),
    total: money(input.total),
    currency: text(input.currency) && text(input.currency).toUpperCase(),
    items: saleItems(input.items),
    closed_at: text(input.closed_at),
  });

module.exports = { money, quantity, saleBody, saleCustomer, saleItems };

'use strict';

const fields = require('../fields');
const { saleBody } = require('../sale-body');
const resources = require('../samples/resources.json');

// POST /v1/sales: one closed check. The hub applies the earning rule of the
// customer's card once per (source, order_id): 201 for a new order, 200 with
// the first result when the same order comes again (Zapier replaying a step
// adds no stamps twice). A customer the hub does not find is not an error:
// the sale is kept with status `unmatched`.
const perform = async (z, bundle) => {
  const response = await z.request({
    method: 'POST',
    url: '/v1/sales',
    body: saleBody(bundle.inputData),
  });
  return response.data;
};

module.exports = {
  key: 'record_sale',
  noun: 'Sale',
  display: {
    label: 'Record Sale',
    description:
      "Records a closed check (order) and adds the stamps the card's earning rule gives, once per order ID. The customer is found by card ID, phone or email.",
  },
  operation: {
    perform,
    inputFields: [
      {
        key: 'source',
        label: 'Source',
        type: 'string',
        default: 'zapier',
        helpText:
          'Where the order comes from: 1–32 of `a-z`, `0-9`, `_` and `-` (e.g. `shopify`). Source and Order ID together are unique: the same order again returns the first result.',
      },
      {
        key: 'order_id',
        label: 'Order ID',
        type: 'string',
        required: true,
        helpText: 'The id of the check or order in your system (1–128 printable characters, no spaces).',
      },
      {
        key: 'total',
        label: 'Total',
        type: 'string',
        required: true,
        helpText: 'The amount paid, as a decimal with a dot and at most 4 decimals, e.g. `12.50`.',
      },
      {
        key: 'currency',
        label: 'Currency',
        type: 'string',
        required: true,
        helpText: 'The ISO 4217 code, e.g. `EUR`, `UAH`, `USD`.',
      },
      {
        key: 'card_id',
        label: 'Card ID',
        type: 'string',
        helpText:
          'The `card_…` to stamp. The customer is named by the first of Card ID, Customer Phone and Customer Email that is filled in; with none, the sale is kept as unmatched.',
      },
      fields.phone({ helpText: 'Used when no Card ID is given. With the country code, e.g. `+380 67 123 45 67`.' }),
      fields.email({ helpText: 'Used when neither Card ID nor Customer Phone is given.' }),
      fields.locationId,
      {
        key: 'items',
        label: 'Line Items',
        // Zapier refuses a helpText next to children; the SKU's explains the
        // group. No child is `required`, so that the group stays optional; the
        // hub names a line without SKU, quantity or price (`items[0].price`).
        children: [
          {
            key: 'sku',
            label: 'SKU',
            type: 'string',
            helpText: 'Optional lines of the check (earning rules may count items or categories); each line needs SKU, Quantity and Unit Price.',
          },
          { key: 'name', label: 'Name', type: 'string' },
          { key: 'category', label: 'Category', type: 'string' },
          { key: 'quantity', label: 'Quantity', type: 'string', helpText: 'Needed for each line: e.g. `2` or `0.5`.' },
          { key: 'price', label: 'Unit Price', type: 'string', helpText: 'Needed for each line: a decimal with a dot, e.g. `3.20`.' },
        ],
      },
      {
        key: 'closed_at',
        label: 'Closed At',
        type: 'datetime',
        helpText: 'Optional: when the check was closed.',
      },
    ],
    sample: resources.sale,
    outputFields: [
      { key: 'id', label: 'Sale ID' },
      { key: 'status', label: 'Status (applied, unmatched, refunded)' },
      { key: 'stamps_added', label: 'Stamps Added', type: 'integer' },
      { key: 'source', label: 'Source' },
      { key: 'order_id', label: 'Order ID' },
      { key: 'total', label: 'Total' },
      { key: 'currency', label: 'Currency' },
      { key: 'location_id', label: 'Location ID' },
      { key: 'customer_id', label: 'Customer ID' },
      { key: 'card_id', label: 'Card ID' },
      { key: 'closed_at', label: 'Closed At', type: 'datetime' },
      { key: 'created_at', label: 'Recorded At', type: 'datetime' },
      { key: 'card__stamps', label: 'Card Stamps (Current Cycle)', type: 'integer' },
      { key: 'card__stamps_total', label: 'Card Stamps (All Time)', type: 'integer' },
      { key: 'card__goal_index', label: 'Card Goal in Progress (0-based)', type: 'integer' },
      { key: 'card__page_url', label: 'Card Page URL' },
      { key: 'card__customer__email', label: 'Customer Email' },
      { key: 'card__customer__phone', label: 'Customer Phone' },
      { key: 'card__customer__name', label: 'Customer Name' },
    ],
  },
};

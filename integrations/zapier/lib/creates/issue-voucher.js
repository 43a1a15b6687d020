'use strict';

const { compact } = require('../http');
const fields = require('../fields');
const resources = require('../samples/resources.json');

// POST /v1/vouchers. The holder is a card (card_id) or a customer by email or
// phone (created when unknown); the voucher is a template or a custom title.
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  if (!input.card_id) {
    fields.requireEmailOrPhone(z, input);
  }
  if (!input.voucher_template_id && !input.title) {
    throw new z.errors.Error('Give a Title or a Voucher Template ID.', 'invalid_input', 422);
  }
  const response = await z.request({
    method: 'POST',
    url: '/v1/vouchers',
    body: compact({
      card_id: input.card_id,
      customer: input.card_id ? undefined : compact({ email: input.email, phone: input.phone }),
      voucher_template_id: input.voucher_template_id,
      title: input.title,
      description: input.description,
      redeem_code: input.redeem_code,
      expires_at: input.expires_at,
      location_id: input.location_id,
    }),
  });
  return response.data;
};

module.exports = {
  key: 'issue_voucher',
  noun: 'Voucher',
  display: {
    label: 'Issue Voucher',
    description: 'Issues a voucher to a customer (by card ID, or by email or phone).',
  },
  operation: {
    perform,
    inputFields: [
      {
        key: 'card_id',
        label: 'Card ID',
        type: 'string',
        helpText: 'Issue to the holder of this `card_…`. Leave empty to name the customer by email or phone.',
      },
      fields.email({ helpText: 'Used when no Card ID is given; the customer is created when unknown.' }),
      fields.phone(),
      { key: 'title', label: 'Title', type: 'string', helpText: 'Required unless a Voucher Template ID is given.' },
      { key: 'description', label: 'Description', type: 'text' },
      { key: 'voucher_template_id', label: 'Voucher Template ID', type: 'string', helpText: 'Optional `vt_…` id.' },
      fields.redeemCode({
        required: false,
        helpText: 'Your own code (3–64 letters, digits, `-`, `_`); generated when left empty.',
      }),
      { key: 'expires_at', label: 'Expires At', type: 'datetime' },
      fields.locationId,
    ],
    sample: resources.voucher,
    outputFields: [
      { key: 'id', label: 'Voucher ID' },
      { key: 'redeem_code', label: 'Redeem Code' },
      { key: 'status', label: 'Status' },
      { key: 'expires_at', label: 'Expires At', type: 'datetime' },
    ],
  },
};

'use strict';

const { compact } = require('../http');
const fields = require('../fields');
const resources = require('../samples/resources.json');

// Adds stamps either to a card named by id (POST /v1/cards/{id}/stamps) or to
// the card of a customer found by email/phone (POST /v1/stamps; the template
// may be left out when the customer holds a single card). The answer carries
// the card, the events emitted and the reward vouchers of every goal crossed.
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  const common = {
    // Zapier may hand over integer fields as strings; the hub wants a number.
    count: input.count === undefined || input.count === '' ? undefined : Number(input.count),
    location_id: input.location_id,
    note: input.note,
  };
  let request;
  if (input.card_id) {
    request = {
      method: 'POST',
      url: `/v1/cards/${encodeURIComponent(input.card_id)}/stamps`,
      body: compact(common),
    };
  } else {
    fields.requireEmailOrPhone(z, input);
    request = {
      method: 'POST',
      url: '/v1/stamps',
      body: compact({
        customer: compact({ email: input.email, phone: input.phone }),
        template_id: input.template_id,
        ...common,
      }),
    };
  }
  const response = await z.request(request);
  return response.data;
};

module.exports = {
  key: 'add_stamps',
  noun: 'Stamp',
  display: {
    label: 'Add Stamps',
    description:
      'Adds stamps to a card, by card ID or by customer email/phone. Reaching a goal issues its reward voucher.',
  },
  operation: {
    perform,
    inputFields: [
      {
        key: 'card_id',
        label: 'Card ID',
        type: 'string',
        helpText: 'The `card_…` id. Leave empty to find the card by customer email or phone instead.',
      },
      fields.email({ helpText: 'Used when no Card ID is given.' }),
      fields.phone(),
      fields.templateId({
        required: false,
        helpText: 'Which card of the customer; needed only when they hold cards of several templates.',
      }),
      {
        key: 'count',
        label: 'Stamps',
        type: 'integer',
        default: '1',
        helpText: '1 to 100.',
      },
      { key: 'note', label: 'Note', type: 'string', helpText: 'Kept in the stamp event (e.g. an order number).' },
      fields.locationId,
    ],
    sample: resources.stamp_result,
    outputFields: [
      { key: 'card__id', label: 'Card ID' },
      { key: 'card__stamps', label: 'Stamps (Current Cycle)', type: 'integer' },
      { key: 'card__stamps_total', label: 'Stamps (All Time)', type: 'integer' },
      { key: 'rewards[]redeem_code', label: 'Reward Redeem Codes' },
      { key: 'rewards[]title', label: 'Reward Titles' },
    ],
  },
};

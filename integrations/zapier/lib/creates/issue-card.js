'use strict';

const { compact } = require('../http');
const fields = require('../fields');
const resources = require('../samples/resources.json');

// POST /v1/cards: finds or creates the customer by email/phone and issues a
// card of the template. When the customer already holds one, the hub answers
// 200 with that card, so the action is safe to repeat; `newly_issued` tells
// the two cases apart.
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  fields.requireEmailOrPhone(z, input);
  const response = await z.request({
    method: 'POST',
    url: '/v1/cards',
    body: compact({
      template_id: input.template_id,
      customer: compact({
        email: input.email,
        phone: input.phone,
        name: input.name,
        language: input.language,
        birthday: input.birthday,
      }),
      location_id: input.location_id,
    }),
  });
  return { ...response.data, newly_issued: response.status === 201 };
};

module.exports = {
  key: 'issue_card',
  noun: 'Card',
  display: {
    label: 'Issue Card',
    description:
      'Issues a loyalty card to a customer (found or created by email or phone). Returns the existing card if the customer already has one of this template.',
  },
  operation: {
    perform,
    inputFields: [
      fields.templateId({ required: true }),
      fields.email({ helpText: 'Email or phone is required; the customer is found by it or created.' }),
      fields.phone(),
      { key: 'name', label: 'Customer Name', type: 'string' },
      { key: 'birthday', label: 'Customer Birthday', type: 'string', helpText: '`YYYY-MM-DD`.' },
      { key: 'language', label: 'Customer Language', type: 'string', helpText: 'e.g. `en`, `uk`, `pt-BR`; default the business language.' },
      fields.locationId,
    ],
    sample: { ...resources.card, newly_issued: true },
    outputFields: [
      { key: 'id', label: 'Card ID' },
      { key: 'newly_issued', label: 'Newly Issued', type: 'boolean' },
      { key: 'customer__id', label: 'Customer ID' },
      { key: 'stamps', label: 'Stamps (Current Cycle)', type: 'integer' },
      { key: 'page_url', label: 'Card Page URL' },
    ],
  },
};

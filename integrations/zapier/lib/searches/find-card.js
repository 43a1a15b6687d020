'use strict';

const fields = require('../fields');
const { compact } = require('../http');
const resources = require('../samples/resources.json');

// GET /v1/cards?email=&phone=&template_id=. The input keys match those of the
// Issue Card action, so "Find Card, or Issue it" hands them over unchanged.
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  // Without a customer the hub would list every card of the business.
  fields.requireEmailOrPhone(z, input);
  const response = await z.request({
    url: '/v1/cards',
    params: compact({
      email: input.email,
      phone: input.phone,
      template_id: input.template_id,
    }),
  });
  return response.data.data;
};

module.exports = {
  key: 'find_card',
  noun: 'Card',
  display: {
    label: 'Find Card',
    description: "Finds a customer's card by email or phone, optionally of one card template.",
  },
  operation: {
    perform,
    inputFields: [
      fields.email(),
      fields.phone(),
      fields.templateId({ required: false, helpText: 'Only cards of this template.' }),
    ],
    sample: resources.card,
    outputFields: [
      { key: 'id', label: 'Card ID' },
      { key: 'customer__id', label: 'Customer ID' },
      { key: 'stamps', label: 'Stamps (Current Cycle)', type: 'integer' },
      { key: 'stamps_total', label: 'Stamps (All Time)', type: 'integer' },
      { key: 'page_url', label: 'Card Page URL' },
    ],
  },
};

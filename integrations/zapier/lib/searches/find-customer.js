'use strict';

const fields = require('../fields');
const { compact } = require('../http');
const resources = require('../samples/resources.json');

// GET /v1/customers?email=&phone= (both given: the customer must match both).
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  fields.requireEmailOrPhone(z, input);
  const response = await z.request({
    url: '/v1/customers',
    params: compact({ email: input.email, phone: input.phone }),
  });
  return response.data.data;
};

module.exports = {
  key: 'find_customer',
  noun: 'Customer',
  display: {
    label: 'Find Customer',
    description: 'Finds a customer by email or phone.',
  },
  operation: {
    perform,
    inputFields: [fields.email(), fields.phone()],
    sample: resources.customer,
    outputFields: [
      { key: 'id', label: 'Customer ID' },
      { key: 'email', label: 'Email' },
      { key: 'phone', label: 'Phone' },
      { key: 'name', label: 'Name' },
      { key: 'birthday', label: 'Birthday' },
    ],
  },
};

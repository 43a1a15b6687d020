'use strict';

const resources = require('../samples/resources.json');

// Hidden trigger behind the "Card Template" dropdowns of the actions and
// searches. A business has few templates; one page of 100 holds them all.
module.exports = {
  key: 'card_templates',
  noun: 'Card Template',
  display: {
    label: 'Card Templates',
    description: 'Lists the card templates of the business (for dropdowns).',
    hidden: true,
  },
  operation: {
    perform: async (z) => {
      const response = await z.request({ url: '/v1/card-templates', params: { limit: 100 } });
      return response.data.data;
    },
    sample: resources.card_template,
    outputFields: [
      { key: 'id', label: 'Template ID' },
      { key: 'name', label: 'Name' },
    ],
  },
};

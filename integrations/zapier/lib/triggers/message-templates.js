'use strict';

const resources = require('../samples/resources.json');

// Hidden trigger behind the "Message Template" dropdown of Send Message. A
// business has few message templates; one page of 100 holds them all.
module.exports = {
  key: 'message_templates',
  noun: 'Message Template',
  display: {
    label: 'Message Templates',
    description: 'Lists the message templates of the business (for dropdowns).',
    hidden: true,
  },
  operation: {
    perform: async (z) => {
      const response = await z.request({ url: '/v1/message-templates', params: { limit: 100 } });
      return response.data.data;
    },
    sample: resources.message_template,
    outputFields: [
      { key: 'id', label: 'Message Template ID' },
      { key: 'name', label: 'Name' },
    ],
  },
};

'use strict';

const { DEFAULT_BASE_URL } = require('./http');

// Custom auth: an API key of the hub plus the hub's URL (editable so that
// private deployments, staging and the tests' local hub can be used).
module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'api_key',
      label: 'API Key',
      type: 'password',
      required: true,
      helpText:
        'The `7loc_sc_…` API key of a staff login. Your hub operator creates it; it is shown only once.',
    },
    {
      key: 'base_url',
      label: 'Hub URL',
      type: 'string',
      required: false,
      default: DEFAULT_BASE_URL,
      helpText: `Leave as \`${DEFAULT_BASE_URL}\` unless your business runs its own hub.`,
    },
  ],
  // GET /v1/me answers for any valid key; its body becomes bundle.inputData
  // of the connection label.
  test: async (z) => {
    const response = await z.request({ url: '/v1/me' });
    return response.data;
  },
  // "<business> · <login>", as the hub spells it in `name`.
  connectionLabel: (z, bundle) => bundle.inputData.name,
};

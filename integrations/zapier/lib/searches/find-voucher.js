'use strict';

const fields = require('../fields');
const resources = require('../samples/resources.json');

// GET /v1/vouchers?redeem_code= (codes are unique per business and match
// case-insensitively).
const perform = async (z, bundle) => {
  const response = await z.request({
    url: '/v1/vouchers',
    params: { redeem_code: String(bundle.inputData.redeem_code).trim() },
  });
  return response.data.data;
};

module.exports = {
  key: 'find_voucher',
  noun: 'Voucher',
  display: {
    label: 'Find Voucher',
    description: 'Finds a voucher or reward by its redeem code.',
  },
  operation: {
    perform,
    inputFields: [fields.redeemCode()],
    sample: resources.voucher,
    outputFields: [
      { key: 'id', label: 'Voucher ID' },
      { key: 'title', label: 'Title' },
      { key: 'status', label: 'Status' },
      { key: 'customer_id', label: 'Customer ID' },
    ],
  },
};

'use strict';

const { compact } = require('../http');
const fields = require('../fields');
const resources = require('../samples/resources.json');

// POST /v1/vouchers/redeem {redeem_code}. Exactly once: a second redeem is an
// `already_redeemed` error, an expired voucher a `voucher_expired` one.
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  const response = await z.request({
    method: 'POST',
    url: '/v1/vouchers/redeem',
    body: compact({
      redeem_code: input.redeem_code,
      redeemed_via: input.redeemed_via,
      location_id: input.location_id,
    }),
  });
  return response.data;
};

module.exports = {
  key: 'redeem_voucher',
  noun: 'Voucher',
  display: {
    label: 'Redeem Voucher',
    description: 'Redeems a voucher or reward by its redeem code.',
  },
  operation: {
    perform,
    inputFields: [
      fields.redeemCode(),
      {
        key: 'redeemed_via',
        label: 'Redeemed Via',
        choices: { api: 'API (default)', pos: 'Till (POS)', staff_scanner: 'Staff scanner' },
        required: false,
      },
      fields.locationId,
    ],
    sample: { ...resources.voucher, status: 'redeemed', redeemed_at: resources.voucher.created_at, redeemed_via: 'api' },
    outputFields: [
      { key: 'id', label: 'Voucher ID' },
      { key: 'status', label: 'Status' },
      { key: 'redeemed_at', label: 'Redeemed At', type: 'datetime' },
    ],
  },
};

'use strict';

// Friendly labels for the fields of the event envelope, keyed the way Zapier
// flattens nested objects (`customer__email`). A trigger lists only the
// labels whose key occurs in its sample, so every trigger gets fitting
// output fields from this one table.
const EVENT_FIELD_LABELS = {
  id: 'Event ID',
  event: 'Event Name',
  timestamp: 'Happened At',
  business_id: 'Business ID',
  location_id: 'Location ID',
  customer__id: 'Customer ID',
  customer__email: 'Customer Email',
  customer__phone: 'Customer Phone',
  customer__name: 'Customer Name',
  customer__language: 'Customer Language',
  customer__wallet_pass_id: 'Wallet Pass ID',
  card__id: 'Card ID',
  card__template_id: 'Card Template ID',
  card__stamps: 'Card Stamps (Current Cycle)',
  card__stamps_total: 'Card Stamps (All Time)',
  card__goal_index: 'Card Goal in Progress (0-based)',
  card__cycle: 'Card Cycle',
  voucher__id: 'Voucher ID',
  voucher__type: 'Voucher Type',
  voucher__title: 'Voucher Title',
  voucher__redeem_code: 'Voucher Redeem Code',
  voucher__status: 'Voucher Status',
  voucher__redeemed_via: 'Voucher Redeemed Via',
  voucher__expires_at: 'Voucher Expires At',
  lottery__won: 'Lottery Won',
  lottery__prize__title: 'Lottery Prize',
  campaign__id: 'Campaign ID',
  campaign__name: 'Campaign Name',
  campaign__audience: 'Campaign Audience',
  campaign__sent: 'Campaign Messages Sent',
  campaign__failed: 'Campaign Messages Failed',
  campaign__skipped: 'Campaign Recipients Skipped',
  data__count: 'Stamps Added',
  data__note: 'Stamp Note',
  data__goal_index: 'Goal Index (0-based)',
  data__goal_stamps: 'Goal Stamps',
  data__reward: 'Goal Reward',
  data__inactive_days: 'Days Inactive',
  data__stamps_removed: 'Stamps Removed',
  data__sale__id: 'Sale ID',
  data__sale__source: 'Sale Source',
  data__sale__order_id: 'Sale Order ID',
};

// { customer: { email: 'x' } } -> { customer__email: 'x' } (arrays are kept
// whole: Zapier shows them as lists).
const flatten = (object, prefix = '') =>
  Object.entries(object).reduce((flat, [key, value]) => {
    const path = prefix ? `${prefix}__${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      Object.assign(flat, flatten(value, path));
    } else {
      flat[path] = value;
    }
    return flat;
  }, {});

const fieldType = (key, value) => {
  if (typeof value === 'boolean') return 'boolean';
  if (Number.isInteger(value)) return 'integer';
  if (typeof value === 'number') return 'number';
  if (key === 'timestamp' || key.endsWith('_at')) return 'datetime';
  return 'string';
};

// Output fields for an event sample; `data.note` is listed for stamp events
// although the sample has none, because it appears whenever a note is given.
const eventOutputFields = (sample) => {
  const flat = flatten(sample);
  if (sample.event === 'stamp_added' && !('data__note' in flat)) {
    flat.data__note = '';
  }
  return Object.keys(EVENT_FIELD_LABELS)
    .filter((key) => key in flat)
    .map((key) => ({
      key,
      label: EVENT_FIELD_LABELS[key],
      type: fieldType(key, flat[key]),
    }));
};

module.exports = { EVENT_FIELD_LABELS, eventOutputFields, flatten };

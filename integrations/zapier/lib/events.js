'use strict';

// The 14 event names of the hub's contract (GET /v1/events/samples lists
// them), with what Zapier shows for each.
// One instant trigger is generated per entry (see triggers/hook-trigger.js).
module.exports = [
  {
    event: 'card_issued',
    noun: 'Card',
    label: 'New Card Issued',
    description: 'Triggers when a loyalty card is issued to a customer.',
  },
  {
    event: 'card_saved',
    noun: 'Card',
    label: 'Card Saved to Wallet',
    description: 'Triggers when a customer saves their card to Apple or Google Wallet.',
  },
  {
    event: 'card_opened',
    noun: 'Card',
    label: 'Card Page Opened',
    description: "Triggers when a customer opens their card's page (at most once per card every 30 minutes).",
  },
  {
    event: 'stamp_added',
    noun: 'Stamp',
    label: 'New Stamp',
    description: 'Triggers when stamps are added to a card (Data Count says how many).',
  },
  {
    event: 'goal_reached',
    noun: 'Goal',
    label: 'Goal Reached',
    description: 'Triggers when a card reaches one of its goals.',
  },
  {
    event: 'reward_issued',
    noun: 'Reward',
    label: 'Reward Issued',
    description: 'Triggers when the reward voucher of a reached goal is issued.',
  },
  {
    event: 'voucher_issued',
    noun: 'Voucher',
    label: 'Voucher Issued',
    description: 'Triggers when a voucher is issued to a customer.',
  },
  {
    event: 'voucher_redeemed',
    noun: 'Voucher',
    label: 'Voucher Redeemed',
    description: 'Triggers when a voucher or reward is redeemed.',
  },
  {
    event: 'voucher_expired',
    noun: 'Voucher',
    label: 'Voucher Expired',
    description: 'Triggers when a voucher passes its expiry without being redeemed.',
  },
  {
    event: 'lottery_played',
    noun: 'Lottery Play',
    label: 'Lottery Played',
    description: 'Triggers when a customer plays the lottery of their card (won or lost).',
  },
  {
    event: 'birthday_reached',
    noun: 'Birthday',
    label: 'Customer Birthday',
    description: "Triggers on a customer's birthday.",
  },
  {
    event: 'inactivity_trigger',
    noun: 'Customer',
    label: 'Customer Inactive',
    description: 'Triggers when a customer has not been seen for a while.',
  },
  {
    event: 'campaign_sent',
    noun: 'Campaign',
    label: 'Campaign Sent',
    description: 'Triggers when a campaign has finished sending (with its sent, failed and skipped counts).',
  },
  {
    event: 'sale_refunded',
    noun: 'Refund',
    label: 'Sale Refunded',
    description: "Triggers when a recorded sale is refunded and its stamps are taken back from the customer's card.",
  },
];

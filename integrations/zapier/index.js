'use strict';

// The Zapier app of the 7loc hub: REST-hook triggers for the 14 events,
// actions for cards, stamps, vouchers, messages and sales, and searches.

const { version: platformVersion } = require('zapier-platform-core');
const { version } = require('./package.json');

const authentication = require('./lib/authentication');
const { addApiKey, handleErrors } = require('./lib/http');
const events = require('./lib/events');
const { createHookTrigger } = require('./lib/triggers/hook-trigger');
const cardTemplates = require('./lib/triggers/card-templates');
const messageTemplates = require('./lib/triggers/message-templates');
const issueCard = require('./lib/creates/issue-card');
const addStamps = require('./lib/creates/add-stamps');
const issueVoucher = require('./lib/creates/issue-voucher');
const redeemVoucher = require('./lib/creates/redeem-voucher');
const sendMessage = require('./lib/creates/send-message');
const recordSale = require('./lib/creates/record-sale');
const findCustomer = require('./lib/searches/find-customer');
const findCard = require('./lib/searches/find-card');
const findVoucher = require('./lib/searches/find-voucher');

const byKey = (list) => Object.fromEntries(list.map((item) => [item.key, item]));

module.exports = {
  version,
  platformVersion,

  authentication,
  beforeRequest: [addApiKey],
  afterResponse: [handleErrors],
  flags: {
    // Let handleErrors see 429 answers (core 18+ would throw a generic
    // ThrottledError before afterResponse runs) so the error carries the
    // hub's message and its Retry-After delay.
    throwForThrottlingEarly: false,
  },

  triggers: byKey([...events.map(createHookTrigger), cardTemplates, messageTemplates]),
  creates: byKey([issueCard, addStamps, issueVoucher, redeemVoucher, sendMessage, recordSale]),
  searches: byKey([findCustomer, findCard, findVoucher]),
  searchOrCreates: {
    find_card: {
      key: 'find_card',
      display: {
        label: 'Find or Issue Card',
        description: "Finds the customer's card, or issues one when there is none.",
      },
      search: 'find_card',
      create: 'issue_card',
    },
  },
};

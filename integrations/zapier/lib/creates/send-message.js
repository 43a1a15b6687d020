'use strict';

const { compact } = require('../http');
const fields = require('../fields');
const resources = require('../samples/resources.json');

// The channel names a channel order may hold (`messengers` is the customer's
// linked Telegram, WhatsApp or Viber).
const CHANNELS = {
  messengers: 'Messengers (linked Telegram, WhatsApp, Viber)',
  push: 'Wallet push',
  email: 'Email',
  telegram: 'Telegram',
  whatsapp: 'WhatsApp',
  viber: 'Viber',
};

// Zapier hands booleans over as true/false or as the strings of its
// dropdown ("true", "false", "yes", "no").
const toBoolean = (value) =>
  value === true || (typeof value === 'string' && ['true', 'yes', '1'].includes(value.trim().toLowerCase()));

// POST /v1/messages: one message to one customer, on the first channel of
// the order (default: the business's) that can reach them. The answer (202)
// is the delivery, `pending` until a worker sends it; it is not an event, so
// Zapier cannot wait for `sent` here. A customer no channel can reach is a
// 422 `validation_failed` naming `channels`; an unknown one a 404. A template
// and a text together are sent as given, for the hub to refuse.
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  if (!input.customer_id) {
    fields.requireEmailOrPhone(z, input);
  }
  if (!input.template_id && !input.text) {
    throw new z.errors.Error('Give a Message Template or a Text.', 'invalid_input', 422);
  }
  const channels = [].concat(input.channels || []).filter(Boolean);
  const data = input.data && typeof input.data === 'object' ? input.data : {};
  const response = await z.request({
    method: 'POST',
    url: '/v1/messages',
    body: compact({
      customer_id: input.customer_id,
      customer: input.customer_id ? undefined : compact({ email: input.email, phone: input.phone }),
      template_id: input.template_id,
      text: input.text,
      subject: input.subject,
      channels: channels.length ? channels : undefined,
      transactional: toBoolean(input.transactional),
      data: Object.keys(data).length ? data : undefined,
    }),
  });
  return response.data;
};

module.exports = {
  key: 'send_message',
  noun: 'Message',
  display: {
    label: 'Send Message',
    description:
      'Sends a message to a customer (by customer ID, or by email or phone) on the first channel that can reach them: a message template or your own text.',
  },
  operation: {
    perform,
    inputFields: [
      {
        key: 'customer_id',
        label: 'Customer ID',
        type: 'string',
        helpText: 'The `c_…` id. Leave empty to find the customer by email or phone instead.',
      },
      fields.email({ helpText: 'Used when no Customer ID is given; the customer must exist.' }),
      fields.phone(),
      {
        key: 'template_id',
        label: 'Message Template',
        dynamic: 'message_templates.id.name',
        helpText: "Rendered in the customer's language. Leave empty to send a Text instead.",
      },
      {
        key: 'text',
        label: 'Text',
        type: 'text',
        helpText: 'Sent as written; required unless a Message Template is chosen.',
      },
      { key: 'subject', label: 'Subject', type: 'string', helpText: 'For email, with a Text (default: the business name).' },
      {
        key: 'channels',
        label: 'Channel Order',
        choices: CHANNELS,
        list: true,
        helpText: "The channels to try, in order; the first one that can reach the customer is used. Default: the business's channel order.",
      },
      {
        key: 'transactional',
        label: 'Transactional',
        type: 'boolean',
        default: 'false',
        helpText: 'receipts and codes: ignores quiet hours and frequency caps',
      },
      {
        key: 'data',
        label: 'Data',
        dict: true,
        helpText: 'Key/value pairs passed to the template as `data.*` (e.g. `order` → `{{ data.order }}`).',
      },
    ],
    sample: resources.delivery,
    outputFields: [
      { key: 'id', label: 'Delivery ID' },
      { key: 'status', label: 'Status' },
      { key: 'channel', label: 'Channel' },
      { key: 'customer_id', label: 'Customer ID' },
      { key: 'transactional', label: 'Transactional', type: 'boolean' },
      { key: 'created_at', label: 'Created At', type: 'datetime' },
    ],
  },
};

'use strict';

// Input fields used by several actions and searches.

const templateId = (overrides = {}) => ({
  key: 'template_id',
  label: 'Card Template',
  dynamic: 'card_templates.id.name',
  ...overrides,
});

const email = (overrides = {}) => ({
  key: 'email',
  label: 'Customer Email',
  type: 'string',
  ...overrides,
});

const phone = (overrides = {}) => ({
  key: 'phone',
  label: 'Customer Phone',
  type: 'string',
  helpText: 'With the country code, e.g. `+380 67 123 45 67`.',
  ...overrides,
});

const locationId = {
  key: 'location_id',
  label: 'Location ID',
  type: 'string',
  helpText: 'Optional `loc_…` id of the shop where this happened.',
};

const redeemCode = (overrides = {}) => ({
  key: 'redeem_code',
  label: 'Redeem Code',
  type: 'string',
  required: true,
  helpText: 'The code the customer shows (case does not matter).',
  ...overrides,
});

// The hub needs one of email and phone to find a customer; Zapier cannot
// express "one of", so the operations check it and explain.
const requireEmailOrPhone = (z, inputData) => {
  if (!inputData.email && !inputData.phone) {
    throw new z.errors.Error(
      'Give the customer email or the customer phone (or both).',
      'invalid_input',
      422,
    );
  }
};

module.exports = { email, locationId, phone, redeemCode, requireEmailOrPhone, templateId };

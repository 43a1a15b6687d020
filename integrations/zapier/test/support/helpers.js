'use strict';

// Shared by the test files: the hub started by global-setup.js, plain HTTP
// calls to it (outside the Zapier app, to check what the app did), fresh
// businesses through the operator API, and the app tester.

const zapier = require('zapier-platform-core');
const App = require('../../index');

const appTester = zapier.createAppTester(App);

const hub = () => {
  if (!process.env.ZAPIER_TEST_HUB) {
    throw new Error('ZAPIER_TEST_HUB is not set: run the tests with `npm test` (jest globalSetup starts the hub)');
  }
  return JSON.parse(process.env.ZAPIER_TEST_HUB);
};

// A call to the hub with an API key (or the operator token); resolves to
// {status, headers, body} and never throws for an HTTP status.
const call = async (path, { method = 'GET', body, token } = {}) => {
  const { baseUrl, apiKey } = hub();
  const response = await fetch(baseUrl + path, {
    method,
    headers: {
      Authorization: `Bearer ${token || apiKey}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
};

let accounts = 0;

// A new, empty business with one staff login, its API key and a card
// template (goal at 5 stamps, then 10), so a test file sees only its own
// events and hooks. Returns what the app's bundle needs.
const createAccount = async (label = 'test') => {
  const { adminToken, baseUrl } = hub();
  const admin = (path, body) => call(path, { method: 'POST', body, token: adminToken });
  accounts += 1;
  const name = `Zapier ${label} ${process.pid}-${accounts}`;

  const business = await admin('/admin/v1/businesses', { name });
  expect(business.status).toBe(201);
  const b = business.body.id;
  expect((await admin(`/admin/v1/businesses/${b}/staff`, { login: 'zapier' })).status).toBe(201);
  const key = await admin(`/admin/v1/businesses/${b}/api-keys`, { login: 'zapier', name: 'Zapier' });
  expect(key.status).toBe(201);
  const template = await admin(`/admin/v1/businesses/${b}/card-templates`, {
    name: 'Coffee card',
    goals: [
      { stamps: 5, reward: { title: 'Free coffee' } },
      { stamps: 10, reward: { title: 'Free cake' } },
    ],
  });
  expect(template.status).toBe(201);

  return {
    businessId: b,
    name,
    apiKey: key.body.key,
    templateId: template.body.id,
    authData: { api_key: key.body.key, base_url: baseUrl },
    // call() with this account's key
    call: (path, options = {}) => call(path, { ...options, token: key.body.key }),
  };
};

// The demo business printed by `hub dev`.
const demoAuthData = () => ({ api_key: hub().apiKey, base_url: hub().baseUrl });

let emails = 0;
const uniqueEmail = (label = 'ann') => {
  emails += 1;
  return `${label}.${Date.now().toString(36)}.${process.pid}.${emails}@example.com`;
};

// Zapier errors carry a JSON message; this reads it back
// (z.errors.Error -> {message, code, status}; ThrottledError -> {message, delay}).
const errorDetails = (error) => {
  try {
    return JSON.parse(error.message);
  } catch (e) {
    return { message: error.message };
  }
};

// Runs fn and returns what it threw (failing the test when it did not throw).
const thrown = async (fn) => {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but the call succeeded');
};

module.exports = {
  App,
  appTester,
  call,
  createAccount,
  demoAuthData,
  errorDetails,
  hub,
  thrown,
  uniqueEmail,
};

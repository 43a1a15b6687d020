'use strict';

const { App, appTester, demoAuthData, errorDetails, hub, thrown } = require('./support/helpers');
const { addApiKey, baseUrl } = require('../lib/http');

describe('authentication', () => {
  it('tests the key with GET /v1/me and labels the connection with its name', async () => {
    const me = await appTester(App.authentication.test, { authData: demoAuthData() });
    expect(me.id).toMatch(/^key_/);
    expect(me.business.name).toBe('Demo Café');
    expect(me.staff.login).toBe('demo');
    expect(me.name).toBe('Demo Café · demo');

    const label = await appTester(App.authentication.connectionLabel, {
      authData: demoAuthData(),
      inputData: me,
    });
    expect(label).toBe('Demo Café · demo');
  });

  it('accepts the hub URL with a trailing slash', async () => {
    const me = await appTester(App.authentication.test, {
      authData: { ...demoAuthData(), base_url: `${hub().baseUrl}/` },
    });
    expect(me.name).toBe('Demo Café · demo');
  });

  it('turns 401 into an AuthenticationError that says what to check', async () => {
    const error = await thrown(() =>
      appTester(App.authentication.test, {
        authData: { api_key: '7loc_sc_thisKeyDoesNotExist0000000000000000', base_url: hub().baseUrl },
      }),
    );
    const details = errorDetails(error);
    expect(details.code).toBe('AuthenticationError');
    expect(details.status).toBe(401);
    expect(details.message).toMatch(/unauthorized/);
    expect(details.message).toMatch(/API key/);
  });

  it('asks for a key when none is given', async () => {
    const error = await thrown(() => appTester(App.authentication.test, { authData: { base_url: hub().baseUrl } }));
    expect(errorDetails(error).code).toBe('AuthenticationError');
  });
});

describe('beforeRequest', () => {
  const bundle = { authData: { api_key: '7loc_sc_k', base_url: 'https://hub.example.com/' } };

  it('resolves paths against the hub URL and sends the key as a bearer token', () => {
    const request = addApiKey({ url: '/v1/me', headers: {} }, null, bundle);
    expect(request.url).toBe('https://hub.example.com/v1/me');
    expect(request.headers.Authorization).toBe('Bearer 7loc_sc_k');
  });

  it('never sends the key to another host', () => {
    const request = addApiKey({ url: 'https://elsewhere.example.com/v1/me', headers: {} }, null, bundle);
    expect(request.headers.Authorization).toBeUndefined();
  });

  it('defaults to the public hub and adds a missing scheme', () => {
    expect(baseUrl({ authData: {} })).toBe('https://hub.7loc.com');
    expect(baseUrl({ authData: { base_url: ' hub.example.com// ' } })).toBe('https://hub.example.com');
    expect(baseUrl({ authData: { base_url: 'http://127.0.0.1:8080' } })).toBe('http://127.0.0.1:8080');
  });
});

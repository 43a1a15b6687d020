'use strict';

const path = require('path');
const zapier = require('zapier-platform-core');

const { startHub } = require('./support/hub-process');
const { App, appTester, demoAuthData, errorDetails, hub, thrown } = require('./support/helpers');
const { handleErrors, retryAfterSeconds } = require('../lib/http');

// A response object shaped like the one core hands to afterResponse.
const fakeResponse = (status, body, headers = {}) => {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  let data;
  try {
    data = JSON.parse(body);
  } catch (e) {
    data = undefined;
  }
  return {
    status,
    content: body,
    data,
    headers: { get: (name) => (name.toLowerCase() in lower ? lower[name.toLowerCase()] : null) },
  };
};
const z = { errors: zapier.errors };

describe('afterResponse error middleware (unit)', () => {
  it('passes successful responses through', () => {
    const response = fakeResponse(200, '{"ok":true}');
    expect(handleErrors(response, z)).toBe(response);
  });

  it('names the code and every invalid field of a 422', async () => {
    const body = JSON.stringify({
      error: {
        code: 'validation_failed',
        message: 'the request has invalid fields',
        fields: { 'customer.email': 'must be an email address', count: 'must be between 1 and 100' },
      },
    });
    const err = await thrown(() => handleErrors(fakeResponse(422, body), z));
    expect(err).toBeInstanceOf(zapier.errors.Error);
    const details = errorDetails(err);
    expect(details.code).toBe('validation_failed');
    expect(details.status).toBe(422);
    expect(details.message).toBe(
      'validation_failed: the request has invalid fields ' +
        '(customer.email: must be an email address; count: must be between 1 and 100)',
    );
  });

  it('turns 429 into a ThrottledError with the Retry-After delay', async () => {
    const body = '{"error":{"code":"rate_limited","message":"too many requests"}}';
    const err = await thrown(() => handleErrors(fakeResponse(429, body, { 'Retry-After': '7' }), z));
    expect(err).toBeInstanceOf(zapier.errors.ThrottledError);
    const details = errorDetails(err);
    expect(details.delay).toBe(7);
    expect(details.message).toMatch(/rate_limited: too many requests/);
  });

  it('keeps a 429 without Retry-After retryable', async () => {
    const err = await thrown(() => handleErrors(fakeResponse(429, ''), z));
    expect(err).toBeInstanceOf(zapier.errors.ThrottledError);
    expect(errorDetails(err).delay).toBeUndefined();
  });

  it('turns 401 into an AuthenticationError', async () => {
    const body = '{"error":{"code":"unauthorized","message":"unknown API key"}}';
    const details = errorDetails(await thrown(() => handleErrors(fakeResponse(401, body), z)));
    expect(details.code).toBe('AuthenticationError');
    expect(details.message).toMatch(/unauthorized: unknown API key/);
  });

  it('describes a response that is not the error envelope', async () => {
    const details = errorDetails(await thrown(() => handleErrors(fakeResponse(502, '<html>Bad gateway</html>'), z)));
    expect(details.code).toBe('http_502');
    expect(details.message).toMatch(/HTTP 502: <html>Bad gateway/);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterSeconds('3')).toBe(3);
    expect(retryAfterSeconds(null)).toBeNull();
    expect(retryAfterSeconds('soon')).toBeNull();
    const inTenSeconds = new Date(Date.now() + 10000).toUTCString();
    expect(retryAfterSeconds(inTenSeconds)).toBeGreaterThanOrEqual(9);
  });
});

describe('errors from the real hub', () => {
  it('shows the invalid field of a 422 (issue a card to a bad email)', async () => {
    const err = await thrown(() =>
      appTester(App.creates.issue_card.operation.perform, {
        authData: demoAuthData(),
        inputData: { template_id: hub().templateId, email: 'not-an-email' },
      }),
    );
    const details = errorDetails(err);
    expect(details.status).toBe(422);
    expect(details.code).toBe('validation_failed');
    expect(details.message).toMatch(/customer\.email: /);
  });

  it('shows not_found for an unknown template', async () => {
    const details = errorDetails(
      await thrown(() =>
        appTester(App.creates.issue_card.operation.perform, {
          authData: demoAuthData(),
          inputData: { template_id: 'tpl_01JTZ5Q2A7B8C9D0E1F2G3H4JB', email: 'x@example.com' },
        }),
      ),
    );
    expect(details.status).toBe(404);
    expect(details.code).toBe('not_found');
  });

  describe('on a hub limited to 1 request per second per key', () => {
    let limited;

    beforeAll(async () => {
      const { binary, tmpDir } = hub();
      limited = await startHub({
        binary,
        dataDir: path.join(tmpDir, 'data-rate-limited'),
        env: { HUB_RATE_LIMIT: '1', HUB_RATE_BURST: '1' },
      });
    });

    afterAll(async () => {
      if (limited) await limited.stop();
    });

    it('turns 429 into a ThrottledError carrying Retry-After', async () => {
      const bundle = { authData: { api_key: limited.apiKey, base_url: limited.baseUrl } };
      const results = await Promise.allSettled(
        [1, 2, 3].map(() => appTester(App.authentication.test, bundle)),
      );
      const throttled = results.filter((r) => r.status === 'rejected');
      expect(throttled.length).toBeGreaterThanOrEqual(1);
      for (const { reason } of throttled) {
        expect(reason).toBeInstanceOf(zapier.errors.ThrottledError);
        const details = errorDetails(reason);
        expect(details.message).toMatch(/rate_limited/);
        expect(details.delay).toBeGreaterThanOrEqual(1);
      }
    });
  });
});

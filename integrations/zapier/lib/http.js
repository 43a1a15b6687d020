'use strict';

// HTTP plumbing shared by every trigger, action and search: where the hub is,
// how to authenticate, and how to turn the hub's error envelope into errors
// Zapier can show and act on.

const DEFAULT_BASE_URL = 'https://hub.7loc.com';

// The hub URL of the connection, normalised: a scheme is added when the user
// typed a bare host name, and trailing slashes are dropped, so that
// `${baseUrl(bundle)}/v1/me` is always well formed.
const baseUrl = (bundle) => {
  let url = String((bundle.authData && bundle.authData.base_url) || '').trim();
  if (!url) {
    url = DEFAULT_BASE_URL;
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    url = `https://${url}`;
  }
  return url.replace(/\/+$/, '');
};

// beforeRequest middleware. Code in this app requests paths such as
// '/v1/cards'; they are resolved against the connection's hub URL here. The
// API key goes only to that hub, never to a URL on another host.
const addApiKey = (request, z, bundle) => {
  const base = baseUrl(bundle);
  if (request.url && request.url.startsWith('/')) {
    request.url = base + request.url;
  }
  request.headers = request.headers || {};
  const apiKey = bundle.authData && String(bundle.authData.api_key || '').trim();
  if (apiKey && request.url && request.url.startsWith(`${base}/`)) {
    request.headers.Authorization = `Bearer ${apiKey}`;
  }
  if (!request.headers.Accept) {
    request.headers.Accept = 'application/json';
  }
  return request;
};

// The `error` object of the hub's envelope
// {"error": {"code", "message", "fields"}}, or null when the body is something
// else (a proxy's HTML page, an empty body, …).
const parseErrorEnvelope = (response) => {
  let body = response.data;
  if (body === undefined && typeof response.content === 'string') {
    try {
      body = JSON.parse(response.content);
    } catch (e) {
      body = undefined;
    }
  }
  const error = body && typeof body === 'object' ? body.error : null;
  if (!error || typeof error !== 'object' || typeof error.code !== 'string') {
    return null;
  }
  return error;
};

// "customer.email: must be an email address; count: must be …"
const describeFields = (fields) =>
  Object.entries(fields || {})
    .map(([path, problem]) => `${path}: ${problem}`)
    .join('; ');

// Retry-After is whole seconds in the hub; an HTTP date is accepted too.
// Returns null when the header is missing or unreadable.
const retryAfterSeconds = (value) => {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  const text = String(value).trim();
  if (/^\d+$/.test(text)) {
    return parseInt(text, 10);
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    return null;
  }
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
};

const header = (response, name) =>
  response.headers && typeof response.headers.get === 'function'
    ? response.headers.get(name)
    : null;

// afterResponse middleware: every status >= 400 becomes an error that says
// what went wrong in the hub's own words.
//
// - 401: an auth error (custom auth has nothing to refresh, so not
//   RefreshAuthError); Zapier shows it and asks the user to reconnect.
// - 429: ThrottledError with the Retry-After delay, so Zapier retries later
//   instead of failing the Zap run. (The app sets the flag
//   `throwForThrottlingEarly: false`, so this middleware sees the 429 and can
//   include the hub's message; core's built-in handler would otherwise throw
//   first.)
// - anything else: z.errors.Error with the hub's code as the error code and
//   a message naming the code and every invalid field.
const handleErrors = (response, z) => {
  if (response.status < 400) {
    return response;
  }
  const error = parseErrorEnvelope(response);
  const code = error ? error.code : `http_${response.status}`;
  let message = error && error.message ? error.message : `HTTP ${response.status}`;
  if (!error) {
    const snippet = String(response.content || '').trim().slice(0, 200);
    if (snippet) {
      message += `: ${snippet}`;
    }
  }

  if (response.status === 401) {
    throw new z.errors.Error(
      `The hub refused the API key (${code}: ${message}). ` +
        'Check that the key is a current 7loc_sc_… key and that the hub URL is right.',
      'AuthenticationError',
      response.status,
    );
  }

  if (response.status === 429) {
    const delay = retryAfterSeconds(header(response, 'retry-after'));
    throw new z.errors.ThrottledError(
      `The hub is rate limiting this API key (${code}: ${message})` +
        (delay === null ? '.' : `; retry in ${delay} s.`),
      delay === null ? undefined : delay,
    );
  }

  const fields = describeFields(error && error.fields);
  throw new z.errors.Error(
    `${code}: ${message}${fields ? ` (${fields})` : ''}`,
    code,
    response.status,
  );
};

// Drops keys whose value is undefined, null or '' so request bodies name only
// what the user filled in (the hub refuses fields it does not know, and
// treats empty values as "not given" anyway).
const compact = (object) =>
  Object.fromEntries(
    Object.entries(object).filter(
      ([, value]) => value !== undefined && value !== null && value !== '',
    ),
  );

module.exports = {
  DEFAULT_BASE_URL,
  addApiKey,
  baseUrl,
  compact,
  describeFields,
  handleErrors,
  parseErrorEnvelope,
  retryAfterSeconds,
};

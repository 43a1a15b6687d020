'use strict';

// One factory for the 14 instant (REST hook) triggers. Each trigger differs
// only in its event name, its wording and its sample; the subscribe,
// unsubscribe, perform and performList logic is the same.

const eventSamples = require('../samples/events.json');
const { eventOutputFields } = require('../output-fields');

// How many recent events performList returns when the user tests the trigger
// in the Zap editor.
const LIST_LIMIT = 10;

// POST /v1/hooks {event, target_url}. The answer (id, secret, …) is what
// Zapier keeps as bundle.subscribeData. Subscribing the same URL twice
// returns the existing hook, so a retried subscribe is harmless.
const subscribe = (event) => async (z, bundle) => {
  const response = await z.request({
    method: 'POST',
    url: '/v1/hooks',
    body: { event, target_url: bundle.targetUrl },
  });
  return response.data;
};

// DELETE /v1/hooks/{id}; 204 also when the hook is already gone. Without a
// stored id (a subscription made by another version of the app), the hooks
// of this target URL are deleted instead.
const unsubscribe = async (z, bundle) => {
  const hookId = bundle.subscribeData && bundle.subscribeData.id;
  await z.request(
    hookId
      ? { method: 'DELETE', url: `/v1/hooks/${encodeURIComponent(hookId)}` }
      : { method: 'DELETE', url: '/v1/hooks', params: { target_url: bundle.targetUrl } },
  );
  return { id: hookId || null, deleted: true };
};

// A delivery's body is one event. A hook subscribed to `*` outside Zapier
// could post other names to the same URL; those are ignored here.
const perform = (event) => async (z, bundle) => {
  const delivered = bundle.cleanedRequest;
  const events = Array.isArray(delivered) ? delivered : [delivered];
  return events.filter((item) => item && item.id && item.event === event);
};

// Recent real events of this name, newest first; on an account that has
// none yet, the hub's sample events, so the user still sees the fields.
const list = (event) => async (z, bundle) => {
  const recent = await z.request({
    url: '/v1/events',
    params: { type: event, limit: LIST_LIMIT },
  });
  if (recent.data.data.length > 0) {
    return recent.data.data;
  }
  const samples = await z.request({ url: '/v1/events/samples', params: { type: event } });
  return samples.data.data;
};

const createHookTrigger = ({ event, noun, label, description }) => {
  const sample = eventSamples[event];
  if (!sample) {
    throw new Error(`no sample for event ${event}`);
  }
  return {
    key: event,
    noun,
    display: { label, description },
    operation: {
      type: 'hook',
      performSubscribe: subscribe(event),
      performUnsubscribe: unsubscribe,
      perform: perform(event),
      performList: list(event),
      sample,
      outputFields: eventOutputFields(sample),
    },
  };
};

module.exports = { createHookTrigger, LIST_LIMIT };

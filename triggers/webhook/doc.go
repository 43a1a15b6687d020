// Package webhook owns the delivery mechanics of the hub's signed webhooks
// (REST hooks): everything that happens between "this event goes to this
// hook's URL" and "here is what the receiver said".
//
// It owns four things, all plain library code with no database and no queue:
//
//   - Standard Webhooks signing (https://www.standardwebhooks.com): NewSecret,
//     Sign, Headers, and Verify for our tests and for customers' receivers.
//   - The retry policy: Decide turns one attempt's result into a
//     hub.AttemptOutcome: delivered, gone, retry after a delay, or give up.
//     How long a hook may fail before it is disabled is the hub's
//     (hub.HookDisableAfter).
//   - An SSRF-safe HTTP client (NewClient) that connects only to public
//     addresses, checked after DNS resolution so rebinding cannot sneak
//     through, follows no redirects and ignores proxy settings; CheckURL
//     refuses obviously internal target URLs when a hook is subscribed.
//   - Deliver, which POSTs one signed body and reports the Attempt.
//
// Storing hooks and deliveries, enqueueing tasks, counting a hook's failures
// and disabling or deleting hooks belong to the callers (the hub's task
// handlers); this package only says what should happen.
package webhook

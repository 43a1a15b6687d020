// Package console is the business console: the web pages where a business
// owner manages the hub from a browser (issue 13). It is served by the hub
// itself under /console, in the same binary, and calls the same hub.Service
// use cases as the REST API (package httpapi) — no rule lives here twice,
// and the hub's error messages are shown as they are.
//
// # Pages
//
// Login, logout (here or everywhere), accept an invitation (set a
// password), "Forgot password?" (below), API keys (list, add for a staff login without a key, the new
// key shown once, regenerate and delete after a confirmation), staff logins
// (add one, see which have keys) and webhooks (subscriptions with their
// status, the delivery log with status codes and errors, redeliver, rotate
// the secret, enable a disabled hook) and settings (time zone, default
// language, channel order, quiet hours, frequency cap and trigger times,
// saved as one JSON merge patch through hub.Service.UpdateSettings; the
// form's inputs are named by their JSON paths, so each of the service's
// problems, hub.Error.Fields, shows next to its input), channels (one form
// per provider from hub.ChannelFields, send a test message through
// hub.Service.TestChannel as the API does, register the Telegram or Viber
// webhook) and customers (search by email or phone through
// hub.Service.Customers; a customer's page with cards, consent, messenger
// contacts, vouchers and the deliveries to them, each list paged, through
// CustomerWithContacts, Cards, Vouchers and Deliveries filtered by the
// customer; another business's customer is the 404 page), message
// templates, automations and campaigns
// (a paged list with status through hub.Service.Campaigns; a composer for a
// new or draft campaign — name, message template, audience, channel order,
// send now or at a time in the business's time zone — saved through
// CreateCampaign or UpdateCampaign with the service's problems next to
// their inputs; a campaign's page with Send, Pause, Resume and Cancel, its
// recipients paged through CampaignRecipients, and its progress).
//
// The audience builder is a flat list of conditions ({field, op, value}
// over hub.AudienceFields) joined by all or any, posted as rows
// cond.N.field, cond.N.op and cond.N.value; a filter that is not flat (not,
// nested groups) is edited as JSON in a text area, which wins when filled.
// Without JavaScript, buttons add a row or count the audience; with htmx
// the count per channel (hub.Service.PreviewAudience) follows every change
// as a fragment. For a business of more than twice Config.AudienceSample
// customers (3,000 by default) both counts are estimates from a sample of
// that many customers (a fair one: hub.SampleBucket), shown as "about N (±
// margin)" at 95 %, with a "Count exactly" button whose page counts every
// customer: an exact count of 100,000 customers takes a few hundred
// milliseconds on SQLite, over the 50 ms a page may take. A campaign's progress (status, actions, a progressbar
// with aria-valuenow, the stats and a chart) is a fragment that htmx polls
// every 2 seconds while the campaign sends or is scheduled; a finished one
// answers without the trigger, which ends the polling. The chart of sent
// and failed messages over time is an SVG drawn on the server (no script,
// no inline style) from hub.Service.CampaignActivity: the campaign's
// per-second counters of ended messages (kept by the transactions that end
// them) summed per bucket of time in one store query. The count axis tops
// at an even number, at least 2, so its middle label is whole.
//
// Message templates: a paged list (hub.Service.MessageTemplates) and an
// editor of a template's name and variants, one per language and channel
// kind (text for the messengers and PUSH; email with subject, HTML and
// text), saved whole through CreateMessageTemplate or
// UpdateMessageTemplate. The inputs are named by the service's JSON paths
// ("variants[1].html"), so each problem shows at its textarea, with the
// source lines that its "line N:" names. "Add variant" and "Remove" change
// only the form. Each variant has a live preview: htmx posts the form as
// the owner types (keyup, debounced 500 ms) and swaps in a fragment
// rendered by hub.Service.PreviewMessageTemplate from the unsaved text
// (PreviewInput.Variants) with sample data; the Preview button does the
// same without JavaScript and gets the whole editor back. An email's HTML
// is shown only inside <iframe sandbox srcdoc>, escaped into the
// attribute and with no sandbox permission, so it never runs script nor
// joins the console's page or origin; the frame's document inherits the
// console's Content-Security-Policy, so the email's inline styles and
// remote images do not show in the preview (its source is shown too).
// Delete asks for a confirmation.
//
// Automations: the list (hub.Service.Automations) has an on/off switch per
// row, a form that posts the wanted state to UpdateAutomation (htmx swaps
// the row; without JavaScript the list comes back). The editor sets name,
// on/off, trigger (the events and voucher_expiring), delay (an amount and
// a unit, sent as delay_seconds), condition (the audience filter as JSON)
// and up to hub.MaxAutomationActions action slots (send a message template
// on an optional channel order, or issue a voucher template) through
// CreateAutomation or UpdateAutomation; the service's problems show at
// their fields, an action's at the slot it was typed in. Another
// business's template or automation is the 404 page.
//
// Channel secrets are write-only. hub.Service.PutChannelConfig replaces a
// provider's settings with the body's and keeps every stored secret the
// body leaves out (null removes one), so the console sends every setting as
// shown, only the secrets that were typed, and null for a secret whose
// "Remove" box is ticked; it never reads a secret back, and a page shows
// only whether each secret is set.
//
// Pages are Go html/template files with htmx for progressive enhancement,
// all embedded with embed: no build step and no Node at run time. Every page
// works with JavaScript off for reading, and every form posts normally (a
// dialog's button is also a link to a confirmation page). htmx is vendored as
// assets/htmx.min.js from the npm package htmx.org 2.0.11 (npm pack
// htmx.org@2, dist/htmx.min.js, BSD Zero Clause licence); it boosts links and
// forms (hx-boost) with eval, script tags and inline indicator styles turned
// off so that it lives within the Content-Security-Policy, and swaps error
// answers in as well (a refused form shows the hub's message, as without
// JavaScript). The stylesheet and
// the one script (assets/console.js: dialogs and the clipboard copy button)
// are our own. An htmx request of an element's own (HX-Request without
// HX-Boosted) gets the fragment it swaps rather than the whole page.
//
// # Security
//
//   - Sessions are rows on the server (hub.OwnerSession); the browser's
//     cookie holds a random token whose SHA-256 only is stored. The cookie is
//     __Host-hub_session when served over https (Config.Secure), hub_session
//     otherwise; HttpOnly, Secure on https, SameSite=Lax, Path=/. A session
//     ends after 12 hours unused or 30 days after the login, and "log out
//     everywhere" ends all of an owner's sessions.
//   - Login is throttled per account and per client address through the
//     Throttle interface (Redis in hub/ratelimit, MemoryThrottle in tests and
//     single processes). A throttle that cannot answer refuses the login.
//   - "Forgot password?" asks for an email and always answers the same
//     (throttled as logins are, per address and per account): when the
//     owner exists and the business has an enabled email channel,
//     hub.Service.RequestPasswordReset mails a link through that channel
//     (hub.OwnerMailer, the email channel's sender in cmd/hub) that works
//     once within an hour, stored hashed as invitations are; using it sets
//     a new password and ends all the owner's sessions. The lookup and the
//     mail run after the answer (Config.Background), so that its delay
//     tells nothing either. Without an email channel the page says to ask
//     the operator for a new invitation, which resets the password too.
//   - Cross-site request forgery is refused by http.CrossOriginProtection
//     (Sec-Fetch-Site and Origin) around every handler, and by SameSite=Lax.
//   - Every answer carries a Content-Security-Policy without inline script
//     (default-src 'self'), X-Frame-Options DENY, nosniff and no-referrer (an
//     invitation's token is in its URL).
//   - Every page is scoped to the session's business: another business's ids
//     are the 404 page, as unknown ones are.
//
// # Accessibility
//
// Pages are built from labelled controls, landmarks (header, nav, main)
// and named dialogs, so that assistive technology and tests find them by
// role and name. The browser tests run axe-core (vendored in testdata, for
// the tests only) over every page and the states they reach and fail on
// serious or critical violations (TestBrowserAccessibility).
//
// # Languages
//
// English, Thai and Hindi, each a message catalog: locales/<lang>.json for
// the shared messages and locales/<page>.<lang>.json for a page's own. The
// language is, in order: ?lang= on the URL, the owner's stored choice
// (hub.Owner.Language, set in the page header), the browser's
// Accept-Language, the business's default language, English. Dates show in
// the business's time zone.
//
// The catalogs use github.com/nicksnyder/go-i18n/v2 rather than
// golang.org/x/text/message: go-i18n reads plain JSON files that a translator
// can edit and that are embedded as they are, with CLDR plural rules and
// named placeholders ({{.Login}}); x/text's catalogs are Go code generated by
// the gotext tool or built by hand with SetString calls. The language
// matching itself is x/text's (language.Matcher), which go-i18n uses too.
package console

// Package templates owns the marketers' message templates: it checks Liquid
// sources against an allow-list of variables, filters and tags, renders them
// under output, time and loop limits for untrusted authors, escapes output
// values for HTML bodies on request, and ships the embedded ready-made
// default templates (birthday, inactivity, goal reached, voucher expiring).
//
// The engine needs nothing of package hub: callers pass plain variable maps
// (customer, card, voucher, business, campaign and free data) and get text
// back; only the defaults come as hub.DefaultTemplate, the shape the hub
// seeds into a new business.
package templates

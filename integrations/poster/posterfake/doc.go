// Package posterfake is a scriptable stand-in for Poster POS's web API
// (joinposter.com) for tests and benchmarks of any package.
//
// A Server speaks Poster's wire format under {URL}/api (give that to
// poster.Client.BaseURL): the OAuth authorize redirect (/api/auth) and the
// code exchange (/api/v2/auth/access_token, form-data), dash.getTransaction,
// clients.getClient, clients.getClients (phone and group_id filters),
// clients.createClient, clients.getGroups and clients.createGroup. The token
// travels as ?token=; a missing one answers error 10 and an unknown or
// revoked one error 11 "Bad access token" — with HTTP 200, like Poster.
// Answers are {"response": …} with ids and sums as strings (sums in minor
// units) and date_close in milliseconds.
//
// Tests script it: AddTransaction, AddClient and AddGroup seed data,
// RevokeToken breaks a connection, FailNext injects any Poster error or HTTP
// status (RateLimitNext and ServerErrorNext are the common ones), SetDelay
// and SetDown simulate a slow or dead host, and Calls / CallsTo count
// requests. SendWebhook POSTs a webhook signed with the real algorithm
// (md5 of account;object;object_id;action;[data;]time;secret), so a hub
// handler can be tested end to end. Everything is safe for concurrent use.
package posterfake

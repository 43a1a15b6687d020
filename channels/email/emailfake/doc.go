// Package emailfake is a real SMTP server for tests of the email channel and
// of anything that sends through it (the router's end-to-end tests, the
// benchmark).
//
// A Server listens on 127.0.0.1 on a free port and speaks ESMTP through
// github.com/emersion/go-smtp: EHLO with PIPELINING, 8BITMIME,
// ENHANCEDSTATUSCODES and SIZE, optionally STARTTLS (or TLS from the first
// byte) with a self-signed certificate it generates for 127.0.0.1, ::1 and
// localhost (CertPool and ClientTLSConfig let clients trust it), and optionally
// AUTH PLAIN with one username and password; MAIL is then refused with
// 530 5.7.0 until the client has authenticated.
//
// Every accepted message is recorded (envelope sender, recipients, raw data,
// headers parsed with net/mail) before the server answers the end of DATA.
// Tests script failures the way real servers fail:
//
//   - RejectRcpt refuses RCPT TO for one address with a given reply
//     (550 5.1.1 "no such user", 552 5.2.2 "mailbox full", …);
//   - FailNext makes the next n MAIL, RCPT or end-of-DATA commands (or the
//     next n connections, answered with the reply and closed) fail with a
//     given reply; RateLimit and Temporary build the usual 421 and 451 ones;
//   - SetDataDelay delays the answer to the end of DATA (the message is
//     recorded first, like a slow server that did accept it) so a client times
//     out after having sent the whole message;
//   - SetDown closes the listener and every connection (connections are then
//     refused) and SetDown(false) listens again on the same address.
//
// All methods are safe for concurrent use.
package emailfake

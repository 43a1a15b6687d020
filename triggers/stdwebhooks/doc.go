// Package stdwebhooks signs and verifies messages the Standard Webhooks way
// (standardwebhooks.com): webhook-id, webhook-timestamp and
// webhook-signature headers, the signature being "v1," and the base64
// HMAC-SHA256 of "<id>.<unix seconds>.<body>". It works on raw keys; how a
// secret becomes a key is the caller's rule (whsec_ base64 for webhook
// subscriptions, raw bytes for the messenger gateway). Standard library only,
// so both webhook delivery and the gateway channel use it.
package stdwebhooks

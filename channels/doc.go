// Package channels routes queued messages to the providers that carry them:
// it asks the ledger (hub.Service) for a delivery ready to send, waits for
// the shared rate limits and pauses of the provider, claims the delivery,
// sends it through the provider's Sender, and records the answer so that a
// message is never sent twice (see hub.Service.ClaimSend).
//
// One subpackage per provider (telegram, whatsapp, viber, email,
// walletpush, gateway) implements Sender; cmd/hub wires them in through a
// Factory. The subpackages import hub and their own libraries, never each
// other or this package.
package channels

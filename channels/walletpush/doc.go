// Package walletpush owns the PUSH channel: wallet passes and the pushes that
// make them update.
//
// It builds signed Apple Wallet passes (.pkpass: pass.json, images,
// manifest.json and a detached CMS signature made with the business's Pass
// Type ID certificate), sends Apple's pass-update pushes through APNs (an
// empty "{}" payload on the pass type id topic, after which the device fetches
// the new pass from the hub's web service and shows the offer field's
// changeMessage), adds TEXT_AND_NOTIFY messages to Google Wallet loyalty
// objects, makes "Save to Google Wallet" links and parses Google's save/delete
// callbacks.
//
// The Apple Wallet web service (device registration, serials since a tag, the
// latest pass, the log) is not here: hub/httpapi serves it and calls
// Sender.BuildPass.
//
// Subpackages apnsfake and googlefake are scriptable stand-ins for APNs and
// the Google Wallet API (with its OAuth2 token endpoint); passcerts makes
// test certificate chains.
package walletpush

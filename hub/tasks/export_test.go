package tasks

import (
	"encoding/json"

	"github.com/7loc/hub/hub"
)

// RetryDelay exposes retryDelay to the tests.
var RetryDelay = retryDelay

// DispatchPayloadKeys decodes a dispatch task's payload as the handler does.
func DispatchPayloadKeys(raw []byte) ([]hub.EventKey, error) {
	var p eventPayload
	err := json.Unmarshal(raw, &p)
	return p.keys(), err
}

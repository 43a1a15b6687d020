package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/goccy/go-yaml"
)

// openapiYAML is the OpenAPI 3.1 document of the API, written by hand: the
// developer documentation and the contract the tests check responses against.
//
//go:embed openapi.yaml
var openapiYAML []byte

var openapiJSON = sync.OnceValues(func() ([]byte, error) {
	// YAMLToJSON keeps the order of keys, so the JSON reads like the YAML.
	j, err := yaml.YAMLToJSON(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, j); err != nil {
		return nil, fmt.Errorf("openapi.yaml: converted to invalid JSON: %w", err)
	}
	return buf.Bytes(), nil
})

// OpenAPIJSON returns the OpenAPI 3.1 document of the API as compact JSON, as
// served at GET /v1/openapi.json. The document is converted from the embedded
// openapi.yaml on the first call; later calls return a copy of that result, so
// the caller may modify it. The error can only come from a malformed
// openapi.yaml, which the package tests rule out.
func OpenAPIJSON() ([]byte, error) {
	j, err := openapiJSON()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(j), nil
}

// OpenAPIYAML returns a copy of the OpenAPI 3.1 document of the API in its
// source form, YAML.
func OpenAPIYAML() []byte {
	return bytes.Clone(openapiYAML)
}

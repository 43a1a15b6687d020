package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

// bodyKey is where the request body, read once, is kept on the gin context.
const bodyKey = "httpapi.body"

// readBody reads the request body once (bounded by the body limit) and keeps it.
func readBody(c *gin.Context) ([]byte, error) {
	if b, ok := c.Get(bodyKey); ok {
		return b.([]byte), nil
	}
	if c.Request.Body == nil {
		c.Set(bodyKey, []byte(nil))
		return nil, nil
	}
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, hub.Errorf(hub.EPayloadTooLarge, "the request body is larger than %d bytes", tooBig.Limit)
		}
		return nil, hub.Errorf(hub.EInvalidJSON, "could not read the request body")
	}
	c.Set(bodyKey, b)
	return b, nil
}

// decodeJSON decodes the body strictly into dst: malformed JSON is
// invalid_json; unknown fields, wrong types and trailing data are
// validation_failed with the offending field. An empty body reads as {}.
func decodeJSON(c *gin.Context, dst any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeStrict(body, dst)
}

// decodeStrict is decodeJSON on bytes; it is what the fuzz tests exercise.
func decodeStrict(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return hub.Errorf(hub.EInvalidJSON, "the request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return hub.Errorf(hub.EInvalidJSON, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return hub.Errorf(hub.EInvalidJSON, "malformed JSON: the body ends too early")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return hub.Problems{"body": "must be a JSON object"}.Err()
		}
		return hub.Problems{field: "must be " + jsonKind(typ.Type.Kind().String())}.Err()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return hub.Problems{name: "is not a known field"}.Err()
	}
	return hub.Errorf(hub.EInvalidJSON, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}

// decodeLoose decodes a provider's JSON body, ignoring fields we do not use
// (providers add fields over time).
func decodeLoose(body []byte, dst any) error {
	if err := json.Unmarshal(body, dst); err != nil {
		return jsonError(err)
	}
	return nil
}

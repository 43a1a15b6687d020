package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

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
		if isTimeError(err) {
			return hub.Problems{timeField(body, dst): "must be an RFC 3339 time, e.g. 2026-05-11T12:34:56Z"}.Err()
		}
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

// isTimeError reports whether err is time.Time's refusal of a JSON value:
// well-formed JSON with a bad value, so validation_failed, not invalid_json.
func isTimeError(err error) bool {
	var pe *time.ParseError
	return errors.As(err, &pe) || strings.HasPrefix(err.Error(), "Time.UnmarshalJSON: ")
}

// timeField names the top-level time field of dst (a pointer to a struct)
// whose value in body is not a time; "body" when none is found.
func timeField(body []byte, dst any) string {
	var fields map[string]json.RawMessage
	rt := reflect.TypeOf(dst)
	if json.Unmarshal(body, &fields) != nil || rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
		return "body"
	}
	timeType := reflect.TypeFor[time.Time]()
	for f := range rt.Elem().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || (f.Type != timeType && f.Type != reflect.PointerTo(timeType)) {
			continue
		}
		var t *time.Time
		if raw, ok := fields[name]; ok && json.Unmarshal(raw, &t) != nil {
			return name
		}
	}
	return "body"
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	if len(bytes.TrimSpace(body)) > 0 {
		if err := jsonContentType(c.GetHeader("Content-Type")); err != nil {
			return err
		}
	}
	return decodeStrict(body, dst)
}

// jsonContentType accepts a body declared as JSON (application/json or a
// +json type) or not declared at all; any other declared type is 415.
func jsonContentType(header string) error {
	if header == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(header)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return hub.Errorf(hub.EUnsupportedMediaType, "the request body must be JSON (Content-Type: application/json), not %q", header)
}

// decodeStrict is decodeJSON on bytes; it is what the fuzz tests exercise.
func decodeStrict(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := scanJSON(body); err != nil {
		return err
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

// scanJSON checks what decoding would hide, in one place for every body:
// invalid UTF-8 (decoding replaces it with U+FFFD), control characters in
// strings (NUL breaks PostgreSQL; only tab, newline and carriage return are
// text), and a key given twice in one object (decoding keeps the last).
// Each is validation_failed naming the field. Syntax errors are left to
// the decoder, which reports them with their offset.
func scanJSON(body []byte) error {
	if !utf8.Valid(body) {
		return hub.Problems{"body": "is not valid UTF-8"}.Err()
	}
	type frame struct {
		object  bool
		wantKey bool // an object's next string token is a key
		keys    map[string]bool
		key     string // an object's current key
		index   int    // an array's current index
		path    string // where the object or array is
	}
	var stack []*frame
	// field names the place of the current token ("variants[0].text").
	field := func() string {
		if len(stack) == 0 {
			return "body"
		}
		f := stack[len(stack)-1]
		switch {
		case !f.object:
			return f.path + "[" + strconv.Itoa(f.index) + "]"
		case f.path == "":
			return f.key
		}
		return f.path + "." + f.key
	}
	// ended is called after a value: an object wants its next key, an array
	// moves to its next index.
	ended := func() {
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.object {
			f.wantKey = true
		} else {
			f.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or a syntax error the decoder reports
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				path := ""
				if len(stack) > 0 {
					path = field()
				}
				stack = append(stack, &frame{object: t == '{', wantKey: true, keys: map[string]bool{}, path: path})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey {
				f := stack[len(stack)-1]
				f.key, f.wantKey = t, false
				if f.keys[t] {
					return hub.Problems{field(): "is given twice"}.Err()
				}
				f.keys[t] = true
				if controlChar(t) >= 0 {
					return hub.Problems{field(): "has a control character in its name"}.Err()
				}
				continue
			}
			if r := controlChar(t); r >= 0 {
				return hub.Problems{field(): fmt.Sprintf("must not contain control characters (U+%04X)", r)}.Err()
			}
		}
		ended()
	}
}

// controlChar returns the first control character of s other than tab,
// newline and carriage return, or -1.
func controlChar(s string) rune {
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return r
		}
	}
	return -1
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

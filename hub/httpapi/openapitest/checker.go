package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/7loc/hub/hub/httpapi"
)

// Checker checks HTTP requests and responses against one OpenAPI document.
// It is safe for concurrent use by parallel tests.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
}

// hubChecker loads the hub's document once per test binary.
var hubChecker = sync.OnceValues(func() (*Checker, error) {
	data, err := httpapi.OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	return load(data)
})

// New returns a Checker for the hub's OpenAPI document, as served at
// /v1/openapi.json. It fails the test at once when the document does not load
// or is not a valid OpenAPI document.
func New(tb testing.TB) *Checker {
	tb.Helper()
	c, err := hubChecker()
	if err != nil {
		tb.Fatalf("openapitest: %v", err)
	}
	return c
}

// NewFromDocument returns a Checker for another OpenAPI document, in YAML or
// JSON. It fails the test at once when the document does not load or is not
// valid.
func NewFromDocument(tb testing.TB, document []byte) *Checker {
	tb.Helper()
	c, err := load(document)
	if err != nil {
		tb.Fatalf("openapitest: %v", err)
	}
	return c
}

// Document returns the loaded document, for tests that inspect it.
func (c *Checker) Document() *openapi3.T { return c.doc }

var registerDecoders sync.Once

func load(document []byte) (*Checker, error) {
	registerDecoders.Do(func() {
		// kin-openapi decodes JSON and text/plain bodies, not HTML pages.
		if openapi3filter.RegisteredBodyDecoder("text/html") == nil {
			openapi3filter.RegisterBodyDecoder("text/html", stringDecoder)
		}
	})
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	// Route on paths alone: the documented servers name hosts that test
	// servers and recorders do not use.
	routed := *doc
	routed.Servers = nil
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("routing the OpenAPI document: %w", err)
	}
	return &Checker{doc: doc, router: router}, nil
}

func stringDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	return string(b), err
}

// Check fails the test (with t.Errorf, so the test goes on) when the exchange
// does not match the document: req with its body reqBody (nil for none), and
// the response's status, header and body. req.Body is not read; reqBody is
// used instead, so the request may already have been served.
//
// The response must be documented for the operation and status, with a
// matching content type, its required headers, and a body valid against the
// schema. The request is checked too when status is below 400.
func (c *Checker) Check(tb testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	tb.Helper()
	for _, p := range c.problems(req, reqBody, status, header, respBody) {
		tb.Errorf("openapitest: %s %s -> %d: %s", req.Method, req.URL.RequestURI(), status, p)
	}
}

// CheckRecorder is Check for a response recorded by httptest.
func (c *Checker) CheckRecorder(tb testing.TB, req *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) {
	tb.Helper()
	c.Check(tb, req, reqBody, rec.Code, rec.Header(), rec.Body.Bytes())
}

// Validate returns what Check would report, as one error, or nil when the
// exchange matches the document.
func (c *Checker) Validate(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	var errs []error
	for _, p := range c.problems(req, reqBody, status, header, respBody) {
		errs = append(errs, errors.New(p))
	}
	return errors.Join(errs...)
}

func (c *Checker) problems(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) []string {
	ctx := context.Background()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	if reqBody == nil {
		r.Body = http.NoBody
	}

	route, pathParams, err := c.router.FindRoute(r)
	if err != nil {
		return []string{fmt.Sprintf("no documented operation: %v", err)}
	}
	op := route.Operation
	name := op.OperationID
	if name == "" {
		name = r.Method + " " + route.Path
	}

	response := op.Responses.Status(status)
	if response == nil {
		response = op.Responses.Default()
	}
	if response == nil {
		return []string{fmt.Sprintf("status %d is not documented for %s (documented: %s)",
			status, name, strings.Join(op.Responses.Keys(), ", "))}
	}

	var problems []string
	reqInput := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: pathParams,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError:                        true,
			AuthenticationFunc:                checkCredentials,
			RejectWhenRequestBodyNotSpecified: true,
		},
	}
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, reqInput); err != nil {
			problems = append(problems, describe("request", err)...)
		}
		problems = append(problems, undocumentedQuery(r, route)...)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}

	if response.Value != nil && len(response.Value.Content) == 0 && len(respBody) > 0 {
		problems = append(problems, fmt.Sprintf("%s documents no body for status %d, got %d bytes: %.200q",
			name, status, len(respBody), respBody))
	}
	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			MultiError:            true,
			IncludeResponseStatus: true,
		},
	}
	respInput.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, respInput); err != nil {
		problems = append(problems, describe("response", err)...)
	}
	return problems
}

// checkCredentials accepts a request that carries the credentials a security
// scheme asks for; whether they are right is the server's business.
func checkCredentials(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	h := in.RequestValidationInput.Request.Header
	switch {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		scheme, token, ok := strings.Cut(h.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return in.NewError(errors.New("no Authorization: Bearer header"))
		}
	case s.Type == "apiKey" && s.In == "header":
		if h.Get(s.Name) == "" {
			return in.NewError(fmt.Errorf("no %s header", s.Name))
		}
	default:
		return in.NewError(fmt.Errorf("openapitest cannot check security scheme %q", in.SecuritySchemeName))
	}
	return nil
}

// undocumentedQuery reports query parameters the operation does not declare;
// kin-openapi ignores them.
func undocumentedQuery(r *http.Request, route *routers.Route) []string {
	declared := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var names []string
	for name := range r.URL.Query() {
		if !declared[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var problems []string
	for _, name := range names {
		problems = append(problems, fmt.Sprintf("request: query parameter %q is not documented", name))
	}
	return problems
}

// describe flattens kin-openapi's (multi-)errors into one line each.
func describe(what string, err error) []string {
	// Only a top-level MultiError is split: nested ones would lose the
	// context their wrapper gives (which parameter, which body).
	if multi, ok := err.(openapi3.MultiError); ok {
		var out []string
		for _, e := range multi {
			out = append(out, describe(what, e)...)
		}
		return out
	}
	// kin-openapi joins several schema errors with " | " and follows each
	// reason with indented dumps of the schema and the value: keep one line
	// per reason, without the dumps.
	var out []string
	var cur []string
	dump := false
	flush := func() {
		if len(cur) > 0 {
			out = append(out, what+": "+strings.Join(strings.Fields(strings.Join(cur, " ")), " "))
		}
		cur, dump = nil, false
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "| "):
			flush()
			cur = append(cur, strings.TrimPrefix(trimmed, "| "))
		case trimmed == "Schema:" || trimmed == "Value:":
			dump = true
		case !dump:
			cur = append(cur, trimmed)
		}
	}
	flush()
	return out
}

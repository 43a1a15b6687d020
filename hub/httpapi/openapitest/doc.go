// Library: github.com/getkin/kin-openapi v0.152.0, already in go.mod. Tried on this document, it
// validates OpenAPI 3.1 and checks bodies with a JSON Schema 2020-12 validator (type arrays such as
// ["string", "null"], const, propertyNames, allOf with additionalProperties: false); pb33f/libopenapi is not needed.

// Package openapitest checks real HTTP exchanges of the hub against its OpenAPI
// 3.1 document (hub/httpapi/openapi.yaml, served at /v1/openapi.json), so that
// the document and the server cannot drift apart unnoticed.
//
// Use it from handler tests:
//
//	api := openapitest.New(t)
//	req := httptest.NewRequest("POST", "/v1/cards", bytes.NewReader(body))
//	req.Header.Set("Content-Type", "application/json")
//	req.Header.Set("X-API-Key", key)
//	rec := httptest.NewRecorder()
//	handler.ServeHTTP(rec, req)
//	api.CheckRecorder(t, req, body, rec)
//
// A check fails the test when the method and path match no documented
// operation, when the status is not documented for the operation, or when the
// response's content type, headers or body do not match what the document
// says for that status. The request itself (path, query, headers, credentials
// and body) is checked only when the response is not an error (status below
// 400): a request the server accepted must be one the document allows, while
// tests of error responses send invalid requests on purpose.
//
// Credentials are checked for presence and form only (Authorization: Bearer,
// X-API-Key), not for validity. The package registers a plain-text body
// decoder for text/html with kin-openapi, for the public card page.
package openapitest

package poster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// DefaultBaseURL is Poster's API root; methods are {base}/{method}.
const DefaultBaseURL = "https://joinposter.com/api"

// maxResponse bounds how much of an answer is read.
const maxResponse = 8 << 20

// Client calls the Poster web API for one application (AppID, AppSecret).
// Its zero value with the app's id and secret calls Poster itself; it is
// safe for concurrent use.
type Client struct {
	// BaseURL is the API root; "" means DefaultBaseURL. Set it for a fake or
	// a regional host.
	BaseURL string
	// AppID and AppSecret are the application's id and secret from Poster's
	// developer account.
	AppID     string
	AppSecret string
	// HTTP makes the calls; nil means a client with a 30 s timeout.
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func (c *Client) base() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Client) http() *http.Client {
	if c.HTTP == nil {
		return defaultHTTP
	}
	return c.HTTP
}

// Token is what the OAuth code exchange returns.
type Token struct {
	// AccessToken opens the API ("{account_number}:{hex}", valid 2 years).
	AccessToken string
	// AccountNumber is the account's unique number ("861052").
	AccountNumber string
	// Account is the account login (the subdomain), from the redirect.
	Account string
	// UserID is the employee who installed the app.
	UserID int64
	// OwnerEmail, OwnerPhone, CompanyName and Country (ISO 3166 alpha-2)
	// describe the account owner (ownerInfo).
	OwnerEmail  string
	OwnerPhone  string
	CompanyName string
	Country     string
}

// AuthorizeURL returns where to send the business owner to connect Poster:
// {base}/auth with client_id and application_id (both the app id; the docs
// use the first on joinposter.com and the second on an account's host),
// redirect_uri, response_type=code and state. Poster redirects back to
// redirect_uri with ?code=…&account=… (en/start/authApi.md).
func (c *Client) AuthorizeURL(redirectURI, state string) string {
	q := url.Values{}
	q.Set("client_id", c.AppID)
	q.Set("application_id", c.AppID)
	q.Set("redirect_uri", redirectURI)
	q.Set("response_type", "code")
	if state != "" {
		q.Set("state", state)
	}
	return c.base() + "/auth?" + q.Encode()
}

// accountRE is an account login: a DNS label.
var accountRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// tokenURL returns the access_token endpoint: on Poster itself
// https://{account}.joinposter.com/api/v2/auth/access_token, elsewhere (a
// fake, a regional host) {base}/v2/auth/access_token.
func (c *Client) tokenURL(account string) (string, error) {
	if c.base() != DefaultBaseURL {
		return c.base() + "/v2/auth/access_token", nil
	}
	account = strings.ToLower(account)
	if !accountRE.MatchString(account) {
		return "", hub.Errorf(hub.EValidation, "poster: bad account %q", account)
	}
	return "https://" + account + ".joinposter.com/api/v2/auth/access_token", nil
}

// ExchangeCode trades the code from the OAuth redirect for an access token:
// a form POST of application_id, application_secret,
// grant_type=authorization_code, redirect_uri and code. account is the
// redirect's account parameter.
func (c *Client) ExchangeCode(ctx context.Context, account, code, redirectURI string) (*Token, error) {
	const method = "auth.access_token"
	if code == "" {
		return nil, hub.Errorf(hub.EValidation, "poster: no authorization code")
	}
	endpoint, err := c.tokenURL(account)
	if err != nil {
		return nil, err
	}
	form := url.Values{}
	form.Set("application_id", c.AppID)
	form.Set("application_secret", c.AppSecret)
	form.Set("grant_type", "authorization_code")
	form.Set("redirect_uri", redirectURI)
	form.Set("code", code)
	body, err := c.do(ctx, method, http.MethodPost, endpoint, form)
	if err != nil {
		return nil, err
	}
	var out struct {
		AccessToken   string `json:"access_token"`
		AccountNumber ID     `json:"account_number"`
		User          struct {
			ID ID `json:"id"`
		} `json:"user"`
		OwnerInfo struct {
			Email       string `json:"email"`
			Phone       string `json:"phone"`
			Country     string `json:"country"`
			CompanyName string `json:"company_name"`
		} `json:"ownerInfo"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		return nil, &Error{Kind: KindPermanent, Method: method, Message: "answer has no access_token", Err: err}
	}
	acct := string(out.AccountNumber)
	if acct == "" {
		acct, _, _ = strings.Cut(out.AccessToken, ":")
	}
	return &Token{
		AccessToken: out.AccessToken, AccountNumber: acct, Account: account, UserID: out.User.ID.Int(),
		OwnerEmail: out.OwnerInfo.Email, OwnerPhone: out.OwnerInfo.Phone,
		CompanyName: out.OwnerInfo.CompanyName, Country: out.OwnerInfo.Country,
	}, nil
}

// get calls GET {base}/{method}?token=…&params and decodes "response" into out.
func (c *Client) get(ctx context.Context, token, method string, params url.Values, out any) error {
	return c.call(ctx, token, method, http.MethodGet, params, nil, out)
}

// post calls POST {base}/{method}?token=… with a form body and decodes
// "response" into out.
func (c *Client) post(ctx context.Context, token, method string, form url.Values, out any) error {
	return c.call(ctx, token, method, http.MethodPost, nil, form, out)
}

func (c *Client) call(ctx context.Context, token, method, verb string, params, form url.Values, out any) error {
	if token == "" {
		return &Error{Kind: KindAuthRevoked, Method: method, Code: CodeNoToken, Message: "no access token"}
	}
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set("token", token)
	endpoint := c.base() + "/" + method + "?" + q.Encode()
	body, err := c.do(ctx, method, verb, endpoint, form)
	if err != nil {
		return err
	}
	var env struct {
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Response) == 0 {
		return &Error{Kind: KindTransient, Method: method, HTTPStatus: http.StatusOK,
			Message: "answer has no response", Err: err}
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		return &Error{Kind: KindPermanent, Method: method, HTTPStatus: http.StatusOK,
			Message: "unexpected response shape", Err: err}
	}
	return nil
}

// do makes one request and returns the body of a successful answer; Poster
// errors (also with HTTP 200) and HTTP failures become *Error.
func (c *Client) do(ctx context.Context, method, verb, endpoint string, form url.Values) ([]byte, error) {
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, verb, endpoint, rd)
	if err != nil {
		return nil, &Error{Kind: KindPermanent, Method: method, Message: "bad request", Err: stripURL(err)}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, transportError(method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, transportError(method, err)
	}
	if ae, ok := parseAPIError(body); ok {
		kind := kindForCode(ae.Code)
		if ae.Code == 0 || (kind == KindPermanent && resp.StatusCode >= 500) {
			kind = kindForStatus(resp.StatusCode) // a 5xx is Poster's trouble, whatever the code
		}
		e := &Error{Kind: kind, Method: method, Code: ae.Code, Message: ae.Message, HTTPStatus: resp.StatusCode}
		if kind == KindRateLimited {
			e.RetryAfter = retryAfter(resp.Header)
		}
		return nil, e
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Kind: kindForStatus(resp.StatusCode), Method: method, HTTPStatus: resp.StatusCode,
			Message: snippet(body)}
		if e.Kind == KindRateLimited {
			e.RetryAfter = retryAfter(resp.Header)
		}
		return nil, e
	}
	return body, nil
}

// stripURL drops the URL (which carries the token) from a *url.Error.
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 120 {
		b = b[:120]
	}
	return strconv.Quote(string(b))
}

// Transaction fetches one check with its products (dash.getTransaction with
// include_products=true). A transaction Poster does not return is a
// not_found *hub.Error.
func (c *Client) Transaction(ctx context.Context, token string, transactionID string) (*Transaction, error) {
	if _, err := strconv.ParseInt(transactionID, 10, 64); err != nil {
		return nil, hub.Errorf(hub.EValidation, "poster: bad transaction id %q", transactionID)
	}
	const method = "dash.getTransaction"
	var raw json.RawMessage
	err := c.get(ctx, token, method, url.Values{
		"transaction_id": {transactionID}, "include_products": {"true"},
	}, &raw)
	if err != nil {
		return nil, err
	}
	var tx Transaction
	found, err := decodeOne(raw, &tx)
	if err != nil {
		return nil, &Error{Kind: KindPermanent, Method: method, HTTPStatus: http.StatusOK,
			Message: "unexpected transaction shape", Err: err}
	}
	if !found {
		return nil, hub.NotFound("poster transaction")
	}
	return &tx, nil
}

// decodeOne decodes a response that is one object or a list of them (Poster
// answers single-object methods with a one-element list) into out; found is
// false for an empty list, null or false.
func decodeOne(raw json.RawMessage, out any) (found bool, err error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null" || string(raw) == "false":
		return false, nil
	case raw[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return false, err
		}
		if len(list) == 0 {
			return false, nil
		}
		return true, json.Unmarshal(list[0], out)
	default:
		return true, json.Unmarshal(raw, out)
	}
}

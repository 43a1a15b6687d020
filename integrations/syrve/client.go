package syrve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Syrve's European iiko Cloud API host.
const DefaultBaseURL = "https://api-eu.syrve.live"

// TokenRefreshAfter is how long a token is used before a new one is asked for.
// Syrve's tokens live about an hour ("The standard token lifetime is 1 hour",
// spec /api/1/access_token); a 401 before that also refreshes it once.
const TokenRefreshAfter = 45 * time.Minute

// maxResponse bounds how much of an answer is read (order listings can be big).
const maxResponse = 32 << 20

// tokenTimeout bounds one access_token call made on behalf of many callers.
const tokenTimeout = 30 * time.Second

// Client calls the Syrve (iiko Cloud) API for one apiLogin. Set the exported
// fields before the first call and do not change them afterwards; the zero
// values of the optional ones are fine. A Client is safe for concurrent use and
// must not be copied after first use.
type Client struct {
	// BaseURL is the API host; "" means DefaultBaseURL.
	BaseURL string
	// APILogin is the API key created in Syrve Office / iikoWeb.
	APILogin string
	// HTTP makes the calls; nil means a client with a 60 s timeout.
	HTTP *http.Client
	// Now is the clock deciding when the token is refreshed; nil means
	// time.Now.
	Now func() time.Time
	// Zone is the terminals' time zone: Syrve's order times (whenClosed,
	// whenCreated) and the date filters of the listing calls are local
	// terminal times without an offset. nil means UTC. Orders the client
	// returns carry it in Order.Zone.
	Zone *time.Location

	mu       sync.Mutex
	token    string
	fetched  time.Time
	inflight *tokenCall
}

// tokenCall is one access_token call shared by every caller that needs it.
type tokenCall struct {
	done  chan struct{}
	token string
	err   error
}

func (c *Client) base() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

var defaultHTTP = &http.Client{Timeout: 60 * time.Second}

func (c *Client) http() *http.Client {
	if c.HTTP == nil {
		return defaultHTTP
	}
	return c.HTTP
}

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Client) zone() *time.Location {
	if c.Zone == nil {
		return time.UTC
	}
	return c.Zone
}

// accessToken returns a token to call with. A cached one is returned while it
// is younger than TokenRefreshAfter and is not stale (the token a call was
// just refused with); otherwise one access_token call is made and shared by
// every concurrent caller.
func (c *Client) accessToken(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	if c.token != "" && c.token != stale && c.now().Sub(c.fetched) < TokenRefreshAfter {
		t := c.token
		c.mu.Unlock()
		return t, nil
	}
	call := c.inflight
	if call == nil {
		call = &tokenCall{done: make(chan struct{})}
		c.inflight = call
		// The call outlives a cancelled caller: others may be waiting on it.
		go c.refresh(context.WithoutCancel(ctx), call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.token, call.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// refresh makes one access_token call and publishes its result.
func (c *Client) refresh(ctx context.Context, call *tokenCall) {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	var out struct {
		Token string `json:"token"`
	}
	err := c.do(ctx, "/api/1/access_token", "", map[string]string{"apiLogin": c.APILogin}, &out)
	if err == nil && out.Token == "" {
		err = &Error{Kind: KindTransient, Op: "/api/1/access_token", Description: "answer without a token"}
	}
	c.mu.Lock()
	if err == nil {
		c.token, c.fetched = out.Token, c.now()
	}
	c.inflight = nil
	c.mu.Unlock()
	call.token, call.err = out.Token, err
	close(call.done)
}

// call POSTs req to path with a bearer token and decodes the answer into out.
// A 401 refreshes the token and makes the call once more.
func (c *Client) call(ctx context.Context, path string, req, out any) error {
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return err
	}
	err = c.do(ctx, path, tok, req, out)
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		return err
	}
	if tok, err = c.accessToken(ctx, tok); err != nil {
		return err
	}
	return c.do(ctx, path, tok, req, out)
}

// do makes one POST. token "" means the access_token call itself.
func (c *Client) do(ctx context.Context, path, token string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return &Error{Kind: KindPermanent, Op: path, Err: err}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+path, bytes.NewReader(body))
	if err != nil {
		return &Error{Kind: KindPermanent, Op: path, Err: err}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http().Do(hr)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err()
		}
		return transportError(path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return transportError(path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var ans errorAnswer
		_ = json.Unmarshal(raw, &ans)
		return classify(path, resp.StatusCode, resp.Header, ans, token == "")
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Kind: KindTransient, Op: path, Status: resp.StatusCode,
			Err: fmt.Errorf("undecodable answer: %w", err)}
	}
	return nil
}

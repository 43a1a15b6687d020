package walletpush

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/7loc/hub/hub"
	gjwt "github.com/golang-jwt/jwt/v4"
	"golang.org/x/oauth2"
	ojwt "golang.org/x/oauth2/jwt"
)

// GoogleSaveURLPrefix starts every "Save to Google Wallet" link.
const GoogleSaveURLPrefix = "https://pay.google.com/gp/v/save/"

// googleRetryAfter is the pause after a 429 without Retry-After.
const googleRetryAfter = 30 * time.Second

// serviceAccount is the part of a Google service-account JSON key the hub uses.
type serviceAccount struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	key          *rsa.PrivateKey
}

func parseServiceAccount(s string) (*serviceAccount, error) {
	var sa serviceAccount
	if err := json.Unmarshal([]byte(s), &sa); err != nil {
		return nil, errors.New("must be the service account's JSON key file")
	}
	if sa.Type != "service_account" {
		return nil, fmt.Errorf("is a %q key, not a service_account key", sa.Type)
	}
	if sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, errors.New("lacks client_email or private_key")
	}
	b, _ := pem.Decode([]byte(sa.PrivateKey))
	if b == nil {
		return nil, errors.New("private_key is not a PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, errors.New("private_key is not an RSA private key")
	}
	sa.key = rk
	return &sa, nil
}

// ctxTransport binds requests to a context (x/oauth2/jwt posts without one).
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// token returns a cached access token or fetches one with the service
// account's JWT-bearer grant.
func (g *googleSide) token(ctx context.Context) (string, *hub.SendError) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tok.Valid() {
		return g.tok.AccessToken, nil
	}
	base := g.client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc := &http.Client{Transport: ctxTransport{ctx, base}, Timeout: g.client.Timeout}
	cfg := &ojwt.Config{
		Email:        g.email,
		PrivateKey:   g.keyPEM,
		PrivateKeyID: g.keyID,
		Scopes:       []string{GoogleScope},
		TokenURL:     g.tokenURL,
	}
	tok, err := cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc)).Token()
	if err != nil {
		return "", tokenError(ctx, err)
	}
	g.tok = tok
	return tok.AccessToken, nil
}

// dropToken forgets an access token Google refused.
func (g *googleSide) dropToken(tok string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tok != nil && g.tok.AccessToken == tok {
		g.tok = nil
	}
}

func tokenError(ctx context.Context, err error) *hub.SendError {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		if ctx.Err() != nil {
			return ctxError(ctx.Err(), false)
		}
		return &hub.SendError{Kind: hub.SendTransient, Reason: "provider_down", Err: fmt.Errorf("google token: %w", err)}
	}
	st := re.Response.StatusCode
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(re.Body, &body)
	code := body.Error
	if code == "" {
		code = strconv.Itoa(st)
	}
	e := fmt.Errorf("google token: %d %s %s", st, body.Error, body.Description)
	switch {
	case st == http.StatusTooManyRequests:
		return &hub.SendError{Kind: hub.SendRateLimited, Code: code, Reason: "rate_limited", Scope: hub.ScopeSender,
			RetryAfter: retryAfter(re.Response.Header, googleRetryAfter), Err: e}
	case st >= 500:
		return &hub.SendError{Kind: hub.SendTransient, Code: code, Reason: "provider_error", Err: e}
	}
	// invalid_grant, invalid_client, unauthorized_client: the key is wrong,
	// deleted or disabled.
	return configError(code, e)
}

// googleMessage is a Google Wallet Message.
type googleMessage struct {
	Header      string `json:"header"`
	Body        string `json:"body"`
	ID          string `json:"id,omitempty"`
	MessageType string `json:"messageType"`
}

// googleError is the error body of Google APIs.
type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// addMessage adds a TEXT_AND_NOTIFY message to the card's loyalty object.
func (s *Sender) addMessage(ctx context.Context, m hub.Message) result {
	g := s.google
	if strings.TrimSpace(m.Text) == "" {
		return result{err: &hub.SendError{Kind: hub.SendPermanent, Reason: "empty_message", Err: errors.New("walletpush: Google Wallet messages need a text")}}
	}
	objectID := g.issuerID + "." + m.To
	if !validObjectID(objectID) {
		return result{err: &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true, Err: fmt.Errorf("walletpush: %q is not a Google Wallet object id", objectID)}}
	}
	header := strings.TrimSpace(m.Subject)
	if header == "" {
		header = "Update"
	}
	body, err := json.Marshal(map[string]googleMessage{"message": {Header: header, Body: m.Text, ID: m.DeliveryID, MessageType: "TEXT_AND_NOTIFY"}})
	if err != nil {
		return result{err: &hub.SendError{Kind: hub.SendPermanent, Reason: "provider_error", Err: err}}
	}
	endpoint := g.base + "/walletobjects/v1/loyaltyObject/" + url.PathEscape(objectID) + "/addMessage"
	for attempt := 0; ; attempt++ {
		tok, se := g.token(ctx)
		if se != nil {
			return result{err: se}
		}
		var written atomic.Bool
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				written.Store(true)
			}
		}})
		req, err := http.NewRequestWithContext(tctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return result{err: &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Err: err}}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := g.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return result{err: ctxError(err, written.Load())}
		}
		raw := readBody(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			g.dropToken(tok) // expired or revoked early: one more try with a fresh token
			continue
		}
		return classifyGoogle(resp, raw, m.DeliveryID)
	}
}

// classifyGoogle maps a Google Wallet API answer to a result.
func classifyGoogle(resp *http.Response, raw []byte, msgID string) result {
	st := resp.StatusCode
	// 409: a message with this id is already on the object, i.e. an earlier
	// attempt went through.
	if st/100 == 2 || st == http.StatusConflict {
		return result{reached: true, id: msgID}
	}
	var ge googleError
	_ = json.Unmarshal(raw, &ge)
	code := strconv.Itoa(st)
	if ge.Error.Code != 0 {
		code = strconv.Itoa(ge.Error.Code)
	}
	msg := ge.Error.Message
	if len(msg) > 200 {
		msg = msg[:200]
	}
	err := fmt.Errorf("google wallet: %d %s: %s", st, ge.Error.Status, msg)
	mk := func(kind hub.SendErrorKind, reason string) *hub.SendError {
		return &hub.SendError{Kind: kind, Code: code, Reason: reason, Err: err}
	}
	switch {
	case st == http.StatusNotFound:
		e := mk(hub.SendPermanent, "bad_address")
		e.Unreachable = true // the card was never saved to Google Wallet
		return result{err: e}
	case st == http.StatusTooManyRequests:
		e := mk(hub.SendRateLimited, "rate_limited")
		e.Scope, e.RetryAfter = hub.ScopeSender, retryAfter(resp.Header, googleRetryAfter)
		return result{err: e}
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return result{err: mk(hub.SendPermanent, "config")}
	case st == http.StatusServiceUnavailable || st == http.StatusBadGateway || st == http.StatusGatewayTimeout:
		return result{err: mk(hub.SendTransient, "provider_down")}
	case st >= 500:
		return result{err: mk(hub.SendTransient, "provider_error")}
	}
	return result{err: mk(hub.SendPermanent, "provider_error")}
}

// retryAfter reads a Retry-After header (seconds or HTTP date).
func retryAfter(h http.Header, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return def
}

// SaveURL returns a "Save to Google Wallet" link for a card: a JWT signed
// (RS256) with the service account's key whose payload names the loyalty
// object "<issuer>.<card>" of class google_class_id in state ACTIVE. origins
// are the web origins allowed to show the button (none for links).
func (s *Sender) SaveURL(cardID string, origins ...string) (string, error) {
	g := s.google
	if g == nil {
		return "", ErrGoogleNotConfigured
	}
	objectID := g.issuerID + "." + cardID
	if cardID == "" || !validObjectID(objectID) {
		return "", hub.Errorf(hub.EValidation, "walletpush: %q cannot be a Google Wallet object id", cardID)
	}
	orig := []string{}
	for _, o := range origins {
		if !validBaseURL(o) {
			return "", hub.Errorf(hub.EValidation, "walletpush: origin %q is not an http(s) origin", o)
		}
		orig = append(orig, o)
	}
	claims := gjwt.MapClaims{
		"iss":     g.email,
		"aud":     "google",
		"typ":     "savetowallet",
		"iat":     s.now().Unix(),
		"origins": orig,
		"payload": map[string]any{
			"loyaltyObjects": []map[string]string{{"id": objectID, "classId": g.classID, "state": "ACTIVE"}},
		},
	}
	t := gjwt.NewWithClaims(gjwt.SigningMethodRS256, claims)
	if g.keyID != "" {
		t.Header["kid"] = g.keyID
	}
	signed, err := t.SignedString(g.key)
	if err != nil {
		return "", fmt.Errorf("walletpush: signing the save link: %w", err)
	}
	return GoogleSaveURLPrefix + signed, nil
}

package posterfake

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook is a webhook for SendWebhook and WebhookBody.
type Webhook struct {
	// Account and AccountNumber default to the server's (WebhookBody: the
	// package defaults).
	Account       string
	AccountNumber string
	Object        string
	// ObjectID is sent as a JSON number when it is all digits (as Poster
	// does), else as a string; ObjectIDAsString forces a string.
	ObjectID         string
	ObjectIDAsString bool
	Action           string
	// Data, when not "", is sent as a JSON string holding it (Poster's form)
	// and signed.
	Data string
	// Time is the sending time; zero means now.
	Time time.Time
	// Verify overrides the signature (to send a wrong one) when not "".
	Verify string
}

// Sign returns Poster's signature of w: md5 of account, object, object_id,
// action, data (when present), time and the secret joined by ";".
func Sign(w Webhook, appSecret string) string {
	parts := []string{w.Account, w.Object, w.ObjectID, w.Action}
	if w.Data != "" {
		parts = append(parts, w.Data)
	}
	parts = append(parts, unixText(w.Time), appSecret)
	sum := md5.Sum([]byte(strings.Join(parts, ";")))
	return hex.EncodeToString(sum[:])
}

func unixText(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// WebhookBody returns the JSON body Poster would POST for w, signed with
// appSecret (empty Account and AccountNumber take the package defaults).
func WebhookBody(w Webhook, appSecret string) []byte {
	if w.Account == "" {
		w.Account = DefaultAccount
	}
	if w.AccountNumber == "" {
		w.AccountNumber = DefaultAccountNumber
	}
	if w.Time.IsZero() {
		w.Time = time.Now()
	}
	verify := w.Verify
	if verify == "" {
		verify = Sign(w, appSecret)
	}
	var objectID any = w.ObjectID
	if n, err := strconv.ParseInt(w.ObjectID, 10, 64); err == nil && !w.ObjectIDAsString && strconv.FormatInt(n, 10) == w.ObjectID {
		objectID = n
	}
	body := map[string]any{
		"account": w.Account, "account_number": w.AccountNumber, "object": w.Object,
		"object_id": objectID, "action": w.Action, "time": unixText(w.Time), "verify": verify,
	}
	if w.Data != "" {
		body["data"] = w.Data
	}
	b, _ := json.Marshal(body)
	return b
}

// SendWebhook POSTs w to url as Poster does, signed with the server's app
// secret and account, and fails unless the answer is 2xx.
func (s *Server) SendWebhook(ctx context.Context, url string, w Webhook) error {
	if w.Account == "" {
		w.Account = s.cfg.Account
	}
	if w.AccountNumber == "" {
		w.AccountNumber = s.cfg.AccountNumber
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(WebhookBody(w, s.cfg.AppSecret)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Poster webhook (posterfake)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("posterfake: webhook answered HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

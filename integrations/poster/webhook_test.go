package poster_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/integrations/poster"
	"github.com/7loc/hub/integrations/poster/posterfake"
)

const secret = "fe2bc8e865d8fc2236968ee53c3b2bd5"

// md5hex is the reference: md5 of the literal joined string.
func md5hex(t *testing.T, s string) string {
	t.Helper()
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestParseWebhook(t *testing.T) {
	noData := md5hex(t, "api-demo;transaction;1;added;1518794257;"+secret)
	withData := md5hex(t, `api-demo;client_ewallet;42;changed;{"value_relative":100,"value_absolute":500};1518794257;`+secret)
	tests := []struct {
		name    string
		body    string
		want    *poster.Webhook
		wantErr error
	}{
		{
			name: "valid without data, numeric object_id",
			body: `{"account":"api-demo","account_number":"203941","object":"transaction","object_id":1,` +
				`"action":"added","time":"1518794257","verify":"` + noData + `"}`,
			want: &poster.Webhook{Account: "api-demo", AccountNumber: "203941", Object: "transaction", ObjectID: "1",
				Action: "added", Time: "1518794257", Verify: noData},
		},
		{
			name: "object_id as string signs the same",
			body: `{"account":"api-demo","object":"transaction","object_id":"1",` +
				`"action":"added","time":"1518794257","verify":"` + noData + `"}`,
			want: &poster.Webhook{Account: "api-demo", Object: "transaction", ObjectID: "1",
				Action: "added", Time: "1518794257", Verify: noData},
		},
		{
			name: "upper-case verify",
			body: `{"account":"api-demo","object":"transaction","object_id":1,` +
				`"action":"added","time":"1518794257","verify":"` + upper(noData) + `"}`,
			want: &poster.Webhook{Account: "api-demo", Object: "transaction", ObjectID: "1",
				Action: "added", Time: "1518794257", Verify: upper(noData)},
		},
		{
			name: "null data is absent",
			body: `{"account":"api-demo","object":"transaction","object_id":1,"data":null,` +
				`"action":"added","time":"1518794257","verify":"` + noData + `"}`,
			want: &poster.Webhook{Account: "api-demo", Object: "transaction", ObjectID: "1",
				Action: "added", Time: "1518794257", Verify: noData},
		},
		{
			name: "data as a JSON string signs its value",
			body: `{"account":"api-demo","object":"client_ewallet","object_id":42,"action":"changed",` +
				`"time":"1518794257","data":"{\"value_relative\":100,\"value_absolute\":500}","verify":"` + withData + `"}`,
			want: &poster.Webhook{Account: "api-demo", Object: "client_ewallet", ObjectID: "42", Action: "changed",
				Time: "1518794257", Verify: withData, Data: `{"value_relative":100,"value_absolute":500}`, HasData: true},
		},
		{
			name: "data as an object signs its raw text",
			body: `{"account":"api-demo","object":"client_ewallet","object_id":42,"action":"changed",` +
				`"time":"1518794257","data":{"value_relative":100,"value_absolute":500},"verify":"` + withData + `"}`,
			want: &poster.Webhook{Account: "api-demo", Object: "client_ewallet", ObjectID: "42", Action: "changed",
				Time: "1518794257", Verify: withData, Data: `{"value_relative":100,"value_absolute":500}`, HasData: true},
		},
		{
			name: "data present but left out of the signature",
			body: `{"account":"api-demo","object":"transaction","object_id":1,"data":"{}",` +
				`"action":"added","time":"1518794257","verify":"` + noData + `"}`,
			wantErr: poster.ErrBadSignature,
		},
		{
			name: "signature made with data, data removed",
			body: `{"account":"api-demo","object":"client_ewallet","object_id":42,"action":"changed",` +
				`"time":"1518794257","verify":"` + withData + `"}`,
			wantErr: poster.ErrBadSignature,
		},
		{
			name: "tampered object_id",
			body: `{"account":"api-demo","object":"transaction","object_id":2,` +
				`"action":"added","time":"1518794257","verify":"` + noData + `"}`,
			wantErr: poster.ErrBadSignature,
		},
		{
			name: "tampered time",
			body: `{"account":"api-demo","object":"transaction","object_id":1,` +
				`"action":"added","time":"1518794258","verify":"` + noData + `"}`,
			wantErr: poster.ErrBadSignature,
		},
		{
			name: "tampered account_number is not signed",
			body: `{"account":"api-demo","account_number":"999","object":"transaction","object_id":1,` +
				`"action":"added","time":"1518794257","verify":"` + noData + `"}`,
			want: &poster.Webhook{Account: "api-demo", AccountNumber: "999", Object: "transaction", ObjectID: "1",
				Action: "added", Time: "1518794257", Verify: noData},
		},
		{
			name: "wrong signature",
			body: `{"account":"api-demo","object":"transaction","object_id":1,` +
				`"action":"added","time":"1518794257","verify":"a23sk3d9123ka31sd3k5asd9123sad93"}`,
			wantErr: poster.ErrBadSignature,
		},
		{
			name:    "missing signature",
			body:    `{"account":"api-demo","object":"transaction","object_id":1,"action":"added","time":"1518794257"}`,
			wantErr: poster.ErrBadSignature,
		},
		{
			name:    "not JSON",
			body:    `account=api-demo`,
			wantErr: poster.ErrMalformedWebhook,
		},
		{
			name: "signed but without object_id",
			body: `{"account":"api-demo","object":"transaction","action":"added","time":"1518794257","verify":"` +
				md5hex(t, "api-demo;transaction;;added;1518794257;"+secret) + `"}`,
			wantErr: poster.ErrMalformedWebhook,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := poster.ParseWebhook([]byte(tt.body), secret)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("webhook (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseWebhookErrorCodes(t *testing.T) {
	_, err := poster.ParseWebhook([]byte(`{"account":"a"}`), secret)
	if got := hub.ErrorCode(err); got != hub.EUnauthorized {
		t.Errorf("bad signature code %q, want %q", got, hub.EUnauthorized)
	}
	_, err = poster.ParseWebhook([]byte(`[`), secret)
	if got := hub.ErrorCode(err); got != hub.EInvalidJSON {
		t.Errorf("malformed code %q, want %q", got, hub.EInvalidJSON)
	}
	// An empty secret never validates, even against a signature made with it.
	body := `{"account":"a","object":"o","object_id":1,"action":"x","time":"1","verify":"` +
		md5hex(t, "a;o;1;x;1;") + `"}`
	if _, err := poster.ParseWebhook([]byte(body), ""); !errors.Is(err, poster.ErrBadSignature) {
		t.Errorf("empty secret: %v", err)
	}
}

// TestParseWebhookReplay: the same body twice is valid twice (dedupe is the
// hub's job).
func TestParseWebhookReplay(t *testing.T) {
	body := []byte(`{"account":"api-demo","object":"transaction","object_id":1,"action":"added","time":"1518794257","verify":"` +
		md5hex(t, "api-demo;transaction;1;added;1518794257;"+secret) + `"}`)
	for i := range 2 {
		if _, err := poster.ParseWebhook(body, secret); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
}

func TestClosedCheck(t *testing.T) {
	tests := []struct {
		name   string
		w      poster.Webhook
		wantID string
		wantOK bool
	}{
		{"transaction closed", poster.Webhook{Object: "transaction", ObjectID: "16776", Action: "closed"}, "16776", true},
		{"transaction changed without data", poster.Webhook{Object: "transaction", ObjectID: "7", Action: "changed"}, "7", true},
		{"transaction changed: close", poster.Webhook{Object: "transaction", ObjectID: "7", Action: "changed",
			HasData: true, Data: `{"transactions_history":{"type_history":"close","time":1688722229115}}`}, "7", true},
		{"transaction changed: additem", poster.Webhook{Object: "transaction", ObjectID: "7", Action: "changed",
			HasData: true, Data: `{"transactions_history":{"type_history":"additem","value":483}}`}, "", false},
		{"transaction changed: other data", poster.Webhook{Object: "transaction", ObjectID: "7", Action: "changed",
			HasData: true, Data: `{"status":"2"}`}, "7", true},
		{"transaction added", poster.Webhook{Object: "transaction", ObjectID: "7", Action: "added"}, "", false},
		{"transaction removed", poster.Webhook{Object: "transaction", ObjectID: "7", Action: "removed"}, "", false},
		{"client_payed_sum", poster.Webhook{Object: "client_payed_sum", ObjectID: "7", Action: "added"}, "", false},
		{"client", poster.Webhook{Object: "client", ObjectID: "7", Action: "changed"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := tt.w.ClosedCheck()
			if id != tt.wantID || ok != tt.wantOK {
				t.Errorf("ClosedCheck() = %q, %v; want %q, %v", id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestAccessToken(t *testing.T) {
	w := poster.Webhook{Object: "application", Action: "added", HasData: true,
		Data: `{"user_id":4,"access_token":"861052:02391570ff9af128e93c5a771055ba88"}`}
	if got := w.AccessToken(); got != "861052:02391570ff9af128e93c5a771055ba88" {
		t.Errorf("AccessToken() = %q", got)
	}
	w.Object = "transaction"
	if got := w.AccessToken(); got != "" {
		t.Errorf("AccessToken() of a transaction = %q", got)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FuzzParseWebhook: never panics; whatever parses re-verifies with
// Signature, and a parsed webhook always has the signed fields.
func FuzzParseWebhook(f *testing.F) {
	seeds := []string{
		`{"account":"api-demo","account_number":"203941","object":"transaction","object_id":1,"action":"added","time":"1518794257","verify":"x"}`,
		`{"account":"api-demo","object":"transaction","object_id":"16776","action":"changed","time":"1688722229","verify":"f6a209fccb87d7051d49bf3342c656ab","account_number":"333226","data":"{\"transactions_history\":{\"type_history\":\"additem\"}}"}`,
		`{"account":"a","object":"client_ewallet","object_id":1,"action":"changed","time":"1","data":{"value_relative":1},"verify":""}`,
		`{"object_id":1e3,"data":null}`,
		`{}`, `[]`, `null`, `"x"`, ``, `{"verify":5}`, `{"account":{"a":[1,2]},"time":true}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), secret)
	}
	f.Add([]byte(`{"account":"api-demo","object":"transaction","object_id":1,"action":"added","time":"1518794257","verify":"`+
		func() string {
			s := md5.Sum([]byte("api-demo;transaction;1;added;1518794257;" + secret))
			return hex.EncodeToString(s[:])
		}()+`"}`), secret)
	f.Fuzz(func(t *testing.T, body []byte, appSecret string) {
		w, err := poster.ParseWebhook(body, appSecret)
		if err != nil {
			if w != nil {
				t.Fatal("webhook with an error")
			}
			if !errors.Is(err, poster.ErrBadSignature) && !errors.Is(err, poster.ErrMalformedWebhook) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if appSecret == "" || w.Account == "" || w.Object == "" || w.ObjectID == "" || w.Action == "" || w.Time == "" {
			t.Fatalf("accepted %+v with secret %q", w, appSecret)
		}
		if got := poster.Signature(w, appSecret); got != lower(w.Verify) {
			t.Fatalf("Signature %s, verify %s", got, w.Verify)
		}
		w.ClosedCheck()
		w.AccessToken()
	})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// FuzzWebhookRoundTrip: a body the fake builds and signs (an implementation
// of Poster's algorithm independent of ParseWebhook's) always verifies and
// gives back its fields; the same body with another secret never does.
func FuzzWebhookRoundTrip(f *testing.F) {
	f.Add("api-demo", "transaction", "16776", "closed", "", int64(1688722229))
	f.Add("mykava6", "client_ewallet", "42", "changed", `{"value_relative":100,"value_absolute":500}`, int64(1518794257))
	f.Add("a;b", "o;", "x-1", "changed", `"quoted" \ ; ü`, int64(0))
	f.Fuzz(func(t *testing.T, account, object, objectID, action, data string, unix int64) {
		if account == "" || object == "" || objectID == "" || action == "" || unix <= 0 || unix > 1<<40 {
			t.Skip()
		}
		for _, s := range []string{account, object, objectID, action, data} {
			if !utf8.ValidString(s) {
				t.Skip() // JSON cannot carry it unchanged
			}
		}
		w := posterfake.Webhook{Account: account, Object: object, ObjectID: objectID, Action: action, Data: data,
			Time: time.Unix(unix, 0)}
		body := posterfake.WebhookBody(w, secret)
		got, err := poster.ParseWebhook(body, secret)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got.Account != account || got.Object != object || got.ObjectID != objectID || got.Action != action ||
			got.Data != data || got.HasData != (data != "") || got.Time != strconv.FormatInt(unix, 10) {
			t.Fatalf("round trip %+v from %s", got, body)
		}
		if _, err := poster.ParseWebhook(body, secret+"x"); !errors.Is(err, poster.ErrBadSignature) {
			t.Fatalf("other secret: %v", err)
		}
	})
}

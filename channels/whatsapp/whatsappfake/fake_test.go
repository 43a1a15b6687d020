package whatsappfake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/whatsapp/whatsappfake"
)

// TestWireErrors checks the fake's answers to malformed calls, in Meta's format.
func TestWireErrors(t *testing.T) {
	type graphErr struct {
		Code    int    `json:"code"`
		Subcode int    `json:"error_subcode"`
		Type    string `json:"type"`
	}
	pnid := whatsappfake.DefaultPhoneNumberID
	tests := []struct {
		name, path, token, body string
		status                  int
		want                    graphErr
	}{
		{"no token", "/v21.0/" + pnid + "/messages", "", `{}`, 401, graphErr{Code: 190, Type: "OAuthException"}},
		{"other number", "/v21.0/1/messages", whatsappfake.DefaultAccessToken, `{}`, 400,
			graphErr{Code: 100, Subcode: 33, Type: "GraphMethodException"}},
		{"not json", "/v21.0/" + pnid + "/messages", whatsappfake.DefaultAccessToken, `{`, 400,
			graphErr{Code: 100, Type: "OAuthException"}},
		{"no product", "/v21.0/" + pnid + "/messages", whatsappfake.DefaultAccessToken,
			`{"to":"1","type":"text","text":{"body":"x"}}`, 400, graphErr{Code: 100, Type: "OAuthException"}},
		{"empty template params", "/v21.0/" + pnid + "/messages", whatsappfake.DefaultAccessToken,
			`{"messaging_product":"whatsapp","to":"1","type":"template","template":{"name":"t","language":{"code":"en"},` +
				`"components":[{"type":"body","parameters":[{"type":"text","text":""}]}]}}`, 400,
			graphErr{Code: 100, Type: "OAuthException"}},
		{"text outside window", "/v21.0/" + pnid + "/messages", whatsappfake.DefaultAccessToken,
			`{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"x"}}`, 400,
			graphErr{Code: 131047, Type: "OAuthException"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := whatsappfake.New(whatsappfake.Config{})
			defer fake.Close()
			req, _ := http.NewRequest(http.MethodPost, fake.URL+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := fake.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Error graphErr `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if d := cmp.Diff(tt.want, env.Error); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			if len(fake.Messages()) != 0 {
				t.Errorf("recorded a message")
			}
		})
	}
}

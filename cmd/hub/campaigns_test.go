package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/7loc/hub/channels/email/emailfake"
	"github.com/7loc/hub/hub"
)

// TestCampaignThroughWorkersReachesEveryoneOnce sends a campaign through
// the real queue (runner, chunks, router) to a fake SMTP server, with a
// one-off message of another customer in between.
func TestCampaignThroughWorkersReachesEveryoneOnce(t *testing.T) {
	smtp := emailfake.Start(t, emailfake.Options{})
	c := newChannelApp(t, providerURLs{})
	if st := c.call("PUT", "/v1/channels/email", map[string]any{"host": smtp.Host(), "port": smtp.Port(), "tls": "none",
		"from": "hello@cafe.test", "rate_per_second": 500}, nil); st != 200 {
		t.Fatalf("PUT email: %d", st)
	}
	const n = 260
	for i := range n {
		c.customer(fmt.Sprintf("guest%03d@example.com", i), map[string]bool{"email": true})
	}
	c.customer("no-consent@example.com", nil)
	var cmp hub.Campaign
	if st := c.call("POST", "/v1/campaigns", map[string]any{"name": "Spring", "audience": map[string]any{"all": []any{}},
		"message": map[string]any{"variants": []map[string]any{{"language": "en", "kind": "email",
			"subject": "Spring for {{ card.next_reward }}", "html": "<p>{{ card.stamps_left }} stamps to {{ card.next_reward }}</p>"}}}}, &cmp); st != 201 {
		t.Fatalf("create campaign: %d", st)
	}
	if st := c.call("POST", "/v1/campaigns/"+cmp.ID+"/send", nil, &cmp); st != 202 || cmp.Status != hub.CampaignStatusSending {
		t.Fatalf("send: %d %s", st, cmp.Status)
	}
	var d hub.Delivery
	if st := c.call("POST", "/v1/messages", map[string]any{"customer": map[string]any{"email": "guest000@example.com"},
		"text": "Your code is 1234", "transactional": true}, &d); st != 202 || d.Channel != hub.ChannelEmail {
		t.Fatalf("one-off message: %d %+v", st, d)
	}
	deadline := time.Now().Add(60 * time.Second)
	for cmp.Status != hub.CampaignStatusSent {
		if time.Now().After(deadline) {
			t.Fatalf("campaign still %s after 60 s: %+v", cmp.Status, cmp.Stats)
		}
		time.Sleep(100 * time.Millisecond)
		c.call("GET", "/v1/campaigns/"+cmp.ID, nil, &cmp)
	}
	want := hub.CampaignStats{Audience: n + 1, Sent: n, Skipped: map[string]int{hub.ReasonNoChannel: 1}}
	if cmp.Stats.Audience != want.Audience || cmp.Stats.Sent != want.Sent || cmp.Stats.Failed != 0 || cmp.Stats.Skipped[hub.ReasonNoChannel] != 1 {
		t.Fatalf("stats %+v, want %+v", cmp.Stats, want)
	}
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliverySent {
		t.Fatalf("one-off message: %+v", got)
	}
	perAddress := map[string]int{}
	for _, m := range smtp.Messages() {
		if m.Header.Get("Subject") == "Spring for Coffee" {
			perAddress[m.To[0]]++
		}
	}
	if len(perAddress) != n {
		t.Errorf("%d addresses got the campaign, want %d", len(perAddress), n)
	}
	for addr, k := range perAddress {
		if k != 1 {
			t.Errorf("%s got the campaign %d times", addr, k)
		}
	}
	var events struct {
		Data []hub.Event `json:"data"`
	}
	c.call("GET", "/v1/events?type=campaign_sent", nil, &events)
	if len(events.Data) != 1 || events.Data[0].Campaign.Sent != n || events.Data[0].Campaign.Skipped != 1 {
		t.Fatalf("campaign_sent events: %+v", events.Data)
	}
}

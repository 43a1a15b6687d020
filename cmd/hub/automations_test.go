package main

import (
	"context"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/email/emailfake"
	"github.com/7loc/hub/hub"
)

// TestGoalReachedAutomationThroughWorkers enables the ready-made "Goal
// reached" automation, stamps a card to its goal through the API, and
// expects the real workers (event dispatch, automation run, email router)
// to send the rendered template to the fake SMTP server exactly once, also
// when the event is dispatched again and the run replayed.
func TestGoalReachedAutomationThroughWorkers(t *testing.T) {
	smtp := emailfake.Start(t, emailfake.Options{})
	c := newChannelApp(t, providerURLs{})
	if st := c.call("PUT", "/v1/channels/email", map[string]any{"host": smtp.Host(), "port": smtp.Port(), "tls": "none",
		"from": "hello@cafe.test"}, nil); st != 200 {
		t.Fatalf("PUT email: %d", st)
	}
	var list struct {
		Data []hub.Automation `json:"data"`
	}
	if st := c.call("GET", "/v1/automations", nil, &list); st != 200 {
		t.Fatalf("list automations: %d", st)
	}
	var goal *hub.Automation
	for i, a := range list.Data {
		if strings.HasPrefix(a.Name, "Goal reached") {
			goal = &list.Data[i]
		}
	}
	if goal == nil || goal.Enabled || goal.Trigger.Event != string(hub.GoalReached) {
		t.Fatalf("no disabled ready-made goal_reached automation among %+v", list.Data)
	}
	if st := c.call("PATCH", "/v1/automations/"+goal.ID, map[string]any{"enabled": true}, goal); st != 200 || !goal.Enabled {
		t.Fatalf("enable: %d %+v", st, goal)
	}

	ann := c.customer("ann@example.com", map[string]bool{"email": true})
	if st := c.call("PATCH", "/v1/customers/"+ann, map[string]any{"name": "Ann"}, nil); st != 200 {
		t.Fatalf("name: %d", st)
	}
	var cards struct {
		Data []hub.Card `json:"data"`
	}
	if st := c.call("GET", "/v1/cards?customer_id="+ann, nil, &cards); st != 200 || len(cards.Data) != 1 {
		t.Fatalf("cards: %d %+v", st, cards.Data)
	}
	for range 4 { // one short of the goal of 5: nothing is sent
		if st := c.call("POST", "/v1/cards/"+cards.Data[0].ID+"/stamps", map[string]any{}, nil); st != 200 {
			t.Fatalf("stamp: %d", st)
		}
	}
	if st := c.call("POST", "/v1/cards/"+cards.Data[0].ID+"/stamps", map[string]any{}, nil); st != 200 {
		t.Fatalf("fifth stamp: %d", st)
	}

	const subject = "Your reward at Channel Café is ready"
	sent := func() []emailfake.Message {
		var out []emailfake.Message
		for _, m := range smtp.Messages() {
			if got, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err == nil && got == subject {
				out = append(out, m)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(sent()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no email after 30 s; the fake got %d messages", len(smtp.Messages()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := sent()[0]
	if diff := cmp.Diff([]string{"ann@example.com"}, m.To); diff != "" {
		t.Errorf("recipients (-want +got):\n%s", diff)
	}
	text, ok := m.Part("text/plain")
	if !ok {
		t.Fatalf("the email has no text part:\n%s", m.Data)
	}
	for _, part := range []string{"Congratulations, Ann!", "You collected all 5 stamps", "https://hub.test/c/" + cards.Data[0].ID} {
		if !strings.Contains(text.Body, part) {
			t.Errorf("the email does not say %q:\n%s", part, text.Body)
		}
	}
	if html, ok := m.Part("text/html"); !ok || !strings.Contains(html.Body, "<h1>Congratulations, Ann!</h1>") {
		t.Errorf("the email's HTML part = %+v, want the rendered heading", html)
	}

	// Replay: dispatch the goal_reached event again, run the automation run
	// again and relay due runs; none sends a second email.
	var events struct {
		Data []hub.Event `json:"data"`
	}
	if st := c.call("GET", "/v1/events?type=goal_reached", nil, &events); st != 200 || len(events.Data) != 1 {
		t.Fatalf("goal_reached events: %d %+v", st, events.Data)
	}
	ctx := context.Background()
	if err := c.a.svc.DispatchEventKeys(ctx, []hub.EventKey{{BusinessID: c.biz, ID: events.Data[0].ID}}); err != nil {
		t.Fatalf("dispatch again: %v", err)
	}
	out, err := c.a.svc.RunAutomation(ctx, hub.AutomationKey{BusinessID: c.biz, AutomationID: goal.ID, TriggerKey: events.Data[0].ID})
	if err != nil || out.Status != hub.RunDone {
		t.Fatalf("run again = %+v, %v; want done", out, err)
	}
	if _, err := c.a.svc.RelayDueAutomations(ctx, 0, 100); err != nil {
		t.Fatalf("relay: %v", err)
	}
	waitSettled(t, c.a) // a wrongly queued second send would be sent by now
	if n := len(sent()); n != 1 {
		t.Errorf("%d goal-reached emails, want 1", n)
	}
	var deliveries struct {
		Data []hub.Delivery `json:"data"`
	}
	if st := c.call("GET", "/v1/deliveries?customer_id="+ann, nil, &deliveries); st != 200 {
		t.Fatalf("deliveries: %d", st)
	}
	var fromAutomation []string
	for _, d := range deliveries.Data {
		if strings.HasPrefix(d.Source, "automation:"+goal.ID+":") {
			fromAutomation = append(fromAutomation, d.Status)
		}
	}
	if diff := cmp.Diff([]string{hub.DeliverySent}, fromAutomation); diff != "" {
		t.Errorf("the automation's deliveries (-want +got):\n%s", diff)
	}
}

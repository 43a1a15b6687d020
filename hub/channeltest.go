package hub

import "context"

// ChannelTestInput is a test message through a provider
// (POST /v1/channels/{provider}/test and the console's Channels page).
type ChannelTestInput struct {
	CustomerID *string `json:"customer_id"`
	// Channel picks the messenger when the provider is the gateway.
	Channel *string `json:"channel"`
	// Text and Subject replace the default test message.
	Text    *string `json:"text"`
	Subject *string `json:"subject"`
}

// TestChannel queues a transactional test message through a business's
// provider to one of its customers and returns the delivery, whose status
// shows the outcome. The gateway needs the messenger (whatsapp, telegram or
// viber); other providers send on their own channel. The default text names
// the business.
func (s *Service) TestChannel(ctx context.Context, b *Business, provider string, in ChannelTestInput) (*Delivery, error) {
	if !ValidProvider(provider) {
		return nil, NotFound("channel")
	}
	channel := provider
	p := Problems{}
	if provider == ProviderGateway {
		if in.Channel == nil {
			p.Add("channel", "is required for the gateway: whatsapp, telegram or viber")
		} else {
			channel = *in.Channel
		}
	} else if in.Channel != nil && *in.Channel != provider {
		p.Add("channel", "must be "+provider+" or left out")
	}
	if in.CustomerID == nil {
		p.Add("customer_id", "is required")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	content := MessageContent{Text: "This is a test message from " + b.Name + ".", Subject: "Test message"}
	if in.Text != nil {
		content.Text = *in.Text
	}
	if in.Subject != nil {
		content.Subject = *in.Subject
	}
	d, _, err := s.QueueMessage(ctx, MessageRequest{BusinessID: b.ID, Source: "test:" + NewID("t"), Transactional: true,
		CustomerID: *in.CustomerID, Channel: channel, Content: content})
	return d, err
}

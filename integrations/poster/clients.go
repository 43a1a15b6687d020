package poster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/7loc/hub/hub"
)

// ClientByID fetches one customer (clients.getClient?client_id=). A customer
// Poster does not return is a not_found *hub.Error.
func (c *Client) ClientByID(ctx context.Context, token string, clientID string) (*PosterClient, error) {
	const method = "clients.getClient"
	if n, err := strconv.ParseInt(clientID, 10, 64); err != nil || n <= 0 {
		return nil, hub.Errorf(hub.EValidation, "poster: bad client id %q", clientID)
	}
	var raw json.RawMessage
	if err := c.get(ctx, token, method, url.Values{"client_id": {clientID}}, &raw); err != nil {
		return nil, err
	}
	var pc PosterClient
	found, err := decodeOne(raw, &pc)
	if err != nil {
		return nil, &Error{Kind: KindPermanent, Method: method, HTTPStatus: http.StatusOK,
			Message: "unexpected client shape", Err: err}
	}
	if !found || pc.ClientID == "" {
		return nil, hub.NotFound("poster client")
	}
	return &pc, nil
}

// FindClientByPhone returns the customer with this phone number
// (clients.getClients?phone=, international format), or nil and no error
// when there is none. Removed customers are skipped.
func (c *Client) FindClientByPhone(ctx context.Context, token, phone string) (*PosterClient, error) {
	e164, ok := hub.NormalizePhone(phone)
	if !ok {
		return nil, hub.Errorf(hub.EValidation, "poster: phone %q is not in international format", phone)
	}
	var list []PosterClient
	if err := c.get(ctx, token, "clients.getClients", url.Values{"phone": {e164}}, &list); err != nil {
		return nil, err
	}
	digits := e164[1:]
	for i := range list {
		pc := &list[i]
		if pc.Delete.Int() == 1 {
			continue
		}
		// Poster filters by phone; check anyway, in case a filter is ignored.
		if pc.PhoneNumber == digits || onlyDigits(pc.Phone) == digits {
			return pc, nil
		}
	}
	return nil, nil
}

// CreateClient creates a customer (clients.createClient) and returns its id.
// Poster requires a name and a group; phones are unique per account.
func (c *Client) CreateClient(ctx context.Context, token string, nc NewClient) (int64, error) {
	p := hub.Problems{}
	if strings.TrimSpace(nc.Name) == "" {
		p.Add("name", "is required")
	}
	if nc.GroupID <= 0 {
		p.Add("group_id", "is required")
	}
	if err := p.Err(); err != nil {
		return 0, err
	}
	form := url.Values{}
	form.Set("client_name", nc.Name)
	form.Set("client_groups_id_client", strconv.FormatInt(nc.GroupID, 10))
	for k, v := range map[string]string{"phone": nc.Phone, "email": nc.Email, "birthday": nc.Birthday,
		"card_number": nc.CardNumber, "comment": nc.Comment} {
		if v != "" {
			form.Set(k, v)
		}
	}
	var id ID
	if err := c.post(ctx, token, "clients.createClient", form, &id); err != nil {
		return 0, err
	}
	if id.Int() <= 0 {
		return 0, &Error{Kind: KindPermanent, Method: "clients.createClient", Message: "answer has no client id"}
	}
	return id.Int(), nil
}

// Groups lists the account's customer groups (clients.getGroups), removed
// ones included (Group.Delete).
func (c *Client) Groups(ctx context.Context, token string) ([]Group, error) {
	var list []Group
	if err := c.get(ctx, token, "clients.getGroups", nil, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// EnsureGroup returns the id of the customer group named name (compared
// case-insensitively, removed groups ignored), creating it when missing
// (clients.createGroup) with a 0% discount, loyalty_type 2 (discount), as
// Poster's loyalty guideline asks of loyalty apps. Calling it again finds
// the same group. Two concurrent first calls may both create one: callers
// serialise per account.
func (c *Client) EnsureGroup(ctx context.Context, token, name string) (int64, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return 0, hub.Errorf(hub.EValidation, "poster: group name is required")
	}
	groups, err := c.Groups(ctx, token)
	if err != nil {
		return 0, err
	}
	for _, g := range groups {
		if g.Delete.Int() != 1 && strings.EqualFold(strings.TrimSpace(g.Name), name) && g.ID.Int() > 0 {
			return g.ID.Int(), nil
		}
	}
	form := url.Values{}
	form.Set("client_groups_name", name)
	form.Set("loyalty_type", "2")
	form.Set("client_groups_discount", "0")
	var id ID
	if err := c.post(ctx, token, "clients.createGroup", form, &id); err != nil {
		return 0, err
	}
	if id.Int() <= 0 {
		return 0, &Error{Kind: KindPermanent, Method: "clients.createGroup", Message: "answer has no group id"}
	}
	return id.Int(), nil
}

// onlyDigits returns the digits of s.
func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

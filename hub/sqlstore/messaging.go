package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

const (
	channelConfigKind = "channel configuration"
	contactKind       = "contact"
	linkTokenKind     = "link token"
	deliveryKind      = "delivery"
	passKind          = "pass registration"
	passOfferKind     = "pass offer"
)

const channelConfigCols = "business_id, provider, enabled, settings, sealed, created_at, updated_at"

func scanChannelConfig(r scanner) (*hub.StoredChannelConfig, error) {
	var c hub.StoredChannelConfig
	err := r.Scan(&c.BusinessID, &c.Provider, &c.Enabled, jsonDest{&c.Settings}, &c.Sealed,
		timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt})
	return &c, err
}

// PutChannelConfig implements hub.Tx.
func (t *tx) PutChannelConfig(ctx context.Context, c *hub.StoredChannelConfig) error {
	settings, err := jsonArg(c.Settings)
	if err != nil {
		return err
	}
	if settings == nil {
		settings = "{}"
	}
	_, err = t.exec(ctx, "INSERT INTO channel_configs ("+channelConfigCols+") VALUES (?, ?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (business_id, provider) DO UPDATE SET enabled = excluded.enabled, settings = excluded.settings,"+
		" sealed = excluded.sealed, updated_at = excluded.updated_at",
		c.BusinessID, c.Provider, c.Enabled, settings, c.Sealed, t.tm(c.CreatedAt), t.tm(c.UpdatedAt))
	return mapErr(err, channelConfigKind)
}

// ChannelConfig implements hub.Tx.
func (t *tx) ChannelConfig(ctx context.Context, businessID, provider string) (*hub.StoredChannelConfig, error) {
	return one(ctx, t, channelConfigKind,
		"SELECT "+channelConfigCols+" FROM channel_configs WHERE business_id = ? AND provider = ?",
		[]any{businessID, provider}, scanChannelConfig)
}

// ChannelConfigs implements hub.Tx.
func (t *tx) ChannelConfigs(ctx context.Context, businessID string) ([]*hub.StoredChannelConfig, error) {
	return list(ctx, t, channelConfigKind,
		"SELECT "+channelConfigCols+" FROM channel_configs WHERE business_id = ? ORDER BY provider",
		[]any{businessID}, scanChannelConfig)
}

const contactCols = "business_id, customer_id, channel, address, linked_at, reachable, unreachable_reason," +
	" unreachable_at, last_inbound_at"

func scanContact(r scanner) (*hub.Contact, error) {
	var c hub.Contact
	err := r.Scan(&c.BusinessID, &c.CustomerID, &c.Channel, &c.Address, timeDest{&c.LinkedAt}, &c.Reachable,
		&c.UnreachableReason, nullTimeDest{&c.UnreachableAt}, nullTimeDest{&c.LastInboundAt})
	return &c, err
}

// PutContact implements hub.Tx: the address moves to this customer.
func (t *tx) PutContact(ctx context.Context, c *hub.Contact) error {
	if _, err := t.exec(ctx,
		"DELETE FROM customer_contacts WHERE business_id = ? AND channel = ? AND address = ? AND customer_id <> ?",
		c.BusinessID, c.Channel, c.Address, c.CustomerID); err != nil {
		return mapErr(err, contactKind)
	}
	_, err := t.exec(ctx, "INSERT INTO customer_contacts ("+contactCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (customer_id, channel) DO UPDATE SET address = excluded.address, linked_at = excluded.linked_at,"+
		" reachable = excluded.reachable, unreachable_reason = excluded.unreachable_reason,"+
		" unreachable_at = excluded.unreachable_at, last_inbound_at = excluded.last_inbound_at",
		c.BusinessID, c.CustomerID, c.Channel, c.Address, t.tm(c.LinkedAt), c.Reachable, c.UnreachableReason,
		t.ntm(c.UnreachableAt), t.ntm(c.LastInboundAt))
	return mapErr(err, contactKind)
}

// Contact implements hub.Tx.
func (t *tx) Contact(ctx context.Context, businessID, customerID, channel string) (*hub.Contact, error) {
	return one(ctx, t, contactKind,
		"SELECT "+contactCols+" FROM customer_contacts WHERE business_id = ? AND customer_id = ? AND channel = ?",
		[]any{businessID, customerID, channel}, scanContact)
}

// ContactByAddress implements hub.Tx.
func (t *tx) ContactByAddress(ctx context.Context, businessID, channel, address string) (*hub.Contact, error) {
	return one(ctx, t, contactKind,
		"SELECT "+contactCols+" FROM customer_contacts WHERE business_id = ? AND channel = ? AND address = ?",
		[]any{businessID, channel, address}, scanContact)
}

// Contacts implements hub.Tx.
func (t *tx) Contacts(ctx context.Context, businessID, customerID string) ([]*hub.Contact, error) {
	return list(ctx, t, contactKind,
		"SELECT "+contactCols+" FROM customer_contacts WHERE business_id = ? AND customer_id = ? ORDER BY channel",
		[]any{businessID, customerID}, scanContact)
}

const linkTokenCols = "hash, business_id, customer_id, channel, created_at, expires_at, used_at"

func scanLinkToken(r scanner) (*hub.LinkToken, error) {
	var l hub.LinkToken
	err := r.Scan(&l.Hash, &l.BusinessID, &l.CustomerID, &l.Channel, timeDest{&l.CreatedAt}, timeDest{&l.ExpiresAt},
		nullTimeDest{&l.UsedAt})
	return &l, err
}

// CreateLinkToken implements hub.Tx.
func (t *tx) CreateLinkToken(ctx context.Context, l *hub.LinkToken) error {
	return t.insert(ctx, linkTokenKind, "INSERT INTO link_tokens ("+linkTokenCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		l.Hash, l.BusinessID, l.CustomerID, l.Channel, t.tm(l.CreatedAt), t.tm(l.ExpiresAt), t.ntm(l.UsedAt))
}

// LinkToken implements hub.Tx.
func (t *tx) LinkToken(ctx context.Context, businessID, hash string) (*hub.LinkToken, error) {
	return one(ctx, t, linkTokenKind, "SELECT "+linkTokenCols+" FROM link_tokens WHERE hash = ? AND business_id = ?",
		[]any{hash, businessID}, scanLinkToken)
}

// UseLinkToken implements hub.Tx.
func (t *tx) UseLinkToken(ctx context.Context, businessID, hash string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, "UPDATE link_tokens SET used_at = ? WHERE hash = ? AND business_id = ? AND used_at IS NULL",
		t.tm(at), hash, businessID)
	if err != nil {
		return false, mapErr(err, linkTokenKind)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err, linkTokenKind)
}

const deliveryCols = "id, business_id, source, customer_id, channel, provider, status, content, attempts," +
	" provider_message_id, provider_status, error, created_at, updated_at, sent_at, transactional"

func scanDelivery(r scanner) (*hub.Delivery, error) {
	var d hub.Delivery
	err := r.Scan(&d.ID, &d.BusinessID, &d.Source, &d.CustomerID, &d.Channel, &d.Provider, &d.Status,
		jsonDest{&d.Content}, &d.Attempts, &d.ProviderMessageID, &d.ProviderStatus, &d.Error,
		timeDest{&d.CreatedAt}, timeDest{&d.UpdatedAt}, nullTimeDest{&d.SentAt}, &d.Transactional)
	return &d, err
}

// CreateDelivery implements hub.Tx.
func (t *tx) CreateDelivery(ctx context.Context, d *hub.Delivery) error {
	content, err := jsonArg(d.Content)
	if err != nil {
		return err
	}
	return t.insert(ctx, deliveryKind,
		"INSERT INTO deliveries ("+deliveryCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		d.ID, d.BusinessID, d.Source, d.CustomerID, d.Channel, d.Provider, d.Status, content, d.Attempts,
		d.ProviderMessageID, d.ProviderStatus, d.Error, t.tm(d.CreatedAt), t.tm(d.UpdatedAt), t.ntm(d.SentAt),
		d.Transactional)
}

// Delivery implements hub.Tx.
func (t *tx) Delivery(ctx context.Context, businessID, id string, forUpdate bool) (*hub.Delivery, error) {
	return one(ctx, t, deliveryKind,
		"SELECT "+deliveryCols+" FROM deliveries d WHERE id = ? AND business_id = ?"+t.lock(forUpdate, "d"),
		[]any{id, businessID}, scanDelivery)
}

// DeliveryBySource implements hub.Tx.
func (t *tx) DeliveryBySource(ctx context.Context, businessID, source, customerID, channel string) (*hub.Delivery, error) {
	return one(ctx, t, deliveryKind,
		"SELECT "+deliveryCols+" FROM deliveries WHERE business_id = ? AND source = ? AND customer_id = ? AND channel = ?",
		[]any{businessID, source, customerID, channel}, scanDelivery)
}

// DeliveryByProviderMessageID implements hub.Tx.
func (t *tx) DeliveryByProviderMessageID(ctx context.Context, businessID, providerMessageID string) (*hub.Delivery, error) {
	if providerMessageID == "" {
		return nil, hub.NotFound(deliveryKind)
	}
	return one(ctx, t, deliveryKind,
		"SELECT "+deliveryCols+" FROM deliveries WHERE business_id = ? AND provider_message_id = ?",
		[]any{businessID, providerMessageID}, scanDelivery)
}

// Deliveries implements hub.Tx: newest first, at most page.Size()+1.
func (t *tx) Deliveries(ctx context.Context, f hub.DeliveryFilter) ([]*hub.Delivery, error) {
	var w filter
	w.add("business_id = ?", f.BusinessID)
	if f.CustomerID != "" {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	tail := w.page("id", f.Page)
	return list(ctx, t, deliveryKind, "SELECT "+deliveryCols+" FROM deliveries"+w.sql()+tail, w.args, scanDelivery)
}

// UpdateDelivery implements hub.Tx.
func (t *tx) UpdateDelivery(ctx context.Context, d *hub.Delivery) error {
	return t.execOne(ctx, deliveryKind,
		"UPDATE deliveries SET provider = ?, status = ?, attempts = ?, provider_message_id = ?, provider_status = ?,"+
			" error = ?, updated_at = ?, sent_at = ? WHERE id = ? AND business_id = ?",
		d.Provider, d.Status, d.Attempts, d.ProviderMessageID, d.ProviderStatus, d.Error, t.tm(d.UpdatedAt),
		t.ntm(d.SentAt), d.ID, d.BusinessID)
}

// StalledDeliveries implements hub.Tx.
func (t *tx) StalledDeliveries(ctx context.Context, status string, before time.Time, after *hub.Delivery, limit int) ([]*hub.Delivery, error) {
	if after == nil {
		return list(ctx, t, deliveryKind,
			"SELECT "+deliveryCols+" FROM deliveries WHERE status = ? AND updated_at <= ? ORDER BY updated_at, id LIMIT ?",
			[]any{status, t.tm(before), limit}, scanDelivery)
	}
	return list(ctx, t, deliveryKind,
		"SELECT "+deliveryCols+" FROM deliveries WHERE status = ? AND updated_at <= ?"+
			" AND (updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT ?",
		[]any{status, t.tm(before), t.tm(after.UpdatedAt), after.ID, limit}, scanDelivery)
}

const passCols = "business_id, card_id, pass_type_id, device_id, push_token, created_at"

func scanPassRegistration(r scanner) (*hub.PassRegistration, error) {
	var p hub.PassRegistration
	err := r.Scan(&p.BusinessID, &p.CardID, &p.PassTypeID, &p.DeviceID, &p.PushToken, timeDest{&p.CreatedAt})
	return &p, err
}

// RegisterPassDevice implements hub.Tx.
func (t *tx) RegisterPassDevice(ctx context.Context, r *hub.PassRegistration) (bool, error) {
	res, err := t.exec(ctx, "UPDATE pass_registrations SET push_token = ?, pass_type_id = ?"+
		" WHERE card_id = ? AND device_id = ? AND business_id = ?",
		r.PushToken, r.PassTypeID, r.CardID, r.DeviceID, r.BusinessID)
	if err != nil {
		return false, mapErr(err, passKind)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return false, mapErr(err, passKind)
	}
	err = t.insert(ctx, passKind, "INSERT INTO pass_registrations ("+passCols+") VALUES (?, ?, ?, ?, ?, ?)",
		r.BusinessID, r.CardID, r.PassTypeID, r.DeviceID, r.PushToken, t.tm(r.CreatedAt))
	if hub.ErrorCode(err) == hub.EConflict {
		return false, nil // registered at the same moment by another request
	}
	return err == nil, err
}

// UnregisterPassDevice implements hub.Tx.
func (t *tx) UnregisterPassDevice(ctx context.Context, businessID, cardID, deviceID string) error {
	_, err := t.exec(ctx, "DELETE FROM pass_registrations WHERE business_id = ? AND card_id = ? AND device_id = ?",
		businessID, cardID, deviceID)
	return mapErr(err, passKind)
}

// PassDevices implements hub.Tx.
func (t *tx) PassDevices(ctx context.Context, businessID, cardID string) ([]*hub.PassRegistration, error) {
	return list(ctx, t, passKind,
		"SELECT "+passCols+" FROM pass_registrations WHERE business_id = ? AND card_id = ? ORDER BY device_id",
		[]any{businessID, cardID}, scanPassRegistration)
}

// DevicePasses implements hub.Tx.
func (t *tx) DevicePasses(ctx context.Context, deviceID, passTypeID string) ([]string, error) {
	rows, err := t.query(ctx, "SELECT card_id FROM pass_registrations WHERE device_id = ? AND pass_type_id = ? ORDER BY card_id",
		deviceID, passTypeID)
	if err != nil {
		return nil, mapErr(err, passKind)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapErr(err, passKind)
		}
		ids = append(ids, id)
	}
	return ids, mapErr(rows.Err(), passKind)
}

// CountPassDevices implements hub.Tx.
func (t *tx) CountPassDevices(ctx context.Context, businessID, cardID string) (int, error) {
	var n int
	err := t.queryRow(ctx, "SELECT COUNT(*) FROM pass_registrations WHERE business_id = ? AND card_id = ?",
		businessID, cardID).Scan(&n)
	return n, mapErr(err, passKind)
}

// PutPassOffer implements hub.Tx.
func (t *tx) PutPassOffer(ctx context.Context, o *hub.PassOffer) error {
	_, err := t.exec(ctx, "INSERT INTO pass_offers (card_id, business_id, text, updated_at) VALUES (?, ?, ?, ?)"+
		" ON CONFLICT (card_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
		o.CardID, o.BusinessID, o.Text, t.tm(o.UpdatedAt))
	return mapErr(err, passOfferKind)
}

// PassOffer implements hub.Tx.
func (t *tx) PassOffer(ctx context.Context, businessID, cardID string) (*hub.PassOffer, error) {
	return one(ctx, t, passOfferKind,
		"SELECT business_id, card_id, text, updated_at FROM pass_offers WHERE business_id = ? AND card_id = ?",
		[]any{businessID, cardID}, func(r scanner) (*hub.PassOffer, error) {
			var o hub.PassOffer
			err := r.Scan(&o.BusinessID, &o.CardID, &o.Text, timeDest{&o.UpdatedAt})
			return &o, err
		})
}

// byIDsBusiness scopes a statement that names its deliveries by id to
// their business (its argument follows the ids') without offering the
// planner business_id as an index key: deliveries are found by the primary
// key. PostgreSQL, planning against statistics taken while a campaign's
// deliveries were still few, otherwise chose (business_id, customer_id,
// created_at) and read every delivery of the business per statement
// (193 million index entries for 50,000 messages; 2.2 ms of PostgreSQL CPU
// per message instead of 0.7).
const byIDsBusiness = "business_id || '' = ?"

// DeliveriesByID implements hub.Tx: in id order, locked on PostgreSQL when
// forUpdate (rows are locked in id order, so two batches that share
// deliveries cannot deadlock).
func (t *tx) DeliveriesByID(ctx context.Context, businessID string, ids []string, forUpdate bool) ([]*hub.Delivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	t.planEach()
	return list(ctx, t, deliveryKind,
		"SELECT "+deliveryCols+" FROM deliveries d WHERE id IN ("+inList(len(ids))+") AND "+byIDsBusiness+
			" ORDER BY id"+t.lock(forUpdate, "d"),
		append(strArgs(ids), businessID), scanDelivery)
}

// ChannelContacts implements hub.Tx.
func (t *tx) ChannelContacts(ctx context.Context, businessID, channel string, customerIDs []string) ([]*hub.Contact, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	return list(ctx, t, contactKind,
		"SELECT "+contactCols+" FROM customer_contacts WHERE business_id = ? AND channel = ?"+
			" AND customer_id IN ("+inList(len(customerIDs))+")",
		append([]any{businessID, channel}, strArgs(customerIDs)...), scanContact)
}

// UpdateDeliveries implements hub.Tx. Deliveries that share their times
// (a batch's claims or answers, all stamped now) are stored by one UPDATE:
// a column the rows agree on is one argument, one they differ in is a CASE
// on the id. On PostgreSQL it goes out with the next statement or COMMIT.
func (t *tx) UpdateDeliveries(ctx context.Context, ds []*hub.Delivery) error {
	t.planEach()
	type times struct {
		businessID    string
		updated, sent time.Time
		hasSent       bool
	}
	var order []times
	groups := map[times][]*hub.Delivery{}
	for _, d := range ds {
		k := times{businessID: d.BusinessID, updated: d.UpdatedAt.UTC().Truncate(time.Millisecond)}
		if d.SentAt != nil {
			k.sent, k.hasSent = d.SentAt.UTC().Truncate(time.Millisecond), true
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], d)
	}
	for _, k := range order {
		group := groups[k]
		for start := 0; start < len(group); start += updateBatch {
			if err := t.updateDeliverySet(ctx, group[start:min(start+updateBatch, len(group))]); err != nil {
				return err
			}
		}
	}
	return nil
}

// updateDeliverySet stores deliveries of one business with the same
// updated_at and sent_at in one UPDATE that must touch every one of them.
func (t *tx) updateDeliverySet(ctx context.Context, ds []*hub.Delivery) error {
	if len(ds) == 1 {
		return t.deferOne(ctx, deliveryKind, updateDeliverySQL, updateDeliveryArgs(t, ds[0])...)
	}
	seen := make(map[string]bool, len(ds))
	for _, d := range ds {
		if seen[d.ID] {
			return fmt.Errorf("sqlstore: delivery %s twice in one update", d.ID)
		}
		seen[d.ID] = true
	}
	var b strings.Builder
	var args []any
	b.WriteString("UPDATE deliveries SET ")
	cols := []struct {
		name, cast string
		val        func(d *hub.Delivery) any
	}{
		{"provider", "", func(d *hub.Delivery) any { return d.Provider }},
		{"status", "", func(d *hub.Delivery) any { return d.Status }},
		{"attempts", "INTEGER", func(d *hub.Delivery) any { return d.Attempts }},
		{"provider_message_id", "", func(d *hub.Delivery) any { return d.ProviderMessageID }},
		{"provider_status", "", func(d *hub.Delivery) any { return d.ProviderStatus }},
		{"error", "", func(d *hub.Delivery) any { return d.Error }},
	}
	for _, c := range cols {
		b.WriteString(c.name + " = ")
		same := true
		for _, d := range ds[1:] {
			if c.val(d) != c.val(ds[0]) {
				same = false
				break
			}
		}
		if same {
			b.WriteString("?, ")
			args = append(args, c.val(ds[0]))
			continue
		}
		b.WriteString("CASE id")
		for _, d := range ds {
			if c.cast != "" {
				b.WriteString(" WHEN ? THEN CAST(? AS " + c.cast + ")")
			} else {
				b.WriteString(" WHEN ? THEN ?")
			}
			args = append(args, d.ID, c.val(d))
		}
		b.WriteString(" ELSE " + c.name + " END, ")
	}
	b.WriteString("updated_at = ?, sent_at = ? WHERE id IN (" + inList(len(ds)) + ") AND " + byIDsBusiness)
	args = append(args, t.tm(ds[0].UpdatedAt), t.ntm(ds[0].SentAt))
	for _, d := range ds {
		args = append(args, d.ID)
	}
	args = append(args, ds[0].BusinessID)
	return t.deferCount(ctx, deliveryKind, b.String(), len(ds), args...)
}

// updateBatch is how many deliveries one UPDATE of UpdateDeliveries stores.
const updateBatch = 100

const updateDeliverySQL = "UPDATE deliveries SET provider = ?, status = ?, attempts = ?, provider_message_id = ?," +
	" provider_status = ?, error = ?, updated_at = ?, sent_at = ? WHERE id = ? AND business_id = ?"

func updateDeliveryArgs(t *tx, d *hub.Delivery) []any {
	return []any{d.Provider, d.Status, d.Attempts, d.ProviderMessageID, d.ProviderStatus, d.Error, t.tm(d.UpdatedAt),
		t.ntm(d.SentAt), d.ID, d.BusinessID}
}

// strArgs turns strings into query arguments.
func strArgs(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

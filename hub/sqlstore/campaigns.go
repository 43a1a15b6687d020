package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

const (
	campaignKind  = "campaign"
	recipientKind = "campaign recipient"
)

const campaignCols = "id, business_id, name, status, audience, channels, template_id, message, send_at, checkpoint," +
	" walked, lease_owner, lease_until, stats, created_at, updated_at, started_at, finished_at, recipients"

func scanCampaign(r scanner) (*hub.Campaign, error) {
	var c hub.Campaign
	err := r.Scan(&c.ID, &c.BusinessID, &c.Name, &c.Status, jsonDest{&c.Audience}, jsonDest{&c.Channels},
		&c.TemplateID, jsonDest{&c.Message}, nullTimeDest{&c.SendAt}, &c.Checkpoint, &c.Walked, &c.LeaseOwner,
		nullTimeDest{&c.LeaseUntil}, jsonDest{&c.FinalStats}, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt},
		nullTimeDest{&c.StartedAt}, nullTimeDest{&c.FinishedAt}, &c.Recipients)
	return &c, err
}

// campaignArgs are the stored columns after id and business_id.
func (t *tx) campaignArgs(c *hub.Campaign) ([]any, error) {
	var args []any
	for _, v := range []any{c.Audience, c.Channels, c.Message, c.FinalStats} {
		a, err := jsonArg(v)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	return []any{c.Name, c.Status, args[0], args[1], c.TemplateID, args[2], t.ntm(c.SendAt), c.Checkpoint,
		c.Walked, c.LeaseOwner, t.ntm(c.LeaseUntil), args[3], t.tm(c.CreatedAt), t.tm(c.UpdatedAt),
		t.ntm(c.StartedAt), t.ntm(c.FinishedAt), c.Recipients}, nil
}

// CreateCampaign implements hub.CampaignTx.
func (t *tx) CreateCampaign(ctx context.Context, c *hub.Campaign) error {
	args, err := t.campaignArgs(c)
	if err != nil {
		return err
	}
	return t.insert(ctx, campaignKind, "INSERT INTO campaigns ("+campaignCols+") VALUES (?"+strings.Repeat(", ?", 18)+")",
		append([]any{c.ID, c.BusinessID}, args...)...)
}

// Campaign implements hub.CampaignTx.
func (t *tx) Campaign(ctx context.Context, businessID, id string, forUpdate bool) (*hub.Campaign, error) {
	return one(ctx, t, campaignKind,
		"SELECT "+campaignCols+" FROM campaigns c WHERE id = ? AND business_id = ?"+t.lock(forUpdate, "c"),
		[]any{id, businessID}, scanCampaign)
}

// Campaigns implements hub.CampaignTx.
func (t *tx) Campaigns(ctx context.Context, businessID string, p hub.Page) ([]*hub.Campaign, error) {
	f := filter{}
	f.add("business_id = ?", businessID)
	tail := f.page("id", p)
	return list(ctx, t, campaignKind, "SELECT "+campaignCols+" FROM campaigns"+f.sql()+tail, f.args, scanCampaign)
}

// UpdateCampaign implements hub.CampaignTx.
func (t *tx) UpdateCampaign(ctx context.Context, c *hub.Campaign) error {
	args, err := t.campaignArgs(c)
	if err != nil {
		return err
	}
	return t.execOne(ctx, campaignKind, "UPDATE campaigns SET name = ?, status = ?, audience = ?, channels = ?,"+
		" template_id = ?, message = ?, send_at = ?, checkpoint = ?, walked = ?, lease_owner = ?, lease_until = ?,"+
		" stats = ?, created_at = ?, updated_at = ?, started_at = ?, finished_at = ?, recipients = ?"+
		" WHERE id = ? AND business_id = ?",
		append(args, c.ID, c.BusinessID)...)
}

// CampaignsToRun implements hub.CampaignTx.
func (t *tx) CampaignsToRun(ctx context.Context, now time.Time, limit int) ([]*hub.Campaign, error) {
	return list(ctx, t, campaignKind, "SELECT "+campaignCols+" FROM campaigns"+
		" WHERE (status = 'scheduled' AND send_at <= ?) OR (status = 'sending' AND (lease_until IS NULL OR lease_until < ?))"+
		" ORDER BY id LIMIT ?", []any{t.tm(now), t.tm(now), limit}, scanCampaign)
}

// rowsPerInsert bounds a multi-row INSERT (SQLite allows 32,766 parameters).
const rowsPerInsert = 200

// insertRows inserts rows with one multi-row statement per chunk; rows that
// break a unique key are left out.
func (t *tx) insertRows(ctx context.Context, kind, head string, cols, n int, row func(i int) []any) error {
	one := "(?" + strings.Repeat(", ?", cols-1) + ")"
	for start := 0; start < n; start += rowsPerInsert {
		end := min(start+rowsPerInsert, n)
		var b strings.Builder
		b.WriteString(head)
		b.WriteString(" VALUES ")
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, row(i)...)
		}
		b.WriteString(" ON CONFLICT DO NOTHING")
		if _, err := t.exec(ctx, b.String(), args...); err != nil {
			return mapErr(err, kind)
		}
	}
	return nil
}

// CreateRecipients implements hub.CampaignTx.
func (t *tx) CreateRecipients(ctx context.Context, rs []*hub.Recipient) error {
	return t.insertRows(ctx, recipientKind, "INSERT INTO campaign_recipients (campaign_id, customer_id, business_id,"+
		" channel, status, reason, delivery_id, fallback_used, created_at)", 9, len(rs), func(i int) []any {
		r := rs[i]
		return []any{r.CampaignID, r.CustomerID, r.BusinessID, r.Channel, r.Status, r.Reason, r.DeliveryID,
			r.FallbackUsed, t.tm(r.CreatedAt)}
	})
}

// UpdateRecipient implements hub.CampaignTx.
func (t *tx) UpdateRecipient(ctx context.Context, r *hub.Recipient) error {
	return t.execOne(ctx, recipientKind, "UPDATE campaign_recipients SET channel = ?, status = ?, reason = ?,"+
		" delivery_id = ?, fallback_used = ? WHERE campaign_id = ? AND customer_id = ?",
		r.Channel, r.Status, r.Reason, r.DeliveryID, r.FallbackUsed, r.CampaignID, r.CustomerID)
}

// recipientSelect reads recipients with the status of their delivery: a
// skipped recipient is skipped; otherwise pending reads as queued.
const recipientSelect = recipientCols + " FROM campaign_recipients r LEFT JOIN deliveries d ON d.id = r.delivery_id"

// recipientCols are a recipient's columns, from r (campaign_recipients)
// and d (its delivery).
const recipientCols = "SELECT r.campaign_id, r.business_id, r.customer_id, r.channel," +
	" CASE WHEN r.status = 'skipped' THEN 'skipped' WHEN d.status IS NULL OR d.status = 'pending' THEN 'queued' ELSE d.status END," +
	" CASE WHEN r.status = 'skipped' THEN r.reason ELSE COALESCE(d.error, '') END," +
	" r.delivery_id, r.fallback_used, r.created_at"

func scanRecipient(s scanner) (*hub.Recipient, error) {
	var r hub.Recipient
	err := s.Scan(&r.CampaignID, &r.BusinessID, &r.CustomerID, &r.Channel, &r.Status, &r.Reason, &r.DeliveryID,
		&r.FallbackUsed, timeDest{&r.CreatedAt})
	return &r, err
}

// Recipients implements hub.CampaignTx.
func (t *tx) Recipients(ctx context.Context, rf hub.RecipientFilter) ([]*hub.Recipient, error) {
	f := filter{}
	f.add("r.campaign_id = ?", rf.CampaignID)
	f.add("r.business_id = ?", rf.BusinessID)
	if rf.After != "" {
		f.add("r.customer_id > ?", rf.After)
	}
	switch rf.Status {
	case "":
	case hub.RecipientSkipped:
		f.add("r.status = 'skipped'")
	case hub.RecipientQueued:
		f.add("r.status <> 'skipped' AND (d.status IS NULL OR d.status = 'pending')")
	default:
		f.add("r.status <> 'skipped' AND d.status = ?", rf.Status)
	}
	return list(ctx, t, recipientKind, recipientSelect+f.sql()+" ORDER BY r.customer_id LIMIT ?",
		append(f.args, rf.Limit), scanRecipient)
}

// FailedRecipients implements hub.CampaignTx.
func (t *tx) FailedRecipients(ctx context.Context, businessID, campaignID, after string, limit int) ([]*hub.Recipient, error) {
	return list(ctx, t, recipientKind, failedRecipientsQuery(t.s.pg),
		[]any{campaignID, businessID, hub.CampaignSource(campaignID), businessID, after, false, limit}, scanRecipient)
}

// failedRecipientsQuery starts from the campaign's failed deliveries (few,
// in deliveries_failed_source_idx) and finds each one's recipient by its
// key: a recipient's current delivery, so one that fell back is not found
// again. SQLite is told the index (it otherwise walked every recipient in
// key order, or every delivery of the campaign, to save a sort) and the
// loop order (a CROSS JOIN's left table is its outer loop); PostgreSQL's
// statistics of the small partial index choose it.
func failedRecipientsQuery(pg bool) string {
	from := " FROM deliveries d INDEXED BY deliveries_failed_source_idx CROSS JOIN campaign_recipients r"
	if pg {
		from = " FROM deliveries d CROSS JOIN campaign_recipients r"
	}
	return recipientCols + from +
		" WHERE r.campaign_id = ? AND r.customer_id = d.customer_id AND r.delivery_id = d.id" +
		" AND d.business_id = ? AND d.source = ? AND d.status = 'failed' AND d.error <> 'cancelled'" +
		" AND r.business_id = ? AND r.customer_id > ? AND r.status <> 'skipped' AND r.fallback_used = ?" +
		" ORDER BY r.customer_id LIMIT ?"
}

// CampaignStats implements hub.CampaignTx without a pass over every
// recipient: the recipients are the campaign's count of them (kept by the
// walk that writes them, 0016_campaign_recipients_count.sql), the skipped
// ones by reason from their partial index (0013_recipients_skipped.sql),
// the sent and failed messages are the sums of the campaign's activity
// counters (kept in the transactions that end its deliveries, see
// campaignactivity.go), and the rest are queued (pending or sending).
// Failed counts unknown too: perhaps delivered, never resent.
func (t *tx) CampaignStats(ctx context.Context, businessID, campaignID string) (hub.CampaignStats, error) {
	st := hub.CampaignStats{Skipped: map[string]int{}}
	var recipients, sent, failed int
	err := t.queryRow(ctx, "SELECT"+
		" c.recipients,"+
		" (SELECT COALESCE(SUM(a.sent), 0) FROM campaign_activity a WHERE a.business_id = c.business_id AND a.campaign_id = c.id),"+
		" (SELECT COALESCE(SUM(a.failed), 0) FROM campaign_activity a WHERE a.business_id = c.business_id AND a.campaign_id = c.id)"+
		" FROM campaigns c WHERE c.id = ? AND c.business_id = ?", campaignID, businessID).Scan(&recipients, &sent, &failed)
	if err = mapErr(err, recipientKind); hub.ErrorCode(err) == hub.ENotFound {
		return st, nil // no campaign of the business: nothing counted
	}
	if err != nil {
		return st, err
	}
	rows, err := t.query(ctx, "SELECT reason, COUNT(*) FROM campaign_recipients"+
		" WHERE campaign_id = ? AND status = 'skipped' AND business_id = ? GROUP BY reason", campaignID, businessID)
	if err != nil {
		return st, mapErr(err, recipientKind)
	}
	defer rows.Close()
	skipped := 0
	for rows.Next() {
		var reason string
		var n int
		if err := rows.Scan(&reason, &n); err != nil {
			return st, mapErr(err, recipientKind)
		}
		st.Skipped[reason] += n
		skipped += n
	}
	if err := rows.Err(); err != nil {
		return st, mapErr(err, recipientKind)
	}
	st.Sent, st.Failed, st.Audience = sent, failed, recipients
	st.Queued = max(recipients-skipped-sent-failed, 0)
	return st, nil
}

// CreateDeliveries implements hub.CampaignTx.
func (t *tx) CreateDeliveries(ctx context.Context, ds []*hub.Delivery) error {
	contents := make([]any, len(ds))
	for i, d := range ds {
		c, err := jsonArg(d.Content)
		if err != nil {
			return err
		}
		contents[i] = c
	}
	return t.insertRows(ctx, deliveryKind, "INSERT INTO deliveries ("+deliveryCols+")", 16, len(ds), func(i int) []any {
		d := ds[i]
		return []any{d.ID, d.BusinessID, d.Source, d.CustomerID, d.Channel, d.Provider, d.Status, contents[i], d.Attempts,
			d.ProviderMessageID, d.ProviderStatus, d.Error, t.tm(d.CreatedAt), t.tm(d.UpdatedAt), t.ntm(d.SentAt),
			d.Transactional}
	})
}

// OpenDeliveries implements hub.CampaignTx.
func (t *tx) OpenDeliveries(ctx context.Context, businessID, source string) (int, error) {
	var n int
	err := t.queryRow(ctx, "SELECT COUNT(*) FROM deliveries WHERE business_id = ? AND source = ?"+
		" AND status IN ('pending', 'sending')", businessID, source).Scan(&n)
	return n, mapErr(err, deliveryKind)
}

// PendingDeliveries implements hub.CampaignTx.
func (t *tx) PendingDeliveries(ctx context.Context, businessID, source string, limit int) ([]hub.DeliveryKey, error) {
	rows, err := t.query(ctx, "SELECT id FROM deliveries WHERE business_id = ? AND source = ?"+
		" AND status IN ('pending', 'sending') AND status = 'pending' ORDER BY id LIMIT ?", businessID, source, limit)
	if err != nil {
		return nil, mapErr(err, deliveryKind)
	}
	defer rows.Close()
	var keys []hub.DeliveryKey
	for rows.Next() {
		k := hub.DeliveryKey{BusinessID: businessID}
		if err := rows.Scan(&k.ID); err != nil {
			return nil, mapErr(err, deliveryKind)
		}
		keys = append(keys, k)
	}
	return keys, mapErr(rows.Err(), deliveryKind)
}

// CancelDeliveries implements hub.CampaignTx.
func (t *tx) CancelDeliveries(ctx context.Context, businessID, source, reason string, at time.Time) (int, error) {
	res, err := t.exec(ctx, "UPDATE deliveries SET status = 'failed', error = ?, updated_at = ?"+
		" WHERE business_id = ? AND source = ? AND status IN ('pending', 'sending') AND status = 'pending'",
		reason, t.tm(at), businessID, source)
	if err != nil {
		return 0, mapErr(err, deliveryKind)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err, deliveryKind)
}

// RecentDeliveries implements hub.CampaignTx.
func (t *tx) RecentDeliveries(ctx context.Context, businessID string, customerIDs []string, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	for start := 0; start < len(customerIDs); start += 500 {
		ids := customerIDs[start:min(start+500, len(customerIDs))]
		args := []any{businessID, t.tm(since), false}
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err := t.query(ctx, "SELECT customer_id, COUNT(*) FROM deliveries WHERE business_id = ? AND created_at > ?"+
			" AND transactional = ? AND status <> 'failed' AND customer_id IN (?"+strings.Repeat(", ?", len(ids)-1)+")"+
			" GROUP BY customer_id", args...)
		if err != nil {
			return nil, mapErr(err, deliveryKind)
		}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, mapErr(err, deliveryKind)
			}
			out[id] = n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(err, deliveryKind)
		}
	}
	return out, nil
}

// NewestCards implements hub.CampaignTx.
func (t *tx) NewestCards(ctx context.Context, businessID string, customerIDs []string) ([]*hub.Card, error) {
	var out []*hub.Card
	for start := 0; start < len(customerIDs); start += 500 {
		ids := customerIDs[start:min(start+500, len(customerIDs))]
		args := []any{businessID}
		for _, id := range ids {
			args = append(args, id)
		}
		cards, err := list(ctx, t, "card", cardSelect+" WHERE ca.business_id = ? AND ca.customer_id IN (?"+
			strings.Repeat(", ?", len(ids)-1)+") ORDER BY ca.customer_id, ca.id DESC", args, scanCard)
		if err != nil {
			return nil, err
		}
		for _, c := range cards {
			if len(out) == 0 || out[len(out)-1].CustomerID != c.CustomerID {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

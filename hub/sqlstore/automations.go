package sqlstore

import (
	"context"
	"time"

	"github.com/7loc/hub/hub"
)

const (
	automationKind    = "automation"
	automationRunKind = "automation run"
)

const automationCols = "id, business_id, name, enabled, trigger_event, delay_seconds, condition, actions, created_at, updated_at"

func scanAutomation(r scanner) (*hub.Automation, error) {
	var a hub.Automation
	err := r.Scan(&a.ID, &a.BusinessID, &a.Name, &a.Enabled, &a.Trigger.Event, &a.DelaySeconds, jsonDest{&a.Condition},
		jsonDest{&a.Actions}, timeDest{&a.CreatedAt}, timeDest{&a.UpdatedAt})
	return &a, err
}

func automationJSON(a *hub.Automation) (cond, actions any, err error) {
	if cond, err = jsonArg(a.Condition); err != nil {
		return nil, nil, err
	}
	if cond == nil {
		cond = `{"all":[]}`
	}
	actions, err = jsonArg(a.Actions)
	return cond, actions, err
}

// CreateAutomation implements hub.AutomationTx.
func (t *tx) CreateAutomation(ctx context.Context, a *hub.Automation) error {
	cond, actions, err := automationJSON(a)
	if err != nil {
		return err
	}
	return t.insert(ctx, automationKind, "INSERT INTO automations ("+automationCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.BusinessID, a.Name, a.Enabled, a.Trigger.Event, a.DelaySeconds, cond, actions, t.tm(a.CreatedAt), t.tm(a.UpdatedAt))
}

// Automation implements hub.AutomationTx.
func (t *tx) Automation(ctx context.Context, businessID, id string) (*hub.Automation, error) {
	return one(ctx, t, automationKind, "SELECT "+automationCols+" FROM automations WHERE id = ? AND business_id = ?",
		[]any{id, businessID}, scanAutomation)
}

// Automations implements hub.AutomationTx.
func (t *tx) Automations(ctx context.Context, businessID string, p hub.Page) ([]*hub.Automation, error) {
	f := filter{}
	f.add("business_id = ?", businessID)
	tail := f.page("id", p)
	return list(ctx, t, automationKind, "SELECT "+automationCols+" FROM automations"+f.sql()+tail, f.args, scanAutomation)
}

// UpdateAutomation implements hub.AutomationTx.
func (t *tx) UpdateAutomation(ctx context.Context, a *hub.Automation) error {
	cond, actions, err := automationJSON(a)
	if err != nil {
		return err
	}
	return t.execOne(ctx, automationKind, "UPDATE automations SET name = ?, enabled = ?, trigger_event = ?, delay_seconds = ?,"+
		" condition = ?, actions = ?, updated_at = ? WHERE id = ? AND business_id = ?",
		a.Name, a.Enabled, a.Trigger.Event, a.DelaySeconds, cond, actions, t.tm(a.UpdatedAt), a.ID, a.BusinessID)
}

// DeleteAutomation implements hub.AutomationTx.
func (t *tx) DeleteAutomation(ctx context.Context, businessID, id string) error {
	if _, err := t.exec(ctx, "DELETE FROM automation_runs WHERE automation_id = ? AND business_id = ?", id, businessID); err != nil {
		return mapErr(err, automationRunKind)
	}
	_, err := t.exec(ctx, "DELETE FROM automations WHERE id = ? AND business_id = ?", id, businessID)
	return mapErr(err, automationKind)
}

// EnabledAutomations implements hub.AutomationTx.
func (t *tx) EnabledAutomations(ctx context.Context, businessID string) ([]*hub.Automation, error) {
	return list(ctx, t, automationKind, "SELECT "+automationCols+" FROM automations WHERE business_id = ? AND enabled = ?"+
		" ORDER BY id", []any{businessID, true}, scanAutomation)
}

const automationRunCols = "automation_id, trigger_key, business_id, customer_id, status, reason, voucher_id, run_at, created_at, updated_at"

func scanAutomationRun(r scanner) (*hub.AutomationRun, error) {
	var a hub.AutomationRun
	err := r.Scan(&a.AutomationID, &a.TriggerKey, &a.BusinessID, &a.CustomerID, &a.Status, &a.Reason, &a.VoucherID,
		timeDest{&a.RunAt}, timeDest{&a.CreatedAt}, timeDest{&a.UpdatedAt})
	return &a, err
}

// CreateAutomationRuns implements hub.AutomationTx.
func (t *tx) CreateAutomationRuns(ctx context.Context, runs []*hub.AutomationRun) error {
	return t.insertRows(ctx, automationRunKind, "INSERT INTO automation_runs ("+automationRunCols+")", 10, len(runs),
		func(i int) []any {
			r := runs[i]
			return []any{r.AutomationID, r.TriggerKey, r.BusinessID, r.CustomerID, r.Status, r.Reason, r.VoucherID,
				t.tm(r.RunAt), t.tm(r.CreatedAt), t.tm(r.UpdatedAt)}
		})
}

// AutomationRun implements hub.AutomationTx.
func (t *tx) AutomationRun(ctx context.Context, automationID, triggerKey string, forUpdate bool) (*hub.AutomationRun, error) {
	return one(ctx, t, automationRunKind, "SELECT "+automationRunCols+" FROM automation_runs r"+
		" WHERE automation_id = ? AND trigger_key = ?"+t.lock(forUpdate, "r"), []any{automationID, triggerKey}, scanAutomationRun)
}

// UpdateAutomationRun implements hub.AutomationTx.
func (t *tx) UpdateAutomationRun(ctx context.Context, r *hub.AutomationRun) error {
	return t.execOne(ctx, automationRunKind, "UPDATE automation_runs SET status = ?, reason = ?, voucher_id = ?, updated_at = ?"+
		" WHERE automation_id = ? AND trigger_key = ?", r.Status, r.Reason, r.VoucherID, t.tm(r.UpdatedAt), r.AutomationID, r.TriggerKey)
}

// DueAutomationRuns implements hub.AutomationTx.
func (t *tx) DueAutomationRuns(ctx context.Context, before time.Time, limit int) ([]*hub.AutomationRun, error) {
	return list(ctx, t, automationRunKind, "SELECT "+automationRunCols+" FROM automation_runs"+
		" WHERE status = 'pending' AND run_at <= ? ORDER BY run_at LIMIT ?", []any{t.tm(before), limit}, scanAutomationRun)
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/templates"
)

// openStore opens the configured database without Redis (migrate, keys).
func openStore(ctx context.Context, cfg *config) (*sqlstore.Store, error) {
	dbURL := cfg.databaseURL()
	if !sqlstore.IsPostgresURL(dbURL) && cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	st, err := sqlstore.Open(ctx, dbURL, sqlstore.WithMaxConns(cfg.DatabaseMaxConns))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// newOfflineService is a service without a queue: events it writes wait for
// the outbox relay of a running worker.
func newOfflineService(st *sqlstore.Store, cfg *config, stderr io.Writer) (*hub.Service, error) {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, err
	}
	return hub.NewService(hub.Config{Store: st, Logger: log, PublicURL: cfg.publicURL(),
		Renderer: templates.New(templates.Options{}), Defaults: defaultTemplates()})
}

// defaultTemplates are the embedded ready-made message templates a new
// business gets with its four automations.
func defaultTemplates() []hub.DefaultTemplate {
	var out []hub.DefaultTemplate
	for _, d := range templates.Defaults() {
		dt := hub.DefaultTemplate{Key: d.Key, Name: d.Name}
		for _, v := range d.Variants {
			dt.Variants = append(dt.Variants, hub.MessageVariant{Language: v.Language, Kind: v.Kind, Subject: v.Subject,
				Text: v.Text, HTML: v.HTML})
		}
		out = append(out, dt)
	}
	return out
}

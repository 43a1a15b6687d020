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
	st, err := sqlstore.Open(ctx, dbURL, sqlstore.WithMaxConns(cfg.DatabaseMaxConns),
		sqlstore.WithStatementTimeout(cfg.StatementTimeout), sqlstore.WithLockTimeout(cfg.LockTimeout))
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
		Renderer: templates.New(templates.Options{}), Defaults: templates.Defaults()})
}

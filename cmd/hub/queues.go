package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/hub/tasks"
)

const queuesUsage = `usage:
  hub queues                                  every queue of the hub: tasks by state, latency
  hub queues archived --queue Q               the archived tasks of a queue (used every retry)
  hub queues retry --queue Q (--id ID | --all) run archived tasks again
  hub queues delete --queue Q (--id ID | --all) delete archived tasks
Q is a queue's short name (events, webhooks, webhook-retries, maintenance,
messages, campaigns, tills) or its full name.`

// runQueues is the operators' view of the asynq queues in Redis: what waits
// where, and the archived tasks to retry or delete.
func runQueues(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	verb := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	var queue, id string
	var all bool
	cfg, _, err := parseConfig("queues "+verb, args, lookup, func(fs *flag.FlagSet) {
		fs.StringVar(&queue, "queue", "", "queue (short or full name)")
		fs.StringVar(&id, "id", "", "task id")
		fs.BoolVar(&all, "all", false, "every archived task of the queue")
	})
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return errors.New("HUB_REDIS_URL is required")
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("HUB_REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	q := tasks.NewQueues(cfg.QueuePrefix)
	names := []string{q.Events, q.Webhooks, q.WebhookRetries, q.Maintenance, q.Messages, q.Campaigns, q.Tills}
	full := func() (string, error) {
		for _, n := range names {
			if queue == n || cfg.QueuePrefix+":"+queue == n {
				return n, nil
			}
		}
		return "", fmt.Errorf("--queue must be one of the hub's queues, not %q\n%s", queue, queuesUsage)
	}
	switch verb {
	case "list":
		known, err := insp.Queues()
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(w, "queue\tpending\tactive\tscheduled\tretry\tarchived\tlatency\tprocessed\tfailed\t")
		for _, n := range names {
			info := &asynq.QueueInfo{Queue: n}
			if slices.Contains(known, n) {
				if info, err = insp.GetQueueInfo(n); err != nil {
					return err
				}
			}
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t\n", n, info.Pending, info.Active, info.Scheduled,
				info.Retry, info.Archived, info.Latency.Round(1e6), info.ProcessedTotal, info.FailedTotal)
		}
		return w.Flush()
	case "archived":
		n, err := full()
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "id\ttype\tretried\tlast failed\terror")
		for page := 1; ; page++ {
			list, err := insp.ListArchivedTasks(n, asynq.Page(page), asynq.PageSize(100))
			if err != nil && !strings.Contains(err.Error(), "does not exist") {
				return err
			}
			for _, t := range list {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", t.ID, t.Type, t.Retried, t.LastFailedAt.UTC().Format("2006-01-02T15:04:05Z"),
					strings.ReplaceAll(t.LastErr, "\n", " "))
			}
			if len(list) < 100 {
				return w.Flush()
			}
		}
	case "retry", "delete":
		n, err := full()
		if err != nil {
			return err
		}
		if (id == "") == !all {
			return errors.New("give --id ID or --all\n" + queuesUsage)
		}
		var count int
		switch {
		case verb == "retry" && all:
			count, err = insp.RunAllArchivedTasks(n)
		case verb == "retry":
			err, count = insp.RunTask(n, id), 1
		case all:
			count, err = insp.DeleteAllArchivedTasks(n)
		default:
			err, count = insp.DeleteTask(n, id), 1
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s %d task(s) of %s\n", map[string]string{"retry": "queued again", "delete": "deleted"}[verb], count, n)
		return err
	}
	return errors.New(queuesUsage)
}

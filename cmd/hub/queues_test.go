package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/tasks"
)

// TestQueuesCommand: `hub queues` lists the queues with their counts, shows
// an archived task, queues it again, and deletes archived tasks.
func TestQueuesCommand(t *testing.T) {
	rdb, _ := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	q := tasks.NewQueues(prefix)
	t.Cleanup(func() { _ = rdb.SRem(context.Background(), "asynq:queues", q.Tills).Err() })
	lookup := env(map[string]string{"HUB_REDIS_URL": "redis://" + rdb.Options().Addr + "/0", "HUB_QUEUE_PREFIX": prefix})
	hub := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append([]string{"queues"}, args...), &out, &errOut, lookup); err != nil {
			t.Fatalf("hub queues %v: %v (%s)", args, err, errOut.String())
		}
		return out.String()
	}
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, id := range []string{"a1", "a2"} {
		if _, err := client.Enqueue(asynq.NewTask("till:sale", []byte(`{}`)), asynq.Queue(q.Tills), asynq.TaskID(id)); err != nil {
			t.Fatal(err)
		}
		if err := insp.ArchiveTask(q.Tills, id); err != nil {
			t.Fatal(err)
		}
	}
	list := hub()
	var row string
	for _, l := range strings.Split(list, "\n") {
		if strings.Contains(l, q.Tills) {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) < 6 || f[5] != "2" {
		t.Fatalf("queues list row for tills = %q, want 2 archived\n%s", row, list)
	}
	if got := hub("archived", "--queue", "tills"); !strings.Contains(got, "a1") || !strings.Contains(got, "till:sale") {
		t.Errorf("archived = %s", got)
	}
	if got := hub("retry", "--queue", "tills", "--id", "a1"); !strings.Contains(got, "queued again 1") {
		t.Errorf("retry = %s", got)
	}
	if info, err := insp.GetQueueInfo(q.Tills); err != nil || info.Pending != 1 || info.Archived != 1 {
		t.Errorf("after retry: %+v, %v", info, err)
	}
	if got := hub("delete", "--queue", q.Tills, "--all"); !strings.Contains(got, "deleted 1") {
		t.Errorf("delete = %s", got)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"queues", "retry", "--queue", "nope", "--all"}, &out, &errOut, lookup); err == nil {
		t.Errorf("an unknown queue was accepted")
	}
	if err := run(context.Background(), []string{"queues", "delete", "--queue", "tills"}, &out, &errOut, lookup); err == nil {
		t.Errorf("delete without --id or --all was accepted")
	}
}

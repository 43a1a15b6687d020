//go:build bench

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/7loc/hub/channels"
	"github.com/7loc/hub/channels/whatsapp"
	"github.com/7loc/hub/hub"
)

// sinkLog is the WhatsApp sink of `hub bench campaign --sink`: a channel in
// the process that sends nothing over the network. Its sender takes the
// same rate-limit budgets as WhatsApp's (the router asks the shared Redis
// limiter for them as for any message), answers at once, and appends each
// recipient and the moment it arrived to a file the bench reads. It leaves
// the provider's HTTP exchange, client and server, out of a measurement of
// the campaign engine; the WhatsApp fake over HTTP is the default.
type sinkLog struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
	n  atomic.Int64
}

// startBenchSink opens the sink file HUB_BENCH_SINK names, if any: wrap
// replaces the WhatsApp factory with the sink's, and stop flushes and
// closes the file. The log is flushed every 100 ms so the bench can read
// it while the process runs.
func startBenchSink(lookup func(string) (string, bool)) (wrap func(map[string]channels.Factory) map[string]channels.Factory, stop func(), err error) {
	path, _ := lookup("HUB_BENCH_SINK")
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	s := &sinkLog{f: f, w: bufio.NewWriterSize(f, 1<<16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.mu.Lock()
				_ = s.w.Flush()
				s.mu.Unlock()
			}
		}
	}()
	wrap = func(fs map[string]channels.Factory) map[string]channels.Factory {
		fs[hub.ChannelWhatsApp] = func(cfg *hub.ChannelConfig) (channels.Sender, error) {
			wa, err := whatsapp.New(cfg, whatsapp.Options{})
			if err != nil {
				return nil, err
			}
			return sinkSender{limits: wa, log: s}, nil
		}
		return fs
	}
	stop = func() {
		cancel()
		<-done
		s.mu.Lock()
		defer s.mu.Unlock()
		_ = s.w.Flush()
		_ = s.f.Close()
	}
	return wrap, stop, nil
}

// sinkSender is the sink's sender for one WhatsApp configuration.
type sinkSender struct {
	limits interface {
		Limits(m hub.Message) []hub.RateLimit
	}
	log *sinkLog
}

// Limits implements channels.Sender: WhatsApp's own budgets.
func (s sinkSender) Limits(m hub.Message) []hub.RateLimit { return s.limits.Limits(m) }

// Send implements channels.Sender: it logs the recipient and answers.
func (s sinkSender) Send(_ context.Context, m hub.Message) (hub.Receipt, error) {
	at := time.Now().UnixNano()
	to := strings.TrimPrefix(m.To, "+")
	s.log.mu.Lock()
	_, err := fmt.Fprintf(s.log.w, "%s %d\n", to, at)
	s.log.mu.Unlock()
	if err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendTransient, Reason: "sink", Err: err}
	}
	return hub.Receipt{ProviderMessageID: "wamid.sink." + strconv.FormatInt(s.log.n.Add(1), 10)}, nil
}

// readSink reads the arrivals a sink file holds so far (a line being
// written is left for the next read).
func readSink(path string) ([]arrival, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []arrival
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		to, at, ok := strings.Cut(sc.Text(), " ")
		ns, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, arrival{to: to, at: time.Unix(0, ns)})
	}
	return out, sc.Err()
}

// arrival is one message at the fake provider or the sink.
type arrival struct {
	to string
	at time.Time
}

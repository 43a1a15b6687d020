//go:build !bench

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/7loc/hub/channels"
)

// The benchmarks that run provider fakes in the process (channels, campaign,
// sales) are built only with the bench tag, so that the hub's binary links
// no fake, no testing and no httptest. `go build -tags bench ./cmd/hub`
// builds the benchmark binary; BENCHMARKS.md uses it.

func runBenchChannels(context.Context, []string, io.Writer, io.Writer, func(string) (string, bool)) error {
	return withoutFakes("channels")
}

func runBenchCampaign(context.Context, []string, io.Writer, io.Writer, func(string) (string, bool)) error {
	return withoutFakes("campaign")
}

func runBenchSales(context.Context, []string, io.Writer, io.Writer, func(string) (string, bool)) error {
	return withoutFakes("sales")
}

func withoutFakes(name string) error {
	return fmt.Errorf("hub bench %s runs provider fakes, which this binary leaves out: build it with `go build -tags bench ./cmd/hub` (or `go run -tags bench ./cmd/hub bench %s`)", name, name)
}

// startBenchSink is the bench binary's in-process WhatsApp sink (HUB_BENCH_SINK);
// this binary has none, and refuses to start when asked for one rather than
// send to the real provider.
func startBenchSink(lookup func(string) (string, bool)) (func(map[string]channels.Factory) map[string]channels.Factory, func(), error) {
	if path, _ := lookup("HUB_BENCH_SINK"); path != "" {
		return nil, nil, withoutFakes("campaign --sink")
	}
	return nil, func() {}, nil
}

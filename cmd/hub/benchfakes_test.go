//go:build !bench

package main

import "testing"

// TestNoSinkWithoutTheBenchBinary: the hub binary, which has no in-process
// sink, refuses to start when HUB_BENCH_SINK asks for one (rather than send
// a benchmark's campaign to the provider), and starts without it.
func TestNoSinkWithoutTheBenchBinary(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		wantErr bool
	}{
		{map[string]string{"HUB_BENCH_SINK": "/tmp/sink.log"}, true},
		{map[string]string{}, false},
	} {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		wrap, stop, err := startBenchSink(lookup)
		if (err != nil) != tc.wantErr || wrap != nil {
			t.Errorf("env %v: wrap set %v, err %v; want an error: %v", tc.env, wrap != nil, err, tc.wantErr)
		}
		if err == nil {
			stop()
		}
	}
}

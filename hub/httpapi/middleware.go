package httpapi

import (
	"bytes"
	"log/slog"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/7loc/hub/hub"
)

type httpMetrics struct {
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg *prometheus.Registry) (*httpMetrics, error) {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hub_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hub_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records the request's duration in the metrics and the log.
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	s.metrics.inFlight.Inc()
	c.Next()
	s.metrics.inFlight.Dec()
	elapsed := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	s.metrics.duration.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Observe(elapsed.Seconds())
	level := slog.LevelDebug
	if status >= 400 {
		level = slog.LevelInfo
	}
	if s.log.Enabled(c.Request.Context(), level) {
		s.log.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("method", c.Request.Method), slog.String("route", route),
			slog.Int("status", status), slog.Duration("duration", elapsed))
	}
}

// captureWriter keeps a copy of the response for the idempotency record.
type captureWriter struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) WriteString(s string) (int, error) {
	w.buf.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// operatorScope is the idempotency scope of operator calls, which act for no
// single business.
const operatorScope = "operator"

// idempotent replays the first response to a repeated Idempotency-Key and
// records the response of a new one: in the transaction of the effect when
// the use case computes its response there (withBody tells it how, see
// hub.ReplyWith), else after the handler.
func (s *server) idempotent(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		c.Next()
		return
	}
	body, err := readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	scope := operatorScope
	if v, ok := c.Get(principalKey); ok {
		scope = v.(*hub.Principal).Business.ID
	}
	req := hub.IdempotentRequest{BusinessID: scope, Key: key, Method: c.Request.Method, Path: c.Request.URL.Path, Body: body}
	ctx, rec, err := s.svc.BeginIdempotent(c.Request.Context(), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	if rec != nil {
		c.Header("Idempotent-Replayed", "true")
		c.Data(rec.Status, rec.ContentType, rec.Body)
		c.Abort()
		return
	}
	c.Request = c.Request.WithContext(ctx)
	w := &captureWriter{ResponseWriter: c.Writer}
	c.Writer = w
	defer func() {
		c.Writer = w.ResponseWriter
		status := w.Status()
		if p := recover(); p != nil {
			status = 500
			defer panic(p)
		}
		if err := s.svc.FinishIdempotent(ctx, status, w.Header().Get("Content-Type"), w.buf.Bytes()); err != nil {
			s.log.WarnContext(c.Request.Context(), "storing the idempotent response failed", "err", err)
		}
	}()
	c.Next()
}

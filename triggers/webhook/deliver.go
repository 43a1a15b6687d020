package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// MaxResponseBody is how much of a receiver's response body an Attempt keeps.
const MaxResponseBody = 4 << 10

// maxDrain bounds what Deliver reads past MaxResponseBody so that the
// connection can be reused; a longer body closes the connection instead.
const maxDrain = 64 << 10

// Attempt is the result of one delivery attempt. Either StatusCode is set
// (the receiver answered) or Err is (it did not).
type Attempt struct {
	// StatusCode is the HTTP status of the response, 0 without a response.
	StatusCode int
	// Duration is the time from sending the request to reading the response.
	Duration time.Duration
	// Err says why there is no response (timeout, refused connection,
	// forbidden address...). Its message is safe to store and to show to the
	// hook's owner: it holds no local addresses; errors.Is and errors.As
	// reach the cause (ErrForbiddenAddress, context.DeadlineExceeded...).
	Err error
	// ResponseBody is the start of the response body, at most MaxResponseBody bytes.
	ResponseBody []byte
	// RetryAfter is the response's Retry-After header, if any.
	RetryAfter string
}

// Deliver POSTs body, byte for byte, to url with headers (from Headers) using
// client (from NewClient) and reports the Attempt. It never follows
// redirects, whatever client's CheckRedirect says. Pass the result to Decide.
func Deliver(ctx context.Context, client *http.Client, url string, headers http.Header, body []byte) Attempt {
	if client == nil {
		return Attempt{Err: errors.New("no HTTP client")}
	}
	c := *client
	c.CheckRedirect = noRedirects

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Attempt{Err: &safeError{msg: "invalid target URL", err: err}}
	}
	if headers != nil {
		req.Header = headers.Clone()
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return Attempt{Duration: time.Since(start), Err: safe(err)}
	}
	defer resp.Body.Close()
	// A body cut short (timeout, reset) still leaves the status: the
	// receiver has answered, so the read error is not the attempt's error.
	got, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return Attempt{
		StatusCode:   resp.StatusCode,
		Duration:     time.Since(start),
		ResponseBody: got,
		RetryAfter:   resp.Header.Get("Retry-After"),
	}
}

// safeError has a message fit for the hook's owner and keeps the cause.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// safe describes a transport error without the request URL, local addresses
// or ports that the net and net/http messages carry.
func safe(err error) error {
	var (
		netErr  net.Error
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		msg     string
	)
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		msg = forbiddenMessage(err)
	case errors.Is(err, context.Canceled):
		msg = "canceled before a response arrived"
	case errors.As(err, &dnsErr):
		msg = "DNS lookup of " + dnsErr.Name + " failed"
		if dnsErr.IsNotFound {
			msg = "host " + dnsErr.Name + " not found"
		}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		msg = "timeout: no response in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		msg = "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		msg = "host unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		msg = "connection closed before a response arrived"
	case errors.As(err, &certErr):
		msg = "TLS certificate not accepted: " + certErr.Err.Error()
	case errors.As(err, &recErr):
		msg = "TLS handshake failed: the server did not answer in TLS"
	default:
		msg = "request failed"
	}
	return &safeError{msg: msg, err: err}
}

// forbiddenMessage returns the text of our own error in err's chain, the
// one that wraps ErrForbiddenAddress directly.
func forbiddenMessage(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.Unwrap(e) == ErrForbiddenAddress {
			return e.Error()
		}
	}
	return ErrForbiddenAddress.Error()
}

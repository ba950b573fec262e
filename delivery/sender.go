package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Sender defaults.
const (
	// DefaultTimeout is the real senders' request timeout (Fivetran: 10 s).
	DefaultTimeout = 10 * time.Second
	// DefaultMaxExcerpt is how much of a response body is kept.
	DefaultMaxExcerpt = 4096
	// DefaultUserAgent is sent when the request has no User-Agent.
	DefaultUserAgent = "standin"
	// maxDrain bounds how much of a response body is read past the excerpt
	// (so that small bodies end cleanly and the connection is reused); after
	// that the connection is closed instead.
	maxDrain = 1 << 20
	// MaxResponseHeaderBytes bounds a receiver's response headers (64 KiB):
	// a receiver that sends more fails the attempt with an error instead of
	// growing standin's memory.
	MaxResponseHeaderBytes = 64 << 10
)

// Sender POSTs deliveries to receivers. The zero value is ready to use: a
// 10 s timeout covering the whole exchange, redirects not followed (a 3xx
// is the response, so it counts as a failure like any non-2xx), a 4 KiB
// response excerpt, response headers of at most MaxResponseHeaderBytes, keep-alive connection reuse, and no proxy (the
// environment's HTTP_PROXY and friends are ignored: receivers under test are
// usually local). A Sender is safe for concurrent use and must not be copied
// after first use.
type Sender struct {
	// Client sends the requests. Nil means a client built once, on first
	// use, from Timeout and TLSConfig with the policy above; a caller that
	// sets Client owns its timeout, redirect and proxy policy.
	Client *http.Client
	// Timeout bounds one request, from dialing to the end of the response
	// body read. Defaults to DefaultTimeout (10 s).
	Timeout time.Duration
	// MaxExcerpt is how many bytes of the response body Response.Excerpt
	// keeps. Defaults to DefaultMaxExcerpt (4096).
	MaxExcerpt int
	// TLSConfig configures TLS to receivers (custom CAs, insecure skip
	// verify). Defaults to Go's defaults.
	TLSConfig *tls.Config
	// UserAgent is sent when the request has no User-Agent header. Defaults
	// to DefaultUserAgent ("standin").
	UserAgent string
	// Now measures Latency. Defaults to time.Now.
	Now func() time.Time

	once   sync.Once
	client *http.Client
}

// Request is one delivery attempt: a POST of Body to URL with Header added
// (authentication headers, typically from Signing.Headers).
type Request struct {
	// URL is the receiver's URL.
	URL string
	// Header holds extra request headers; it is not modified.
	Header http.Header
	// Body is sent as-is.
	Body []byte
}

// Response is what became of one delivery attempt.
type Response struct {
	// Status is the receiver's HTTP status, 0 when there was no response.
	Status int
	// Header holds the response headers, nil when there was no response.
	Header http.Header
	// Excerpt is a bounded prefix of the response body (at most
	// Sender.MaxExcerpt bytes), nil when empty.
	Excerpt []byte
	// Latency is the time from sending the request to reading the excerpt.
	Latency time.Duration
	// Err is the transport error (timeout, refused, reset, TLS, bad URL),
	// nil when a status was received: a non-2xx is not an Err. An error
	// while reading the response body after the status is not reported
	// either: the status decides the outcome.
	Err error
	// RequestHeader holds the headers sent: Content-Type
	// (application/json unless Request.Header sets it), User-Agent and the
	// request's own headers, and Authorization: Basic ****** when the URL
	// carries user info (the client sends it as Basic credentials; the
	// recorded copy redacts them). Host and Content-Length are set by the
	// transport and not listed.
	RequestHeader http.Header
}

// OK reports whether r is a successful delivery for profile p: a status was
// received and p counts it as success.
func (r Response) OK(p Profile) bool { return r.Err == nil && p.Succeeded(r.Status) }

// Send POSTs req and reports the outcome; it never returns without a
// Response, and all failures are in Response.Err. ctx cancels the request.
func (s *Sender) Send(ctx context.Context, req Request) Response {
	header := req.Header.Clone()
	if header == nil {
		header = make(http.Header, 2)
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}
	if header.Get("User-Agent") == "" {
		ua := s.UserAgent
		if ua == "" {
			ua = DefaultUserAgent
		}
		header.Set("User-Agent", ua)
	}
	resp := Response{RequestHeader: header}

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		resp.Err = err
		return resp
	}
	hreq.Header = header.Clone() // the transport must not alter the recorded copy
	if auth := urlAuthorization(hreq.URL); auth != "" && header.Get("Authorization") == "" {
		// The client sends the URL's user info as Basic credentials;
		// record that header, its credentials redacted.
		header.Set("Authorization", auth)
	}

	now := s.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	hresp, err := s.httpClient().Do(hreq)
	if err != nil {
		resp.Latency = now().Sub(start)
		resp.Err = err
		return resp
	}
	defer hresp.Body.Close()
	resp.Status = hresp.StatusCode
	resp.Header = hresp.Header

	limit := s.MaxExcerpt
	if limit <= 0 {
		limit = DefaultMaxExcerpt
	}
	excerpt, _ := io.ReadAll(io.LimitReader(hresp.Body, int64(limit)))
	resp.Latency = now().Sub(start)
	if len(excerpt) > 0 {
		resp.Excerpt = excerpt
	}
	// Drain a bounded remainder so the connection can be reused; a larger
	// body is cut off by Close, which then drops the connection.
	_, _ = io.CopyN(io.Discard, hresp.Body, maxDrain)
	return resp
}

// httpClient returns s.Client or the lazily built default client.
func (s *Sender) httpClient() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	s.once.Do(func() {
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		transport := &http.Transport{
			Proxy: nil, // never the environment's proxy
			DialContext: (&net.Dialer{
				Timeout:   timeout,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			TLSClientConfig:     s.TLSConfig.Clone(),
			TLSHandshakeTimeout: timeout,
			ForceAttemptHTTP2:   true,
			// Keep as many idle connections to one receiver as the
			// deliveries a process sends at once (200 by default): with
			// fewer, each burst closes the surplus and opens it again
			// (cmd/standin-bench saw ~800 new connections per 20,000
			// deliveries with 32).
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true, // send exactly the recorded headers
			// Bounds HTTP/1 response headers and, through the HTTP/2
			// transport, the header list of an HTTP/2 response.
			MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		}
		s.client = &http.Client{
			Transport: transport,
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	})
	return s.client
}

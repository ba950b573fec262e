package testkit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// Response is one scripted answer of a Receiver.
type Response struct {
	// Status is the HTTP status to answer. Defaults to 200.
	Status int
	// Body is the response body. Defaults to empty.
	Body string
	// Header is added to the response.
	Header http.Header
	// Delay holds the answer back this long (or until the request is
	// cancelled), to exercise timeouts and slow receivers.
	Delay time.Duration
	// Hang holds the request open until the client gives up or the Receiver
	// is closed.
	Hang bool
}

// Request is one request a Receiver recorded.
type Request struct {
	// Method is the request's method, POST for every delivery.
	Method string
	// Path is the request URI: the path and query the webhook URL named.
	Path string
	// Header holds the request's headers.
	Header http.Header
	// Body is the exact request body.
	Body []byte
	// ReceivedAt is when the request arrived.
	ReceivedAt time.Time
	// SignatureErr is the result of verifying the request with the
	// Receiver's Secret and Signing: nil when it verified (or the Receiver
	// has no Secret).
	SignatureErr error
}

// Receiver is a recording webhook receiver on 127.0.0.1, modelled on
// httptest.Server. NewReceiver starts one and closes it when the test ends.
// The zero value is ready to configure: set its fields, then Start it with
// the test; Close stops it early.
//
// Every request is recorded in order, its signature is verified when Secret
// is set, and it is answered from the script given to Respond, then with
// Default.
type Receiver struct {
	// URL is the receiver's base URL, http://127.0.0.1:port, set by Start.
	// Any path under it is accepted.
	URL string
	// Secret verifies signatures with Signing; empty skips verification.
	Secret string
	// Signing is the scheme the webhook uses. The zero value is Fivetran's
	// X-Fivetran-Signature-256.
	Signing delivery.Signing
	// Default answers requests once the script is used up. Its zero value
	// answers 200.
	Default Response

	once     sync.Once
	tb       TB
	srv      *httptest.Server
	mu       sync.Mutex
	script   []Response
	requests []Request
	changed  chan struct{}
	closing  chan struct{}
}

// NewReceiver starts a Receiver with the given secret (empty: no signature
// check) and closes it when the test ends.
func NewReceiver(tb TB, secret string) *Receiver {
	tb.Helper()
	r := &Receiver{Secret: secret}
	r.Start(tb)
	return r
}

// Start starts the receiver on 127.0.0.1 and sets URL; tb's Cleanup closes
// it, and AwaitRequests fails tb. Secret, Signing and Default are read as
// requests arrive: change them only while none is arriving, typically
// before the receiver's URL is given to a webhook. Calling Start again does
// nothing.
func (r *Receiver) Start(tb TB) {
	tb.Helper()
	r.once.Do(func() {
		r.mu.Lock()
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		r.closing = make(chan struct{})
		r.tb = tb
		r.mu.Unlock()
		r.srv = httptest.NewServer(http.HandlerFunc(r.serveHTTP))
		r.URL = r.srv.URL
		tb.Cleanup(r.Close)
	})
}

// Close stops the receiver. Requests held by Hang or Delay are released
// without an answer: their connections are dropped. Closing a receiver
// that was not started, or again, does nothing.
func (r *Receiver) Close() {
	r.mu.Lock()
	if r.closing == nil {
		r.mu.Unlock()
		return
	}
	select {
	case <-r.closing:
	default:
		close(r.closing)
	}
	r.mu.Unlock()
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// Respond appends answers to the script: the next requests get them in
// order, then Default. For example Respond(Response{Status: 500},
// Response{Status: 500}) fails twice, then succeeds.
func (r *Receiver) Respond(responses ...Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, responses...)
}

// FailFirst scripts n answers of status (500 when 0) before Default.
func (r *Receiver) FailFirst(n, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	for range n {
		r.Respond(Response{Status: status})
	}
}

// Requests returns a copy of every request recorded so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// AwaitRequests waits until at least n requests were recorded and returns
// them. When ctx ends first (or AwaitTimeout passes, for a ctx without a
// deadline) it fails the test given to Start, saying how many arrived. It
// must not be called before Start.
func (r *Receiver) AwaitRequests(ctx context.Context, n int) []Request {
	r.mu.Lock()
	tb := r.tb
	r.mu.Unlock()
	if tb == nil {
		panic("testkit: Receiver.AwaitRequests before Start")
	}
	tb.Helper()
	ctx, cancel := awaitContext(ctx)
	defer cancel()
	for {
		r.mu.Lock()
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		got, ch := len(r.requests), r.changed
		if got >= n {
			out := append([]Request(nil), r.requests...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			tb.Fatalf("testkit: receiver %s: waited for %d requests, got %d: %v", r.URL, n, got, ctx.Err())
			return r.Requests()
		}
	}
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 64<<20))
	rec := Request{
		Method:     req.Method,
		Path:       req.URL.RequestURI(),
		Header:     req.Header.Clone(),
		Body:       body,
		ReceivedAt: time.Now(),
	}
	if r.Secret != "" {
		rec.SignatureErr = r.Signing.Verify(r.Secret, req.Header, body, rec.ReceivedAt)
	}

	r.mu.Lock()
	resp := r.Default
	if len(r.script) > 0 {
		resp, r.script = r.script[0], r.script[1:]
	}
	r.requests = append(r.requests, rec)
	close(r.changed)
	r.changed = make(chan struct{})
	closing := r.closing
	r.mu.Unlock()

	if resp.Hang || resp.Delay > 0 {
		var timer <-chan time.Time
		if !resp.Hang {
			t := time.NewTimer(resp.Delay)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-timer:
		case <-req.Context().Done():
			return
		case <-closing:
			// Drop the connection: returning would answer 200.
			panic(http.ErrAbortHandler)
		}
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, resp.Body)
}

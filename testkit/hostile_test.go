package testkit_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/testkit"
)

// hostileTimeout is the send timeout of the tests whose receiver does not
// answer: short, so that each such attempt ends quickly, yet long enough
// for the answered attempts of a loaded machine.
const hostileTimeout = time.Second

// deliverTo creates an account webhook for url (no URL check), emits one
// sync_end and returns the id of its delivery.
func deliverTo(t *testing.T, sd *testkit.Standin, url string) string {
	t.Helper()
	wh := sd.CreateWebhook(testkit.WebhookParams{URL: url, Events: []string{"sync_end"}, Secret: "hostile_secret"})
	emitted := sd.Emit(testkit.Event{Event: "sync_end", ConnectorID: "calm_fox"})
	if len(emitted.Deliveries) != 1 || emitted.Deliveries[0].WebhookID != wh.ID {
		t.Fatalf("emitted %+v, want one delivery to %s", emitted.Deliveries, wh.ID)
	}
	return emitted.Deliveries[0].ID
}

// awaitFinal waits for the delivery to reach a final state.
func awaitFinal(t *testing.T, sd *testkit.Standin, id string) (testkit.Delivery, []testkit.Attempt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, attempts := sd.AwaitDelivery(ctx, id)
	return d, attempts
}

// wantAttempt is what one recorded attempt must hold.
type wantAttempt struct {
	status    int
	err       []string // the error contains one of these; none means no error
	excerpt   string   // the excerpt starts with this
	succeeded bool
}

// checkAttempts compares the recorded attempts with want and checks that
// they followed Fivetran's schedule under scale: attempt n+1 carries retry
// n's emulated offset (0, 6m, 27m36s, …) and started no earlier than that
// offset scaled to real time after the first.
func checkAttempts(t *testing.T, attempts []testkit.Attempt, scale float64, want []wantAttempt) {
	t.Helper()
	if len(attempts) != len(want) {
		for _, a := range attempts {
			t.Logf("attempt %d: status %d error %q", a.Number, a.Status, a.Error)
		}
		t.Fatalf("%d attempts recorded, want %d", len(attempts), len(want))
	}
	schedule := delivery.ScheduleFor(delivery.ProfileFivetran)
	for i, a := range attempts {
		w := want[i]
		if a.Number != i+1 || a.Status != w.status || a.Succeeded != w.succeeded {
			t.Errorf("attempt %d: number %d, status %d, succeeded %v; want %d, %d, %v",
				i+1, a.Number, a.Status, a.Succeeded, i+1, w.status, w.succeeded)
		}
		switch {
		case len(w.err) == 0 && a.Error != "":
			t.Errorf("attempt %d: error %q, want none", i+1, a.Error)
		case len(w.err) > 0 && !containsAny(a.Error, w.err):
			t.Errorf("attempt %d: error %q, want one of %q", i+1, a.Error, w.err)
		}
		if !strings.HasPrefix(a.ResponseExcerpt, w.excerpt) || (w.excerpt == "" && len(a.ResponseExcerpt) > 0) {
			t.Errorf("attempt %d: excerpt %.100q, want %.100q", i+1, a.ResponseExcerpt, w.excerpt)
		}
		if len(a.ResponseExcerpt) > delivery.DefaultMaxExcerpt {
			t.Errorf("attempt %d: excerpt of %d bytes, over the %d-byte cap", i+1, len(a.ResponseExcerpt), delivery.DefaultMaxExcerpt)
		}
		if a.RequestHeaders.Get("Content-Type") != "application/json" || a.RequestHeaders.Get(delivery.HeaderFivetranSignature) == "" {
			t.Errorf("attempt %d: request headers not recorded: %v", i+1, a.RequestHeaders)
		}
		var offset time.Duration
		if i > 0 {
			offset, _ = schedule.Offset(i)
		}
		if a.EmulatedDelay != offset {
			t.Errorf("attempt %d: emulated delay %v, want %v", i+1, a.EmulatedDelay, offset)
		}
		real := time.Duration(float64(offset) / scale)
		if got := a.StartedAt.Sub(attempts[0].StartedAt); got < real-2*time.Millisecond {
			t.Errorf("attempt %d started %v after the first, before its scheduled %v", i+1, got, real)
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// timeoutErrors are the ways Go reports an attempt cut off by the send
// timeout.
var timeoutErrors = []string{"Client.Timeout exceeded", "i/o timeout", "context deadline exceeded"}

// TestHostileReceiverHangs: a receiver that holds the request open. Each
// attempt ends at the send timeout, is recorded as a timeout with no status,
// and is retried on schedule; once the receiver answers, the delivery
// succeeds.
func TestHostileReceiverHangs(t *testing.T) {
	t.Parallel()
	const scale = 36000
	sd := testkit.Start(t, testkit.Config{TimeScale: scale, SendTimeout: hostileTimeout})
	rcv := testkit.NewReceiver(t, "hostile_secret")
	rcv.Respond(testkit.Response{Hang: true}, testkit.Response{Hang: true}, testkit.Response{Body: "ok"})

	d, attempts := awaitFinal(t, sd, deliverTo(t, sd, rcv.URL+"/hook"))
	if d.State != testkit.StateSucceeded {
		t.Fatalf("state %s, want succeeded", d.State)
	}
	hang := wantAttempt{err: timeoutErrors}
	checkAttempts(t, attempts, scale, []wantAttempt{hang, hang, {status: 200, excerpt: "ok", succeeded: true}})
	for _, a := range attempts[:2] {
		if a.Latency < hostileTimeout-20*time.Millisecond || a.Latency > hostileTimeout+5*time.Second {
			t.Errorf("attempt %d: latency %v, want about the %v timeout", a.Number, a.Latency, hostileTimeout)
		}
	}
	if n := len(rcv.Requests()); n != 3 {
		t.Errorf("receiver saw %d requests, want 3", n)
	}
}

// TestHostileReceiverEndlessBody: a receiver that streams a response body
// without end (up to 8 GiB). The sender keeps a 4 KiB excerpt, reads at
// most about 1 MiB more and hangs up, so the receiver cannot push more than
// a few MiB per attempt, and standin's memory stays flat. Not parallel: it
// measures the process's allocations.
func TestHostileReceiverEndlessBody(t *testing.T) {
	const scale = 36000
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB
	var served atomic.Int32
	written := make(chan int64, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		status := http.StatusInternalServerError
		if served.Add(1) > 2 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		var total int64
		for total < 8<<30 {
			n, err := w.Write(chunk)
			total += int64(n)
			if err != nil {
				break
			}
		}
		written <- total
	}))
	t.Cleanup(srv.Close)
	sd := testkit.Start(t, testkit.Config{TimeScale: scale, SendTimeout: 10 * time.Second})

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, attempts := awaitFinal(t, sd, deliverTo(t, sd, srv.URL+"/hook"))
	var pushed []int64
	for range 3 {
		select {
		case n := <-written:
			pushed = append(pushed, n)
		case <-time.After(30 * time.Second):
			t.Fatalf("the receiver is still streaming: the sender never hung up")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	if d.State != testkit.StateSucceeded {
		t.Fatalf("state %s, want succeeded", d.State)
	}
	excerpt := string(chunk[:delivery.DefaultMaxExcerpt])
	failed := wantAttempt{status: 500, err: []string{"receiver answered HTTP 500"}, excerpt: excerpt}
	checkAttempts(t, attempts, scale, []wantAttempt{failed, failed, {status: 200, excerpt: excerpt, succeeded: true}})
	for i, a := range attempts {
		if len(a.ResponseExcerpt) != delivery.DefaultMaxExcerpt {
			t.Errorf("attempt %d: excerpt of %d bytes, want exactly %d", i+1, len(a.ResponseExcerpt), delivery.DefaultMaxExcerpt)
		}
	}
	for i, n := range pushed {
		// 4 KiB excerpt + 1 MiB drain + what the socket buffers absorb.
		if n > 64<<20 {
			t.Errorf("response %d: the receiver pushed %d MiB before the sender hung up", i+1, n>>20)
		}
	}
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("receiver pushed %v bytes; heap in use %+d KiB, allocated %d KiB", pushed, heap>>10, alloc>>10)
	if heap > 32<<20 {
		t.Errorf("heap in use grew by %d MiB", heap>>20)
	}
	if alloc > 64<<20 {
		t.Errorf("allocated %d MiB while receiving three endless bodies", alloc>>20)
	}
}

// TestHostileReceiverRedirects: a receiver that answers 302 and 307 to
// another server. Redirects are not followed (the target never sees a
// request); each is recorded as a failure with its status, Location and
// body, and retried on schedule.
func TestHostileReceiverRedirects(t *testing.T) {
	t.Parallel()
	const scale = 36000
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { targetHits.Add(1) }))
	t.Cleanup(target.Close)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Location", target.URL+"/elsewhere")
			w.WriteHeader(http.StatusFound)
			_, _ = io.WriteString(w, "moved")
		case 2:
			w.Header().Set("Location", target.URL+"/elsewhere")
			w.WriteHeader(http.StatusTemporaryRedirect)
			_, _ = io.WriteString(w, "moved again")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	sd := testkit.Start(t, testkit.Config{TimeScale: scale})

	d, attempts := awaitFinal(t, sd, deliverTo(t, sd, srv.URL+"/hook"))
	if d.State != testkit.StateSucceeded {
		t.Fatalf("state %s, want succeeded", d.State)
	}
	checkAttempts(t, attempts, scale, []wantAttempt{
		{status: 302, err: []string{"receiver answered HTTP 302"}, excerpt: "moved"},
		{status: 307, err: []string{"receiver answered HTTP 307"}, excerpt: "moved again"},
		{status: 200, excerpt: "ok", succeeded: true},
	})
	for _, a := range attempts[:2] {
		if loc := a.ResponseHeaders.Get("Location"); loc != target.URL+"/elsewhere" {
			t.Errorf("attempt %d: Location %q not recorded", a.Number, loc)
		}
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests: redirects were followed", n)
	}
}

// TestHostileReceiverResets: a receiver that reads the request and resets
// the connection (SO_LINGER 0, then close). Each attempt is recorded with
// no status and the transport error, and retried on schedule.
func TestHostileReceiverResets(t *testing.T) {
	t.Parallel()
	const scale = 36000
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			_, _ = io.Copy(io.Discard, r.Body)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	sd := testkit.Start(t, testkit.Config{TimeScale: scale})

	d, attempts := awaitFinal(t, sd, deliverTo(t, sd, srv.URL+"/hook"))
	if d.State != testkit.StateSucceeded {
		t.Fatalf("state %s, want succeeded", d.State)
	}
	reset := wantAttempt{err: []string{"connection reset by peer"}}
	checkAttempts(t, attempts, scale, []wantAttempt{reset, reset, {status: 200, excerpt: "ok", succeeded: true}})
	if n := hits.Load(); n != 3 {
		t.Errorf("receiver got %d requests, want 3 (a reset POST must not be replayed by the transport)", n)
	}
}

// TestHostileReceiverSelfSignedTLS: a receiver with a self-signed
// certificate. By default every attempt fails the handshake (recorded with
// the x509 error, retried over the whole 24-hour schedule, then failed);
// with InsecureSkipVerify, or with the certificate as a trusted root (what
// serve --ca-file sets up), deliveries go through.
func TestHostileReceiverSelfSignedTLS(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)

	t.Run("untrusted", func(t *testing.T) {
		t.Parallel()
		const scale = 1e6
		sd := testkit.Start(t, testkit.Config{TimeScale: scale})
		d, attempts := awaitFinal(t, sd, deliverTo(t, sd, srv.URL+"/hook"))
		if d.State != testkit.StateFailed {
			t.Fatalf("state %s, want failed", d.State)
		}
		tlsErr := wantAttempt{err: []string{"x509: certificate signed by unknown authority"}}
		checkAttempts(t, attempts, scale, []wantAttempt{tlsErr, tlsErr, tlsErr, tlsErr, tlsErr, tlsErr})
	})
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	for name, cfg := range map[string]*tls.Config{
		"insecure skip verify": {InsecureSkipVerify: true},
		"trusted root":         {RootCAs: pool},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sd := testkit.Start(t, testkit.Config{TLSConfig: cfg})
			d, attempts := awaitFinal(t, sd, deliverTo(t, sd, srv.URL+"/hook"))
			if d.State != testkit.StateSucceeded {
				t.Fatalf("state %s, want succeeded", d.State)
			}
			checkAttempts(t, attempts, 1, []wantAttempt{{status: 200, excerpt: "ok", succeeded: true}})
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 2 {
			t.Errorf("TLS receiver handled %d requests, want 2 (the trusted ones)", n)
		}
	})
}

// holdListener is a listener whose first hold connections are never handed
// to the server: the kernel completes their handshake and buffers the
// request, but nobody accepts them, like a receiver whose accept loop is
// stuck. Later connections are accepted normally.
type holdListener struct {
	net.Listener
	hold int

	mu   sync.Mutex
	held []net.Conn
}

func (l *holdListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.held) < l.hold {
			l.held = append(l.held, c)
			l.mu.Unlock()
			continue
		}
		l.mu.Unlock()
		return c, nil
	}
}

func (l *holdListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.held {
		_ = c.Close()
	}
	return l.Listener.Close()
}

// TestHostileReceiverSlowAccept: a receiver that does not accept the first
// two connections. Those attempts time out (no status), are retried on
// schedule, and the third, accepted, succeeds.
func TestHostileReceiverSlowAccept(t *testing.T) {
	t.Parallel()
	const scale = 36000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Listener = &holdListener{Listener: ln, hold: 2}
	srv.Start()
	t.Cleanup(srv.Close)
	sd := testkit.Start(t, testkit.Config{TimeScale: scale, SendTimeout: hostileTimeout})

	d, attempts := awaitFinal(t, sd, deliverTo(t, sd, srv.URL+"/hook"))
	if d.State != testkit.StateSucceeded {
		t.Fatalf("state %s, want succeeded", d.State)
	}
	stuck := wantAttempt{err: timeoutErrors}
	checkAttempts(t, attempts, scale, []wantAttempt{stuck, stuck, {status: 200, excerpt: "ok", succeeded: true}})
	if n := hits.Load(); n != 1 {
		t.Errorf("receiver handled %d requests, want 1", n)
	}
}

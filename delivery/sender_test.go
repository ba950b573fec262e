package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// newServer starts an httptest server on 127.0.0.1:0, closed at cleanup.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// stepClock returns a clock that advances by step on every call.
func stepClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := now
		now = now.Add(step)
		return t
	}
}

type received struct {
	method, path string
	header       http.Header
	body         []byte
}

func TestSendSuccess(t *testing.T) {
	t.Parallel()
	got := make(chan received, 1)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{r.Method, r.URL.Path, r.Header.Clone(), body}
		w.Header().Set("X-Receiver", "yes")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))

	body := []byte(realCapture)
	auth, err := Signing{}.Headers(vectorSecret, body, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Sender{Now: stepClock(time.Unix(1779408368, 0), 150*time.Millisecond)}
	resp := s.Send(context.Background(), Request{URL: srv.URL + "/hook", Header: auth, Body: body})

	if resp.Err != nil || resp.Status != 200 || !resp.OK(ProfileFivetran) || !resp.OK(ProfilePortable) {
		t.Fatalf("Send = status %d, err %v; want 200, nil", resp.Status, resp.Err)
	}
	if string(resp.Excerpt) != `{"ok":true}` {
		t.Errorf("Excerpt = %q", resp.Excerpt)
	}
	if resp.Latency != 150*time.Millisecond {
		t.Errorf("Latency = %v, want 150ms from the injected clock", resp.Latency)
	}
	if resp.Header.Get("X-Receiver") != "yes" {
		t.Errorf("response Header = %v", resp.Header)
	}
	wantSent := http.Header{
		"Content-Type":             {"application/json"},
		"User-Agent":               {"standin"},
		"X-Fivetran-Signature-256": {"214CEC7B3D7716916B32F3BBBE9DDA2B72F489E509D38A93527A4630264B1FD1"},
	}
	if !reflect.DeepEqual(resp.RequestHeader, wantSent) {
		t.Errorf("RequestHeader = %v, want %v", resp.RequestHeader, wantSent)
	}
	if len(auth) != 1 {
		t.Errorf("Send modified Request.Header: %v", auth)
	}

	r := <-got
	if r.method != http.MethodPost || r.path != "/hook" {
		t.Errorf("request = %s %s, want POST /hook", r.method, r.path)
	}
	if !bytes.Equal(r.body, body) {
		t.Errorf("body received = %q, want %q", r.body, body)
	}
	// Exactly these headers on the wire: no Accept-Encoding, nothing else.
	wantWire := wantSent.Clone()
	wantWire.Set("Content-Length", strconv.Itoa(len(body)))
	if !reflect.DeepEqual(r.header, wantWire) {
		t.Errorf("headers received = %v, want %v", r.header, wantWire)
	}
	if err := (Signing{}).Verify(vectorSecret, r.header, r.body, time.Time{}); err != nil {
		t.Errorf("receiver-side Verify = %v", err)
	}
}

func TestSendStatuses(t *testing.T) {
	t.Parallel()
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
		if code != http.StatusNoContent {
			_, _ = io.WriteString(w, "status "+r.PathValue("code"))
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/target")
		w.WriteHeader(http.StatusFound)
		_, _ = io.WriteString(w, "moved")
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
	})
	srv := newServer(t, mux)

	for _, tc := range []struct {
		path               string
		status             int
		excerpt            string
		fivetran, portable bool
	}{
		{"/status/200", 200, "status 200", true, true},
		{"/status/201", 201, "status 201", true, false},
		{"/status/204", 204, "", true, false},
		{"/status/400", 400, "status 400", false, false},
		{"/status/500", 500, "status 500", false, false},
		{"/status/503", 503, "status 503", false, false},
		{"/redirect", 302, "moved", false, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			resp := (&Sender{}).Send(context.Background(), Request{URL: srv.URL + tc.path, Body: []byte("{}")})
			if resp.Err != nil {
				t.Fatalf("Err = %v; a non-2xx is not a transport error", resp.Err)
			}
			if resp.Status != tc.status || string(resp.Excerpt) != tc.excerpt {
				t.Errorf("Send = %d %q, want %d %q", resp.Status, resp.Excerpt, tc.status, tc.excerpt)
			}
			if tc.excerpt == "" && resp.Excerpt != nil {
				t.Errorf("Excerpt = %#v, want nil for an empty body", resp.Excerpt)
			}
			if resp.OK(ProfileFivetran) != tc.fivetran || resp.OK(ProfilePortable) != tc.portable {
				t.Errorf("OK = %v/%v, want %v/%v", resp.OK(ProfileFivetran), resp.OK(ProfilePortable), tc.fivetran, tc.portable)
			}
			if tc.status == 302 && resp.Header.Get("Location") != "/target" {
				t.Errorf("Location = %q", resp.Header.Get("Location"))
			}
		})
	}
	t.Cleanup(func() {
		if n := followed.Load(); n != 0 {
			t.Errorf("redirect followed %d times", n)
		}
	})
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	resp := (&Sender{Timeout: 50 * time.Millisecond}).Send(context.Background(), Request{URL: srv.URL, Body: []byte("{}")})
	var ne net.Error
	if !errors.As(resp.Err, &ne) || !ne.Timeout() {
		t.Fatalf("Err = %v, want a timeout", resp.Err)
	}
	if resp.Status != 0 || resp.Header != nil || resp.Excerpt != nil || resp.OK(ProfileFivetran) {
		t.Errorf("Send = %+v, want no response", resp)
	}
	if resp.RequestHeader.Get("Content-Type") != "application/json" {
		t.Errorf("RequestHeader not recorded on failure: %v", resp.RequestHeader)
	}
}

func TestSendCanceled(t *testing.T) {
	t.Parallel()
	srv := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp := (&Sender{}).Send(ctx, Request{URL: srv.URL})
	if !errors.Is(resp.Err, context.Canceled) || resp.Status != 0 {
		t.Fatalf("Send = %d, %v; want context.Canceled", resp.Status, resp.Err)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	resp := (&Sender{}).Send(context.Background(), Request{URL: "http://" + addr + "/", Body: []byte("{}")})
	if !errors.Is(resp.Err, syscall.ECONNREFUSED) || resp.Status != 0 {
		t.Fatalf("Send = %d, %v; want connection refused", resp.Status, resp.Err)
	}
}

func TestSendBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"://nope", "ftp://127.0.0.1/", "", "http://[::1"} {
		resp := (&Sender{}).Send(context.Background(), Request{URL: u})
		if resp.Err == nil || resp.Status != 0 {
			t.Errorf("Send(%q) = %d, %v; want an error", u, resp.Status, resp.Err)
		}
	}
}

// patternBody writes n bytes of a repeating pattern and reports how many it
// managed to write.
func patternBody(n int, written chan<- int) http.HandlerFunc {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(n))
		total := 0
		for total < n {
			m, err := w.Write(chunk[:min(len(chunk), n-total)])
			total += m
			if err != nil {
				break
			}
		}
		if written != nil {
			written <- total
		}
	}
}

// TestSendHugeBody is not parallel: it measures allocations.
func TestSendHugeBody(t *testing.T) {
	const size = 64 << 20
	written := make(chan int, 1)
	srv := newServer(t, patternBody(size, written))
	want := bytes.Repeat([]byte("0123456789abcdef"), 256) // 4096 bytes

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp := (&Sender{}).Send(context.Background(), Request{URL: srv.URL, Body: []byte("{}")})
	runtime.ReadMemStats(&after)

	if resp.Err != nil || resp.Status != 200 {
		t.Fatalf("Send = %d, %v", resp.Status, resp.Err)
	}
	if !bytes.Equal(resp.Excerpt, want) {
		t.Errorf("Excerpt has %d bytes, want the first 4096 of the body", len(resp.Excerpt))
	}
	if n := <-written; n >= size {
		t.Errorf("receiver wrote all %d bytes: the sender read the whole body", n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("Send allocated %d bytes for a %d-byte body", alloc, size)
	}

	small := (&Sender{MaxExcerpt: 10}).Send(context.Background(), Request{URL: srv.URL})
	<-written
	if string(small.Excerpt) != "0123456789" {
		t.Errorf("MaxExcerpt 10: Excerpt = %q", small.Excerpt)
	}
}

func TestSendConnectionReuse(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/small", patternBody(100, nil))
	mux.Handle("/medium", patternBody(200<<10, nil)) // drained: connection kept
	mux.Handle("/large", patternBody(3<<20, nil))    // over the drain cap: connection dropped
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	s := &Sender{}
	for _, step := range []struct {
		path  string
		conns int32
	}{
		{"/small", 1}, {"/medium", 1}, {"/small", 1}, {"/large", 1}, {"/small", 2}, {"/small", 2},
	} {
		resp := s.Send(context.Background(), Request{URL: srv.URL + step.path, Body: []byte("{}")})
		if resp.Err != nil || resp.Status != 200 {
			t.Fatalf("%s: %d, %v", step.path, resp.Status, resp.Err)
		}
		if got := conns.Load(); got != step.conns {
			t.Fatalf("after %s: %d connections opened, want %d", step.path, got, step.conns)
		}
	}
}

func TestSendHeaderOverrides(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 2)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	for _, tc := range []struct {
		name   string
		s      *Sender
		header http.Header
		want   http.Header
	}{
		{
			"sender user agent", &Sender{UserAgent: "standin/1.2.3"}, nil,
			http.Header{"Content-Type": {"application/json"}, "User-Agent": {"standin/1.2.3"}},
		},
		{
			"request headers win", &Sender{UserAgent: "ignored"},
			http.Header{"User-Agent": {"Fivetran"}, "Content-Type": {"application/json; charset=utf-8"}, "X-Token": {"a", "b"}},
			http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"Fivetran"}, "X-Token": {"a", "b"}},
		},
	} {
		resp := tc.s.Send(context.Background(), Request{URL: srv.URL, Header: tc.header, Body: []byte("{}")})
		if resp.Err != nil {
			t.Fatal(resp.Err)
		}
		if !reflect.DeepEqual(resp.RequestHeader, tc.want) {
			t.Errorf("%s: RequestHeader = %v, want %v", tc.name, resp.RequestHeader, tc.want)
		}
		wire := <-got
		wire.Del("Content-Length")
		if !reflect.DeepEqual(wire, tc.want) {
			t.Errorf("%s: received %v, want %v", tc.name, wire, tc.want)
		}
	}
}

func TestSendTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake is expected to fail
	srv.StartTLS()
	t.Cleanup(srv.Close)

	untrusted := (&Sender{}).Send(context.Background(), Request{URL: srv.URL})
	var unknown x509.UnknownAuthorityError
	if !errors.As(untrusted.Err, &unknown) {
		t.Errorf("untrusted certificate: Err = %v, want x509.UnknownAuthorityError", untrusted.Err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	trusted := (&Sender{TLSConfig: &tls.Config{RootCAs: pool}}).Send(context.Background(), Request{URL: srv.URL})
	if trusted.Err != nil || trusted.Status != 200 {
		t.Errorf("trusted CA: %d, %v", trusted.Status, trusted.Err)
	}

	insecure := (&Sender{TLSConfig: &tls.Config{InsecureSkipVerify: true}}).Send(context.Background(), Request{URL: srv.URL})
	if insecure.Err != nil || insecure.Status != 200 {
		t.Errorf("insecure skip verify: %d, %v", insecure.Status, insecure.Err)
	}
}

func TestSenderConcurrentUse(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	s := &Sender{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if resp := s.Send(context.Background(), Request{URL: srv.URL, Body: []byte("{}")}); resp.Status != 200 {
				t.Errorf("Send = %d, %v", resp.Status, resp.Err)
			}
		})
	}
	wg.Wait()
	if hits.Load() != 16 {
		t.Errorf("%d requests received, want 16", hits.Load())
	}
}

func TestSenderDefaultClient(t *testing.T) {
	t.Parallel()
	s := &Sender{}
	c := s.httpClient()
	if c != s.httpClient() {
		t.Error("client rebuilt on second use")
	}
	if c.Timeout != 10*time.Second {
		t.Errorf("Timeout = %v, want 10s", c.Timeout)
	}
	tr := c.Transport.(*http.Transport)
	if tr.Proxy != nil {
		t.Error("transport uses a proxy; the environment's proxy must be ignored")
	}
	if !tr.DisableCompression {
		t.Error("transport adds Accept-Encoding")
	}
	own := &http.Client{}
	if got := (&Sender{Client: own}).httpClient(); got != own {
		t.Error("Sender.Client not used")
	}
}

// TestSendEndlessResponseHeaders: a receiver that sends response headers
// without end fails the attempt once they pass MaxResponseHeaderBytes, and
// memory stays flat (20 at once, allocations logged).
func TestSendEndlessResponseHeaders(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
				line := []byte("X-Endless: " + string(bytes.Repeat([]byte("h"), 1000)) + "\r\n")
				for {
					if _, err := c.Write(line); err != nil {
						return
					}
				}
			}()
		}
	}()
	s := &Sender{Timeout: 20 * time.Second}
	const n = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Send(context.Background(), Request{URL: "http://" + lis.Addr().String() + "/"}).Err
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	t.Logf("%d sends to a receiver with endless headers allocated %.1f MB", n, float64(after.TotalAlloc-before.TotalAlloc)/1e6)
	want := "exceeded " + strconv.Itoa(MaxResponseHeaderBytes) + " bytes"
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("send %d: %v, want an error saying the headers %s", i, err, want)
		}
	}
}

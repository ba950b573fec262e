package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/app"
	"github.com/standin-dev/standin/store/sqlite"
)

// serveLimited runs a standin API (no workers) with cfg's connection bounds
// on 127.0.0.1:0 and returns its base URL.
func serveLimited(t *testing.T, cfg app.Config) string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg.Store, cfg.Role, cfg.SkipSeed, cfg.SkipURLCheck = st, app.RoleAPI, true, true
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, app.Listeners{HTTP: lis}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + lis.Addr().String()
}

// trickle opens a connection that sends a request's headers at once and
// then its body one byte every 100 ms, and returns a channel that receives
// the response's status (0 when the connection ends without one).
func trickle(t *testing.T, addr string) <-chan int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); c.Close() })
	if _, err := io.WriteString(c, "POST /v1/webhooks/account HTTP/1.1\r\nHost: standin\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	status := make(chan int, 1)
	go func() {
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			status <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status <- resp.StatusCode
		// Then report when the server closes the connection.
		_, _ = io.Copy(io.Discard, br)
		close(status)
	}()
	return status
}

// getFresh GETs url on a new connection.
func getFresh(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitStatus(t *testing.T, what string, ch <-chan int, want int) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Errorf("%s: status %d, want %d", what, got, want)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no response within 15 s, want %d", what, want)
	}
}

// TestSlowBodiesBounded: more trickling connections than the limit hold at
// most MaxConnections; past it, /healthz is still answered and other
// requests get 503 at once; the tricklers holding the slots are answered
// 408 once RequestReadTimeout passes, and normal clients are served again.
func TestSlowBodiesBounded(t *testing.T) {
	t.Parallel()
	const limit = 4
	base := serveLimited(t, app.Config{MaxConnections: limit, RequestReadTimeout: 3 * time.Second})
	addr := strings.TrimPrefix(base, "http://")

	var holders []<-chan int
	for range limit {
		holders = append(holders, trickle(t, addr))
	}
	// More than the reserve: each lands on a reserve connection, is
	// answered 503 without its body being waited for, and is closed at
	// once, well before the reserve connection's lifetime, so that the
	// reserve stays free for health checks.
	for i := range 2 * server.ReserveConnections {
		what := fmt.Sprintf("trickler %d past the limit", limit+i+1)
		ch := trickle(t, addr)
		waitStatus(t, what, ch, http.StatusServiceUnavailable)
		select {
		case <-ch:
		case <-time.After(server.ReserveConnectionLifetime / 2):
			t.Fatalf("%s: connection still open %v after its 503", what, server.ReserveConnectionLifetime/2)
		}
	}
	if st, body := getFresh(t, base+"/healthz"); st != http.StatusOK || !strings.Contains(body, "SERVING") {
		t.Errorf("/healthz at the limit: %d %s, want 200", st, body)
	}
	if st, body := getFresh(t, base+"/v1/webhooks"); st != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"ServiceUnavailable"`) || !strings.Contains(body, "Too many connections") {
		t.Errorf("a normal client at the limit: %d %s, want 503 ServiceUnavailable", st, body)
	}
	// The healthz and 503 answers came while the slots were still held.
	for i, h := range holders {
		select {
		case st := <-h:
			t.Fatalf("trickler %d answered %d before the checks at the limit finished", i+1, st)
		default:
		}
	}
	for i, h := range holders {
		waitStatus(t, fmt.Sprintf("trickler %d holding a slot", i+1), h, http.StatusRequestTimeout)
	}
	if st, body := getFresh(t, base+"/v1/webhooks"); st != http.StatusOK {
		t.Errorf("a normal client once the tricklers are cut off: %d %s, want 200", st, body)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// TestSenderFromFlagsTLS checks the TLS flags of serve against a receiver
// with a self-signed certificate: refused by default, accepted with
// --insecure-skip-verify or with its certificate in --ca-file; a missing or
// empty CA file is an error naming the flag.
func TestSenderFromFlagsTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}

	send := func(s *delivery.Sender) delivery.Response {
		return s.Send(context.Background(), delivery.Request{URL: srv.URL + "/hook", Body: []byte("{}")})
	}
	for _, tt := range []struct {
		name    string
		flags   serveFlags
		wantErr string // from senderFromFlags
		ok      bool   // the delivery goes through
	}{
		{name: "default", flags: serveFlags{sendTimeout: 30 * time.Second}},
		{name: "insecure skip verify", flags: serveFlags{insecureSkipVerify: true}, ok: true},
		{name: "ca file", flags: serveFlags{caFile: caFile}, ok: true},
		{name: "ca file and insecure", flags: serveFlags{caFile: caFile, insecureSkipVerify: true}, ok: true},
		{name: "missing ca file", flags: serveFlags{caFile: filepath.Join(dir, "nope.pem")}, wantErr: "--ca-file: open "},
		{name: "ca file without PEM", flags: serveFlags{caFile: notPEM}, wantErr: "--ca-file " + notPEM + ": no PEM certificates found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := senderFromFlags(tt.flags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("senderFromFlags = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Timeout != tt.flags.sendTimeout {
				t.Errorf("Timeout %v, want %v", s.Timeout, tt.flags.sendTimeout)
			}
			resp := send(s)
			if tt.ok && (resp.Err != nil || resp.Status != 200 || string(resp.Excerpt) != "ok") {
				t.Errorf("Send = %d %q, %v; want 200 ok", resp.Status, resp.Excerpt, resp.Err)
			}
			if !tt.ok && (resp.Err == nil || !strings.Contains(resp.Err.Error(), "x509: certificate signed by unknown authority")) {
				t.Errorf("Send = %d, %v; want an x509 error", resp.Status, resp.Err)
			}
		})
	}
}

// TestServeBadCAFile: serve refuses to start, with exit code 2 and a
// message naming the flag, when --ca-file cannot be used.
func TestServeBadCAFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.pem")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--ca-file", missing, "--database-url", filepath.Join(t.TempDir(), "db"),
		"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--ca-file: open "+missing) {
		t.Errorf("exit %d, stderr %q; want 2 naming --ca-file", code, stderr.String())
	}
}

// Package testkit runs standin inside Go tests, the way net/http/httptest runs
// an HTTP server: Start gives a real standin (API, workers, embedded SQLite in
// a temp dir) on 127.0.0.1 random ports, stopped when the test ends, and a
// Receiver records what standin sends. Await methods wait for deliveries and
// requests without sleeping, and a time scale walks the 24-hour retry
// schedule in well under a second. Typed helpers (ListDeliveries,
// GetDelivery, Redeliver, CancelDelivery, ListEvents, GetEvent) read and act
// on the delivery log through the API, and a Harness stands in for
// *testing.T where there is none (Examples, TestMain).
package testkit

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
)

// Config configures a test standin. The zero value runs on a fresh SQLite
// file in tb.TempDir(), in real time, without authentication and without the
// URL check.
type Config struct {
	// DatabaseURL selects the backend; a postgres:// URL runs on
	// PostgreSQL. Defaults to a SQLite file in tb.TempDir().
	DatabaseURL string
	// TimeScale is emulated seconds per real second. Defaults to 1. A scale
	// of 1e6 runs Fivetran's whole 24-hour retry schedule in about 90 ms.
	TimeScale float64
	// APIKey and APISecret turn on HTTP Basic auth when both are set; the
	// Standin's own helpers send them.
	APIKey, APISecret string
	// URLCheck turns on Fivetran's test_event check of webhook URLs at
	// creation and activation. Defaults to false (off) so tests can create
	// webhooks for receivers that start later.
	URLCheck bool
	// SendTimeout is the delivery request timeout. Defaults to 10 s, as
	// Fivetran.
	SendTimeout time.Duration
	// TLSConfig configures TLS to receivers, e.g. RootCAs holding a test
	// server's certificate, or InsecureSkipVerify. Defaults to Go's
	// defaults: a self-signed receiver fails every attempt.
	TLSConfig *tls.Config
	// Logger receives standin's logs. Defaults to discarding them.
	Logger *slog.Logger
}

// Standin is a running in-process standin.
type Standin struct {
	// URL is the REST base, http://127.0.0.1:port. Fivetran clients use
	// URL + "/v1".
	URL string
	// GRPCAddr is the gRPC listen address, 127.0.0.1:port.
	GRPCAddr string

	tb     TB
	cfg    Config
	srv    *server.Server
	client *http.Client

	connOnce sync.Once
	conn     *grpc.ClientConn

	mu      sync.Mutex
	changed chan struct{}
}

// Start runs standin for the test and stops it in tb.Cleanup. tb is
// usually the test's *testing.T; outside a test function use a Harness.
func Start(tb TB, cfg ...Config) *Standin {
	tb.Helper()
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(tb.TempDir(), "standin.db")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Standin{tb: tb, cfg: c, client: &http.Client{Timeout: 30 * time.Second}, changed: make(chan struct{})}

	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{
		DatabaseURL:       c.DatabaseURL,
		APIKey:            c.APIKey,
		APISecret:         c.APISecret,
		TimeScale:         c.TimeScale,
		SkipURLCheck:      !c.URLCheck,
		Sender:            &delivery.Sender{Timeout: c.SendTimeout, TLSConfig: c.TLSConfig},
		FetchPollInterval: 5 * time.Millisecond,
		ShutdownTimeout:   5 * time.Second,
		Logger:            c.Logger,
		OnAttempt:         func(string, string) { s.signal() },
	})
	if err != nil {
		cancel()
		tb.Fatalf("testkit: start standin: %v", err)
	}
	s.srv = srv
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		srv.Close()
		tb.Fatalf("testkit: listen: %v", err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		httpLis.Close()
		srv.Close()
		tb.Fatalf("testkit: listen: %v", err)
	}
	s.URL = "http://" + httpLis.Addr().String()
	s.GRPCAddr = grpcLis.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, server.Listeners{HTTP: httpLis, GRPC: grpcLis}) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("testkit: serve: %v", err)
		}
		if s.conn != nil {
			s.conn.Close()
		}
		if err := srv.Close(); err != nil {
			tb.Errorf("testkit: close: %v", err)
		}
	})
	return s
}

// Store gives direct access to standin's store, for assertions the API does
// not offer.
func (s *Standin) Store() store.Store { return s.srv.Store() }

// GRPCConn returns a gRPC client connection to the instance, closed when the
// test ends. Use it with the generated clients in proto/standin/v1.
func (s *Standin) GRPCConn() *grpc.ClientConn {
	s.connOnce.Do(func() {
		conn, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			s.tb.Fatalf("testkit: grpc dial: %v", err)
		}
		s.conn = conn
	})
	return s.conn
}

func (s *Standin) signal() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Standin) waitChange() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Do sends a JSON request to the REST API with the configured credentials
// and decodes the Fivetran envelope's data into out (when non-nil). A
// response whose code is not "Success" is returned as an *APIError. Every
// request but a GET wakes the Await methods, since it may have changed a
// delivery (a cancel) without an attempt.
func (s *Standin) Do(ctx context.Context, method, path string, in, out any) error {
	if method != http.MethodGet {
		defer s.signal()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.cfg.APIKey != "" {
		req.SetBasicAuth(s.cfg.APIKey, s.cfg.APISecret)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d, not a JSON envelope: %q", method, path, resp.StatusCode, raw)
	}
	if env.Code != "Success" {
		return &APIError{HTTPStatus: resp.StatusCode, Code: env.Code, Message: env.Message}
	}
	if out != nil && len(env.Data) > 0 {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

// APIError is a non-success answer of the API.
type APIError struct {
	HTTPStatus int
	Code       string
	Message    string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.HTTPStatus, e.Code, e.Message)
}

// Webhook is a webhook as the API returns it.
type Webhook struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	GroupID   string   `json:"group_id,omitempty"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Active    bool     `json:"active"`
	Secret    string   `json:"secret,omitempty"`
	CreatedAt string   `json:"created_at"`
	CreatedBy string   `json:"created_by"`
}

// WebhookParams creates a webhook. GroupID makes a group webhook; otherwise
// it is an account webhook. Active defaults to true.
type WebhookParams struct {
	GroupID string
	URL     string
	Events  []string
	Secret  string
	Active  *bool
	// Profile is "fivetran" (default) or "portable" (a standin extension).
	Profile string
	// Signing is a standin extension choosing another signing scheme.
	Signing *delivery.Signing
}

// CreateWebhook creates a webhook through the REST API and fails the test on
// error.
func (s *Standin) CreateWebhook(p WebhookParams) Webhook {
	s.tb.Helper()
	body := map[string]any{"url": p.URL, "events": p.Events}
	if p.Secret != "" {
		body["secret"] = p.Secret
	}
	if p.Active != nil {
		body["active"] = *p.Active
	}
	if p.Profile != "" {
		body["profile"] = p.Profile
	}
	if p.Signing != nil {
		body["signing"] = p.Signing
	}
	path := "/v1/webhooks/account"
	if p.GroupID != "" {
		path = "/v1/webhooks/group/" + p.GroupID
	}
	var wh Webhook
	if err := s.Do(context.Background(), http.MethodPost, path, body, &wh); err != nil {
		s.tb.Fatalf("testkit: create webhook: %v", err)
	}
	return wh
}

// Event is an event to emit. Empty fields get realistic defaults.
type Event struct {
	Event         string          `json:"event"`
	ConnectorID   string          `json:"connector_id,omitempty"`
	ConnectorType string          `json:"connector_type,omitempty"`
	ConnectorName string          `json:"connector_name,omitempty"`
	GroupID       string          `json:"group_id,omitempty"`
	SyncID        string          `json:"sync_id,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	// Status, Reason: sync_end conveniences (Fivetran data.status/reason,
	// Portable status).
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Emitted is the answer to an emitted event.
type Emitted struct {
	ID         string `json:"id"`
	Event      string `json:"event"`
	Deliveries []struct {
		ID        string `json:"id"`
		WebhookID string `json:"webhook_id"`
		State     string `json:"state"`
	} `json:"deliveries"`
}

// Emit emits an event through the emulator API and fails the test on error.
func (s *Standin) Emit(e Event) Emitted {
	s.tb.Helper()
	var out Emitted
	if err := s.Do(context.Background(), http.MethodPost, "/standin/v1/events", e, &out); err != nil {
		s.tb.Fatalf("testkit: emit %s: %v", e.Event, err)
	}
	return out
}

// Delivery returns a delivery and its attempts from the store.
func (s *Standin) Delivery(ctx context.Context, id string) (*store.Delivery, []*store.Attempt, error) {
	d, err := s.Store().DeliveryGetByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	attempts, err := s.Store().AttemptListByDelivery(ctx, id)
	return d, attempts, err
}

// AwaitDelivery waits until the delivery is in one of the given states (any
// final state when none is given: succeeded, failed, cancelled) and returns
// it with its attempts. It wakes on every attempt this instance records; it
// never sleeps.
func (s *Standin) AwaitDelivery(ctx context.Context, id string, states ...string) (*store.Delivery, []*store.Attempt, error) {
	if len(states) == 0 {
		states = []string{store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryCancelled}
	}
	for {
		ch := s.waitChange()
		rctx, cancel := readContext(ctx)
		d, attempts, err := s.Delivery(rctx, id)
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		if d != nil {
			for _, st := range states {
				if d.State == st {
					return d, attempts, nil
				}
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return d, attempts, fmt.Errorf("testkit: delivery %s: waited for state %v, %s: %w", id, states, describe(d, attempts), ctx.Err())
		}
	}
}

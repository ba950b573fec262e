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
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
	"github.com/standin-dev/standin/server/client"
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
	// ManualClock freezes standin's clock at the start: it moves only with
	// Advance and AdvanceTo, which fire every retry and simulated sync_end
	// that comes due on the way, in order, before they return, so a test's
	// attempt timeline is the same on every run. It cannot be combined
	// with a TimeScale other than 1. Defaults to false: the real clock.
	ManualClock bool
}

// Standin is a running in-process standin.
type Standin struct {
	// URL is the REST base, http://127.0.0.1:port. Fivetran clients use
	// URL + "/v1".
	URL string
	// GRPCAddr is the gRPC listen address, 127.0.0.1:port.
	GRPCAddr string

	tb  TB
	cfg Config
	srv *server.Server
	api *client.Client

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
	s := &Standin{tb: tb, cfg: c, changed: make(chan struct{})}

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
		ManualClock:       c.ManualClock,
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
	s.api = &client.Client{BaseURL: s.URL, APIKey: c.APIKey, APISecret: c.APISecret, UserAgent: "standin-testkit"}
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
// and decodes the Fivetran envelope's data into out (when non-nil). path may
// carry a query string. A response whose code is not "Success" is returned
// as an *APIError. Every request but a GET wakes the Await methods, since it
// may have changed a delivery (a cancel) without an attempt.
func (s *Standin) Do(ctx context.Context, method, path string, in, out any) error {
	if method != http.MethodGet {
		defer s.signal()
	}
	_, err := s.api.Do(ctx, method, path, nil, in, out)
	return err
}

// Client returns a client of the instance's REST API with the configured
// credentials, for calls the typed helpers do not cover or that must not
// fail the test. Unlike Do, its calls do not wake the Await methods.
func (s *Standin) Client() *client.Client { return s.api }

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
	spec := client.WebhookSpec{URL: p.URL, Events: p.Events, Active: p.Active, Secret: p.Secret, Profile: p.Profile}
	if g := p.Signing; g != nil {
		spec.Signing = &client.Signing{Scheme: string(g.Scheme), Algorithm: g.Algorithm, Encoding: g.Encoding, Header: g.Header, LowerHex: g.LowerHex}
	}
	return must(s, "create webhook", true, func(ctx context.Context) (*client.Response[Webhook], error) {
		return s.api.CreateWebhook(ctx, p.GroupID, spec)
	})
}

// Emit emits an event through the emulator API and fails the test on error.
func (s *Standin) Emit(e Event) Emitted {
	s.tb.Helper()
	return must(s, "emit "+e.Event, true, func(ctx context.Context) (*client.Response[Emitted], error) {
		return s.api.Emit(ctx, e)
	})
}

// EmitMany emits events through the emulator API and returns them, in
// order, with their deliveries; it fails the test on error. The events go
// in batches of up to 1000 (POST /standin/v1/events:batch), each all or
// nothing: when one is refused, the earlier batches stay emitted, and the
// error names the batch and the index in it ("events[1000:1500]: …
// events[3]: …" is the 1004th event). No events emit nothing.
func (s *Standin) EmitMany(events ...Event) []Emitted {
	s.tb.Helper()
	out := make([]Emitted, 0, len(events))
	for start := 0; start < len(events); start += server.MaxEmitBatch {
		batch := events[start:min(start+server.MaxEmitBatch, len(events))]
		what := fmt.Sprintf("emit events[%d:%d]", start, start+len(batch))
		emitted := must(s, what, true, func(ctx context.Context) (*client.Response[client.EmittedEvents], error) {
			return s.api.EmitMany(ctx, batch)
		})
		if len(emitted.Items) != len(batch) {
			s.tb.Fatalf("testkit: %s: the answer has %d events", what, len(emitted.Items))
			return out // a TB whose Fatalf returns
		}
		out = append(out, emitted.Items...)
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
func (s *Standin) AwaitDelivery(ctx context.Context, id string, states ...store.DeliveryState) (*store.Delivery, []*store.Attempt, error) {
	if len(states) == 0 {
		states = finalStates
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

package testkit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/app"
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
	srv *app.Server
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
	srv, err := app.New(ctx, app.Config{
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
	go func() { done <- srv.Serve(ctx, app.Listeners{HTTP: httpLis, GRPC: grpcLis}) }()
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
// not offer (a webhook's failing run, for instance). It is the one door to
// standin's internals: its types are package store's, not testkit's, and
// they may change between versions.
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
// carry a query string. Unlike the typed helpers it does not fail the test:
// a response whose code is not "Success" is returned as an *APIError, for
// tests that assert refusals. Every request but a GET wakes the Await
// methods, since it may have changed a delivery (a cancel) without an
// attempt.
func (s *Standin) Do(ctx context.Context, method, path string, in, out any) error {
	if method != http.MethodGet {
		defer s.signal()
	}
	_, err := s.api.Do(ctx, method, path, nil, in, out)
	return apiError(err)
}

// Client returns a client of the instance's REST API with the configured
// credentials, for calls the typed helpers do not cover or that must not
// fail the test. It speaks the client package's types and errors
// (*client.Error), not testkit's. Unlike Do, its calls do not wake the Await
// methods.
func (s *Standin) Client() *client.Client { return s.api }

// WebhookParams creates a webhook. GroupID makes a group webhook; otherwise
// it is an account webhook. Active defaults to true. A group that is not
// registered yet is registered first (POST /standin/v1/groups, named after
// its id): Fivetran, and standin, refuse a group webhook for an unknown
// group with NotFound_Group.
type WebhookParams struct {
	// GroupID makes a group webhook of that group; empty makes an account
	// webhook.
	GroupID string
	// URL receives the deliveries, e.g. a Receiver's URL plus a path.
	URL string
	// Events are the event names to subscribe to.
	Events []string
	// Secret is the webhook's secret. A Fivetran webhook signs with it; a
	// Portable one only when Signing is set. Empty sends no signature.
	Secret string
	// Active defaults to true.
	Active *bool
	// Profile is "fivetran" (default) or "portable" (a standin extension).
	Profile string
	// Signing is a standin extension choosing another signing scheme.
	Signing *delivery.Signing
	// Faults is a standin extension asking the webhook's deliveries to
	// misbehave on purpose (delivery.Faults); nil asks for none.
	Faults *delivery.Faults
}

// CreateWebhook creates a webhook through the REST API and fails the test on
// error.
func (s *Standin) CreateWebhook(p WebhookParams) Webhook {
	s.tb.Helper()
	spec := client.WebhookSpec{URL: p.URL, Events: p.Events, Active: p.Active, Secret: p.Secret, Profile: p.Profile,
		Faults: clientFaults(p.Faults)}
	if g := p.Signing; g != nil {
		spec.Signing = &client.Signing{Scheme: string(g.Scheme), Algorithm: g.Algorithm, Encoding: g.Encoding, Header: g.Header, LowerHex: g.LowerHex, PrefixAlgorithm: g.PrefixAlgorithm}
	}
	return webhookOf(must(s, "create webhook", true, func(ctx context.Context) (*client.Response[client.Webhook], error) {
		if p.GroupID != "" {
			if err := s.ensureGroup(ctx, p.GroupID); err != nil {
				return nil, err
			}
		}
		return s.api.CreateWebhook(ctx, p.GroupID, spec)
	}))
}

// Emit emits an event through the emulator API and fails the test on error.
func (s *Standin) Emit(e Event) Emitted {
	s.tb.Helper()
	return emittedOf(must(s, "emit "+e.Event, true, func(ctx context.Context) (*client.Response[client.EmittedEvent], error) {
		return s.api.Emit(ctx, emitRequestOf(e))
	}))
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
		batch := make([]client.EmitRequest, 0, min(server.MaxEmitBatch, len(events)-start))
		for _, e := range events[start:min(start+server.MaxEmitBatch, len(events))] {
			batch = append(batch, emitRequestOf(e))
		}
		what := fmt.Sprintf("emit events[%d:%d]", start, start+len(batch))
		emitted := must(s, what, true, func(ctx context.Context) (*client.Response[client.EmittedEvents], error) {
			return s.api.EmitMany(ctx, batch)
		})
		if len(emitted.Items) != len(batch) {
			s.tb.Fatalf("testkit: %s: the answer has %d events", what, len(emitted.Items))
			return out // a TB whose Fatalf returns
		}
		for _, e := range emitted.Items {
			out = append(out, emittedOf(e))
		}
	}
	return out
}

// ensureGroup registers the group id unless it exists.
func (s *Standin) ensureGroup(ctx context.Context, id string) error {
	_, err := s.api.Do(ctx, "GET", "/v1/groups/"+url.PathEscape(id), nil, nil, nil)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusNotFound {
		return err
	}
	_, err = s.api.Do(ctx, "POST", "/standin/v1/groups", nil, map[string]string{"id": id, "name": id}, nil)
	if errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusConflict {
		return nil // registered meanwhile
	}
	return err
}

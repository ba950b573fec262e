package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/clock"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/server/internal/live"
	"github.com/standin-dev/standin/server/internal/simulate"
	"github.com/standin-dev/standin/store"
)

// CreatedBy is the created_by of every webhook standin creates: Fivetran
// puts the id of the user who made the call there, and standin has a single
// implicit user.
const CreatedBy = "_standin"

// MaxBodyBytes is the largest request body the REST API reads (1 MiB);
// larger bodies are refused with 413. It is also the largest request message
// the gRPC server accepts (larger ones fail with ResourceExhausted).
const MaxBodyBytes = 1 << 20

// MaxHeaderBytes bounds the request headers (metadata) of one gRPC call
// (64 KiB); a call with more is refused before it reaches standin.
const MaxHeaderBytes = 64 << 10

// MaxEmitBatch is the most events one POST /standin/v1/events:batch
// (EventService.EmitEvents) takes; more are refused with 400 InvalidInput.
// A thousand typical events are far below MaxBodyBytes.
const MaxEmitBatch = 1000

// MaxURLLength is the longest webhook URL accepted, in bytes (2048, the
// de-facto limit of browsers and many proxies); longer ones are refused
// with 400 InvalidInput.
const MaxURLLength = 2048

// MaxGroupIDLength is the longest group id accepted in a path, in bytes.
const MaxGroupIDLength = 256

// MaxEventFieldLength is the longest id or name an emitted event may carry
// (connector_id, connector_name, group_id, sync_id, flow_id and the other
// ids and types, and status), in bytes; longer ones are refused with 400
// InvalidInput. details and data are bounded by MaxBodyBytes only.
const MaxEventFieldLength = 256

// MaxEmitDeliveries is the most deliveries one emit request (one event, or
// one POST /standin/v1/events:batch) may create; a request that would create
// more is refused with 400 InvalidInput and nothing is stored.
const MaxEmitDeliveries = emit.MaxDeliveries

// List page sizes.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// APIConfig configures NewAPI.
type APIConfig struct {
	// Store holds webhooks, events, deliveries and attempts. Required.
	Store store.Store
	// Sender makes the synchronous requests of the API: the URL check on
	// activation and POST /v1/webhooks/{id}/test. Defaults to a zero
	// delivery.Sender (10 s timeout, no redirects, no proxy).
	Sender *delivery.Sender
	// Now is the clock of created_at, updated_at and emitted events.
	// Defaults to time.Now.
	Now func() time.Time
	// APIKey and APISecret are the HTTP Basic credentials (user name and
	// password) required on every REST path but /healthz, and as
	// "authorization: Basic …" metadata on every gRPC call but health and
	// reflection. Set both or neither. Defaults to empty: no authentication.
	APIKey    string
	APISecret string
	// StrictHTTPS refuses webhook URLs that are not https://, as the real
	// Fivetran does. Defaults to false: http:// is allowed too, since
	// receivers under test are usually local.
	StrictHTTPS bool
	// SkipURLCheck creates and activates webhooks without first POSTing
	// Fivetran's test_event to their URL. Defaults to false: the URL is
	// checked, as Fivetran does.
	SkipURLCheck bool
	// URLCheckConnectorID is the connector_id of the URL check's
	// test_event. Defaults to delivery.URLCheckConnectorID ("_connection_1",
	// current docs); delivery.LegacyURLCheckConnectorID is older docs'.
	URLCheckConnectorID string
	// TimeScale is emulated seconds per real second: a simulated sync of 5
	// emulated minutes ends 5m/TimeScale after it starts. Defaults to
	// delivery.DefaultTimeScale (1); see delivery.ValidateTimeScale.
	TimeScale float64
	// SyncDuration is how long, in emulated time, a simulated sync or
	// Portable flow run lasts when the caller does not say. Defaults to
	// simulate.DefaultSyncDuration (5 minutes).
	SyncDuration time.Duration
	// Logger receives request logs (debug) and internal errors (error).
	// Defaults to slog.Default().
	Logger *slog.Logger
	// Clock, when set, is the manual clock that ClockService moves; Now
	// must then be its Now. Defaults to nil: the clock is real and
	// AdvanceClock is refused.
	Clock *clock.Stepper
}

func (c APIConfig) withDefaults() APIConfig {
	if c.Sender == nil {
		c.Sender = &delivery.Sender{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.TimeScale = delivery.Timeline{Scale: c.TimeScale}.TimeScale()
	if c.SyncDuration <= 0 {
		c.SyncDuration = simulate.DefaultSyncDuration
	}
	return c
}

func (c APIConfig) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("server: APIConfig.Store is required")
	case c.APIKey != "" && c.APISecret == "":
		return errors.New("server: APIConfig.APISecret is required when APIKey is set")
	case c.APIKey == "" && c.APISecret != "":
		return errors.New("server: APIConfig.APIKey is required when APISecret is set")
	}
	if err := delivery.ValidateTimeScale(c.TimeScale); err != nil {
		return fmt.Errorf("server: APIConfig.%w", err)
	}
	return nil
}

// API is standin's gRPC and REST API. Create it with NewAPI; the caller owns
// the listeners and serves GRPCServer and HTTPHandler on them.
type API struct {
	cfg     APIConfig
	creds   *credentials // nil: authentication is off
	health  *health.Server
	emitter *emit.Emitter
	sim     *simulate.Simulator
	handler http.Handler
	grpc    *grpc.Server
	hub     *live.Hub // changes of cfg.Store, for GET /standin/v1/stream

	webhooks    *webhookServer
	events      *eventServer
	deliveries  *deliveryServer
	groups      *groupServer
	connections *connectionServer
	simulator   *simulatorServer
	checks      *checkServer
	clock       *clockServer
	export      *exportServer
}

// NewAPI returns the API of cfg, or an error naming the bad field.
func NewAPI(cfg APIConfig) (*API, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	hub := &live.Hub{}
	hub.Watch(cfg.Store.AttemptLastID, streamWatchInterval) // attempts of other processes
	cfg.Store = hub.Wrap(cfg.Store)
	a := &API{
		hub:     hub,
		cfg:     cfg,
		creds:   newCredentials(cfg.APIKey, cfg.APISecret),
		health:  health.NewServer(),
		emitter: emit.New(cfg.Store, cfg.Now),
	}
	a.sim = simulate.New(simulate.Config{
		Store:        cfg.Store,
		Emitter:      a.emitter,
		Now:          cfg.Now,
		Timeline:     delivery.Timeline{Scale: cfg.TimeScale},
		SyncDuration: cfg.SyncDuration,
	})
	a.webhooks = &webhookServer{api: a}
	a.events = &eventServer{api: a}
	a.deliveries = &deliveryServer{api: a}
	a.groups = &groupServer{api: a}
	a.connections = &connectionServer{api: a}
	a.simulator = &simulatorServer{api: a}
	a.checks = &checkServer{api: a}
	a.clock = &clockServer{api: a}
	a.export = &exportServer{api: a}
	a.SetServing(true)

	handler, err := a.newHTTPHandler()
	if err != nil {
		return nil, err
	}
	a.handler = handler
	a.grpc = a.newGRPCServer()
	return a, nil
}

// serviceNames are the gRPC services whose health is reported.
var serviceNames = []string{
	"",
	standinv1.WebhookService_ServiceDesc.ServiceName,
	standinv1.EventService_ServiceDesc.ServiceName,
	standinv1.DeliveryService_ServiceDesc.ServiceName,
	standinv1.GroupService_ServiceDesc.ServiceName,
	standinv1.ConnectionService_ServiceDesc.ServiceName,
	standinv1.SimulatorService_ServiceDesc.ServiceName,
	standinv1.CheckService_ServiceDesc.ServiceName,
	standinv1.ClockService_ServiceDesc.ServiceName,
	standinv1.ExportService_ServiceDesc.ServiceName,
}

// SetServing sets the health reported by the gRPC health service (overall
// and per service) and by GET /healthz (200 or 503). NewAPI starts serving;
// call SetServing(false) when shutting down, before stopping the servers.
func (a *API) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range serviceNames {
		a.health.SetServingStatus(name, st)
	}
	if !serving {
		a.hub.Disconnect() // open inspector streams would hold up the HTTP server's shutdown
	}
}

// GRPCServer returns the API's gRPC server (the same one on every call):
// standin's services, the health service and server reflection. Credentials
// are checked from a call's headers before its message is read (an
// InTapHandle), a message that is not valid protobuf is InvalidArgument, and
// calls are logged. Health and reflection need no credentials. Request
// messages are bounded by MaxBodyBytes and headers by MaxHeaderBytes. The
// caller serves it on its listeners and stops it.
func (a *API) GRPCServer() *grpc.Server { return a.grpc }

func (a *API) newGRPCServer() *grpc.Server {
	codec := newRequestCodec()
	s := grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxBodyBytes),
		grpc.MaxHeaderListSize(MaxHeaderBytes),
		grpc.InTapHandle(a.authTap),
		grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(codec.unary, a.logUnary),
		grpc.ChainStreamInterceptor(codec.stream),
	)
	standinv1.RegisterWebhookServiceServer(s, a.webhooks)
	standinv1.RegisterEventServiceServer(s, a.events)
	standinv1.RegisterDeliveryServiceServer(s, a.deliveries)
	standinv1.RegisterGroupServiceServer(s, a.groups)
	standinv1.RegisterConnectionServiceServer(s, a.connections)
	standinv1.RegisterSimulatorServiceServer(s, a.simulator)
	standinv1.RegisterCheckServiceServer(s, a.checks)
	standinv1.RegisterClockServiceServer(s, a.clock)
	standinv1.RegisterExportServiceServer(s, a.export)
	healthpb.RegisterHealthServer(s, a.health)
	reflection.Register(s)
	return s
}

// HTTPHandler returns the REST API: the grpc-gateway routes of the services
// (called in-process, without gRPC), /healthz, /standin/v1/openapi.json,
// request logging, authentication and the body limit.
func (a *API) HTTPHandler() http.Handler { return a.handler }

// now returns the current time of the configured clock.
func (a *API) now() time.Time { return a.cfg.Now() }

// logUnary logs each gRPC call at debug level.
func (a *API) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	a.cfg.Logger.DebugContext(ctx, "grpc request", "method", info.FullMethod,
		"code", status.Code(err).String(), "duration", time.Since(start))
	return resp, err
}

// installQueryParser installs queryParser for every gateway mux in the
// process: runtime.SetQueryParameterParser writes a package variable of the
// gateway rather than configuring one mux, so it is set exactly once, before
// the first mux serves, and never races with a mux reading it.
var installQueryParser sync.Once

// newHTTPHandler builds the gateway mux and wraps it in the middleware.
func (a *API) newHTTPHandler() (http.Handler, error) {
	installQueryParser.Do(func() { runtime.NewServeMux(runtime.SetQueryParameterParser(queryParser{})) })
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler{}),
		runtime.WithErrorHandler(a.gatewayError),
		runtime.WithRoutingErrorHandler(routingError),
		// Fivetran has neither method overrides nor form-encoded POSTs
		// standing in for GETs.
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithDisablePathLengthFallback(),
	)
	ctx := context.Background()
	if err := standinv1.RegisterWebhookServiceHandlerServer(ctx, mux, a.webhooks); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterEventServiceHandlerServer(ctx, mux, a.events); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterDeliveryServiceHandlerServer(ctx, mux, a.deliveries); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterGroupServiceHandlerServer(ctx, mux, a.groups); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterConnectionServiceHandlerServer(ctx, mux, a.connections); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterSimulatorServiceHandlerServer(ctx, mux, a.simulator); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterCheckServiceHandlerServer(ctx, mux, a.checks); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterClockServiceHandlerServer(ctx, mux, a.clock); err != nil {
		return nil, err
	}
	if err := standinv1.RegisterExportServiceHandlerServer(ctx, mux, a.export); err != nil {
		return nil, err
	}
	if err := mux.HandlePath(http.MethodGet, healthzPath, a.serveHealthz); err != nil {
		return nil, err
	}
	if err := mux.HandlePath(http.MethodGet, openAPIPath, serveOpenAPI); err != nil {
		return nil, err
	}
	if err := mux.HandlePath(http.MethodGet, exportPath, a.serveExport); err != nil {
		return nil, err
	}
	return a.logRequests(a.authenticate(a.limitBody(requireJSON(a.observe(mux))))), nil
}

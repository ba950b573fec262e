package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/server/internal/simulate"
	"github.com/standin-dev/standin/store"
)

// The sync simulator's calls: they map protobuf to and from the simulate
// package, which does the work.

// simulatorServer implements standin.v1.SimulatorService.
type simulatorServer struct {
	standinv1.UnimplementedSimulatorServiceServer
	api *API
}

// CreateGroup implements standin.v1.SimulatorService.
func (s *simulatorServer) CreateGroup(ctx context.Context, req *standinv1.CreateGroupRequest) (*standinv1.CreateGroupResponse, error) {
	g, err := s.api.sim.CreateGroup(ctx, simulate.GroupParams{ID: req.GetId(), Name: req.GetName()})
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.CreateGroupResponse{Code: codeSuccess, Message: proto.String("Group has been created"), Data: groupPB(g)}, nil
}

// CreateConnection implements standin.v1.SimulatorService.
func (s *simulatorServer) CreateConnection(ctx context.Context, req *standinv1.CreateConnectionRequest) (*standinv1.CreateConnectionResponse, error) {
	c, err := s.createConnection(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.CreateConnectionResponse{
		Code:    codeSuccess,
		Message: proto.String("Connection has been created"),
		Data:    connectionPB(c, s.api.now()),
	}, nil
}

func (s *simulatorServer) createConnection(ctx context.Context, req *standinv1.CreateConnectionRequest) (*store.Connection, error) {
	// The request as JSON holds exactly the fields that were set.
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	p := simulate.ConnectionParams{
		ID:           req.GetId(),
		GroupID:      req.GetGroupId(),
		Service:      req.GetService(),
		Schema:       req.GetSchema(),
		Paused:       req.GetPaused(),
		ScheduleType: req.GetScheduleType(),
		Fields:       fields,
	}
	if req.SyncFrequency != nil {
		f := int(req.GetSyncFrequency())
		p.SyncFrequency = &f
	}
	return s.api.sim.CreateConnection(ctx, p)
}

// SimulateSync implements standin.v1.SimulatorService.
func (s *simulatorServer) SimulateSync(ctx context.Context, req *standinv1.SimulateSyncRequest) (*standinv1.SimulateSyncResponse, error) {
	faults, err := optionalFaults(req.GetFaults())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	res, err := s.api.sim.SimulateSync(ctx, simulate.SyncParams{
		ID:            req.GetId(),
		Status:        req.GetStatus(),
		Reason:        req.GetReason(),
		TaskType:      req.GetTaskType(),
		RescheduledAt: req.GetRescheduledAt(),
		Duration:      req.GetDuration(),
		Force:         req.GetForce(),
		Resync:        req.GetResync(),
		Faults:        faults,
	})
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.SimulateSyncResponse{Code: codeSuccess, Message: proto.String("Sync has been started"), Data: &standinv1.SimulatedSync{
		Connection: connectionPB(res.Conn, res.Now),
		SyncId:     res.Sync.ID,
		EndsAt:     delivery.FivetranTime(res.Sync.EndsAt),
		Events:     emittedPB(res.Events, res.Deliveries),
	}}, nil
}

// emittedPB lists events with their deliveries, in order.
func emittedPB(events []store.EventCreateParams, deliveries []*store.Delivery) []*standinv1.EmittedEvent {
	byEvent := emit.DeliveriesByEvent(deliveries)
	out := make([]*standinv1.EmittedEvent, 0, len(events))
	for i := range events {
		ev := &events[i].Event
		out = append(out, emittedEventPB(ev, byEvent[ev.ID]))
	}
	return out
}

// RunPortableFlow implements standin.v1.SimulatorService.
func (s *simulatorServer) RunPortableFlow(ctx context.Context, req *standinv1.RunPortableFlowRequest) (*standinv1.RunPortableFlowResponse, error) {
	faults, err := optionalFaults(req.GetFaults())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	run, err := s.api.sim.RunPortableFlow(ctx, simulate.FlowRunParams{
		FlowID:          req.GetFlowId(),
		RunAttemptID:    req.GetRunAttemptId(),
		SourceID:        req.GetSourceId(),
		SourceType:      req.GetSourceType(),
		DestinationID:   req.GetDestinationId(),
		DestinationType: req.GetDestinationType(),
		Status:          req.GetStatus(),
		Details:         req.GetDetails(),
		Duration:        req.GetDuration(),
		Faults:          faults,
	})
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.RunPortableFlowResponse{Code: codeSuccess, Message: proto.String("Flow run has been started"), Data: &standinv1.PortableFlowRun{
		FlowId:       run.FlowID,
		RunAttemptId: run.RunAttemptID,
		EndsAt:       delivery.FivetranTime(run.EndsAt),
		Events:       emittedPB(run.Events, run.Deliveries),
	}}, nil
}

// SyncConnection implements standin.v1.ConnectionService.
func (s *connectionServer) SyncConnection(ctx context.Context, req *standinv1.SyncConnectionRequest) (*standinv1.SyncConnectionResponse, error) {
	return s.syncConnection(ctx, req.GetId(), req.GetForce())
}

// ForceConnection implements standin.v1.ConnectionService: SyncConnection
// with force.
func (s *connectionServer) ForceConnection(ctx context.Context, req *standinv1.ForceConnectionRequest) (*standinv1.SyncConnectionResponse, error) {
	return s.syncConnection(ctx, req.GetId(), true)
}

func (s *connectionServer) syncConnection(ctx context.Context, id string, force bool) (*standinv1.SyncConnectionResponse, error) {
	if err := s.api.sim.SyncConnection(ctx, id, force); err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.SyncConnectionResponse{
		Code:    codeSuccess,
		Message: proto.String(fmt.Sprintf("Sync has been successfully triggered for connector with id '%s'", id)),
	}, nil
}

// ResyncConnection implements standin.v1.ConnectionService.
func (s *connectionServer) ResyncConnection(ctx context.Context, req *standinv1.ResyncConnectionRequest) (*standinv1.ResyncConnectionResponse, error) {
	var tables []simulate.Table
	if req.Scope != nil {
		var err error
		if tables, err = simulate.ParseScope(req.GetScope().AsMap()); err != nil {
			return nil, s.api.status(ctx, err)
		}
	}
	if err := s.api.sim.Resync(ctx, req.GetId(), tables); err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ResyncConnectionResponse{Code: codeSuccess, Message: proto.String("Operation performed.")}, nil
}

// ResyncTable implements standin.v1.ConnectionService.
func (s *connectionServer) ResyncTable(ctx context.Context, req *standinv1.ResyncTableRequest) (*standinv1.ResyncTableResponse, error) {
	for _, f := range []struct{ name, value string }{{"schema", req.GetSchema()}, {"table", req.GetTable()}} {
		if f.value == "" {
			return nil, s.api.status(ctx, apierr.Invalid("Field '%s' is required", f.name))
		}
	}
	if err := s.api.sim.Resync(ctx, req.GetId(), []simulate.Table{{Schema: req.GetSchema(), Table: req.GetTable()}}); err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ResyncTableResponse{
		Code:    codeSuccess,
		Message: proto.String(fmt.Sprintf("Re-sync has been successfully triggered for '%s.%s'", req.GetSchema(), req.GetTable())),
	}, nil
}

// UpdateConnection implements standin.v1.ConnectionService.
func (s *connectionServer) UpdateConnection(ctx context.Context, req *standinv1.UpdateConnectionRequest) (*standinv1.UpdateConnectionResponse, error) {
	patch, err := simulate.ParsePatch(req.GetBody().AsMap())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	res, err := s.api.sim.UpdateConnection(ctx, req.GetId(), patch)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.UpdateConnectionResponse{
		Code:    codeSuccess,
		Message: proto.String("Connector has been updated"),
		Data:    connectionPB(res.Conn, res.Now),
	}, nil
}

// secretConfigKeys are the substrings of config keys whose values the API
// masks, as Fivetran masks secrets in a connection's config.
var secretConfigKeys = []string{"password", "secret", "token", "private_key", "api_key"}

// maskedSecret is what the API shows for a secret, as for webhook secrets.
const maskedSecret = "******"

// fillExtraPB sets out's extra fields from c's stored ones, defaults for
// those not set.
func fillExtraPB(out *standinv1.Connection, c *store.Connection) {
	x := simulate.DecodeExtra(c)
	out.ServiceVersion = int32(deref(x.ServiceVersion, 0))
	out.ConnectedBy = deref(x.ConnectedBy, ConnectedBy)
	out.PauseAfterTrial = deref(x.PauseAfterTrial, false)
	out.DailySyncTime = nullableString(x.DailySyncTime)
	out.NetworkingMethod = deref(x.NetworkingMethod, simulate.DefaultNetworkingMethod)
	out.DataDelaySensitivity = deref(x.DataDelaySensitivity, simulate.DefaultDataDelaySensitivity)
	out.DataDelayThreshold = int32(deref(x.DataDelayThreshold, 0))
	out.ProxyAgentId = nullableString(x.ProxyAgentID)
	out.PrivateLinkId = nullableString(x.PrivateLinkID)
	out.HybridDeploymentAgentId = nullableString(x.HybridDeploymentAgentID)
	out.SetupTests = &structpb.ListValue{Values: []*structpb.Value{}}
	if len(x.SetupTests) > 0 {
		var l structpb.ListValue
		if protojson.Unmarshal(x.SetupTests, &l) == nil {
			out.SetupTests = &l
		}
	}
	out.SourceSyncDetails = structpb.NewNullValue()
	if len(x.SourceSyncDetails) > 0 {
		var v structpb.Value
		if protojson.Unmarshal(x.SourceSyncDetails, &v) == nil {
			out.SourceSyncDetails = &v
		}
	}
	out.Config = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for _, k := range slices.Sorted(maps.Keys(x.Config)) {
		v := &structpb.Value{}
		if protojson.Unmarshal(x.Config[k], v) != nil {
			continue
		}
		if secretKey(k) {
			v = structpb.NewStringValue(maskedSecret)
		}
		out.Config.Fields[k] = v
	}
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretConfigKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func nullableString(s *string) *structpb.Value {
	if s == nil {
		return structpb.NewNullValue()
	}
	return structpb.NewStringValue(*s)
}

// optionalFaults is the faults of a request: nil when absent.
func optionalFaults(f *standinv1.Faults) (*delivery.Faults, error) {
	if f == nil {
		return nil, nil
	}
	out, err := faultsFromPB(f)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

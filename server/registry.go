package server

import (
	"context"
	"encoding/binary"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/simulate"
	"github.com/standin-dev/standin/store"
)

// Cursor kinds of the registry lists (see cursor.go); the position is the
// last Seq, 8 bytes big-endian.
const (
	cursorGroups      byte = 'g'
	cursorConnections byte = 'c'
)

func encodeKindSeqCursor(kind byte, seq int64) string {
	return encodeCursor(kind, binary.BigEndian.AppendUint64(nil, uint64(seq)))
}

// parseSeqCursor returns the Seq of a list cursor of kind; 0 for none.
func parseSeqCursor(kind byte, cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	pos, ok := decodeCursor(kind, cursor)
	if !ok || len(pos) != 8 {
		return 0, apierr.Invalid("Invalid value for field 'cursor'")
	}
	seq := int64(binary.BigEndian.Uint64(pos))
	if seq <= 0 {
		return 0, apierr.Invalid("Invalid value for field 'cursor'")
	}
	return seq, nil
}

// Values Fivetran shows that standin does not model.
const (
	setupStateConnected = "connected"
	// ConnectedBy is the connected_by of every connection: standin has a
	// single implicit user (see CreatedBy).
	ConnectedBy = CreatedBy
)

// groupServer implements standin.v1.GroupService.
type groupServer struct {
	standinv1.UnimplementedGroupServiceServer
	api *API
}

// ListGroups implements standin.v1.GroupService.
func (s *groupServer) ListGroups(ctx context.Context, req *standinv1.ListGroupsRequest) (*standinv1.ListGroupsResponse, error) {
	page, err := s.list(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ListGroupsResponse{Code: codeSuccess, Data: page}, nil
}

func (s *groupServer) list(ctx context.Context, req *standinv1.ListGroupsRequest) (*standinv1.GroupPage, error) {
	limit, err := parseLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	after, err := parseSeqCursor(cursorGroups, req.GetCursor())
	if err != nil {
		return nil, err
	}
	// One more than asked tells whether there is a next page.
	list, err := s.api.cfg.Store.GroupList(ctx, store.GroupListParams{AfterSeq: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	page := &standinv1.GroupPage{Items: make([]*standinv1.Group, 0, min(len(list), limit))}
	if len(list) > limit {
		list = list[:limit]
		page.NextCursor = proto.String(encodeKindSeqCursor(cursorGroups, list[len(list)-1].Seq))
	}
	for _, g := range list {
		page.Items = append(page.Items, groupPB(g))
	}
	return page, nil
}

// GetGroup implements standin.v1.GroupService.
func (s *groupServer) GetGroup(ctx context.Context, req *standinv1.GetGroupRequest) (*standinv1.GetGroupResponse, error) {
	g, err := s.api.getGroup(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.GetGroupResponse{Code: codeSuccess, Data: groupPB(g)}, nil
}

// ListGroupConnections implements standin.v1.GroupService.
func (s *groupServer) ListGroupConnections(ctx context.Context, req *standinv1.ListGroupConnectionsRequest) (*standinv1.ListGroupConnectionsResponse, error) {
	page, err := s.listConnections(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ListGroupConnectionsResponse{Code: codeSuccess, Data: page}, nil
}

func (s *groupServer) listConnections(ctx context.Context, req *standinv1.ListGroupConnectionsRequest) (*standinv1.ConnectionPage, error) {
	if _, err := s.api.getGroup(ctx, req.GetId()); err != nil {
		return nil, err
	}
	return s.api.listConnections(ctx, req.GetId(), req.GetSchema(), req.GetCursor(), req.Limit)
}

func (a *API) getGroup(ctx context.Context, id string) (*store.Group, error) {
	return a.sim.Group(ctx, id)
}

func groupPB(g *store.Group) *standinv1.Group {
	return &standinv1.Group{Id: g.ID, Name: g.Name, CreatedAt: delivery.FivetranTime(g.CreatedAt)}
}

// connectionServer implements standin.v1.ConnectionService.
type connectionServer struct {
	standinv1.UnimplementedConnectionServiceServer
	api *API
}

// ListConnections implements standin.v1.ConnectionService.
func (s *connectionServer) ListConnections(ctx context.Context, req *standinv1.ListConnectionsRequest) (*standinv1.ListConnectionsResponse, error) {
	page, err := s.api.listConnections(ctx, req.GetGroupId(), req.GetSchema(), req.GetCursor(), req.Limit)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ListConnectionsResponse{Code: codeSuccess, Data: page}, nil
}

// listConnections pages through the connections of groupID and with the
// schema name schema (exact), each when set.
func (a *API) listConnections(ctx context.Context, groupID, schema, cursor string, limit *int32) (*standinv1.ConnectionPage, error) {
	n, err := parseLimit(limit)
	if err != nil {
		return nil, err
	}
	after, err := parseSeqCursor(cursorConnections, cursor)
	if err != nil {
		return nil, err
	}
	list, err := a.cfg.Store.ConnectionList(ctx, store.ConnectionListParams{GroupID: groupID, Schema: schema, AfterSeq: after, Limit: n + 1})
	if err != nil {
		return nil, err
	}
	page := &standinv1.ConnectionPage{Items: make([]*standinv1.Connection, 0, min(len(list), n))}
	if len(list) > n {
		list = list[:n]
		page.NextCursor = proto.String(encodeKindSeqCursor(cursorConnections, list[len(list)-1].Seq))
	}
	now := a.now()
	for _, c := range list {
		page.Items = append(page.Items, connectionPB(c, now))
	}
	return page, nil
}

// GetConnection implements standin.v1.ConnectionService.
func (s *connectionServer) GetConnection(ctx context.Context, req *standinv1.GetConnectionRequest) (*standinv1.GetConnectionResponse, error) {
	c, err := s.api.getConnection(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.GetConnectionResponse{Code: codeSuccess, Data: connectionPB(c, s.api.now())}, nil
}

// getConnection reads a connection; a missing one is Fivetran's
// NotFound_Connector.
func (a *API) getConnection(ctx context.Context, id string) (*store.Connection, error) {
	return a.sim.Connection(ctx, id)
}

// connectionPB is the API form of c at now. Its status is derived from the
// latest simulated sync:
//
//   - sync_state: paused when paused; syncing while the sync runs;
//     rescheduled after a RESCHEDULED sync until its rescheduledAt (for good
//     without one); scheduled otherwise.
//   - update_state: delayed after a failed sync, on_schedule otherwise.
//   - is_historical_sync: during a historical sync (a re-sync, or a new
//     connection's first sync), and while a re-sync waits for a resume.
//   - tasks: one after a FAILURE_WITH_TASK sync, from its task_type and
//     reason.
func connectionPB(c *store.Connection, now time.Time) *standinv1.Connection {
	succeeded, failed := simulate.Settled(c, now)
	out := &standinv1.Connection{
		Id:            c.ID,
		GroupId:       c.GroupID,
		Service:       c.Service,
		Schema:        c.Schema,
		Paused:        c.Paused,
		CreatedAt:     delivery.FivetranTime(c.CreatedAt),
		SucceededAt:   timeValue(succeeded),
		FailedAt:      timeValue(failed),
		SyncFrequency: int32(c.SyncFrequency),
		ScheduleType:  c.ScheduleType,
		Status:        connectionStatusPB(c, now),
	}
	fillExtraPB(out, c)
	return out
}

func connectionStatusPB(c *store.Connection, now time.Time) *standinv1.ConnectionStatus {
	st := &standinv1.ConnectionStatus{
		SetupState:  setupStateConnected,
		SyncState:   "scheduled",
		UpdateState: "on_schedule",
		Tasks:       []*standinv1.ConnectionAlert{},
		Warnings:    []*standinv1.ConnectionAlert{},
	}
	running, ended := simulate.SyncRunning(c, now), simulate.SyncEnded(c, now)
	switch {
	case c.Paused:
		st.SyncState = "paused"
	case running:
		st.SyncState = "syncing"
	case ended && c.Sync.Status == delivery.StatusRescheduled &&
		(c.Sync.RescheduledAt.IsZero() || now.Before(c.Sync.RescheduledAt)):
		st.SyncState = "rescheduled"
		if !c.Sync.RescheduledAt.IsZero() {
			st.RescheduledFor = proto.String(delivery.FivetranTime(c.Sync.RescheduledAt))
		}
	}
	if ended && simulate.FailedStatus(c.Sync.Status) {
		st.UpdateState = "delayed"
	}
	if ended && c.Sync.Status == delivery.StatusFailureWithTask {
		task := &standinv1.ConnectionAlert{Code: c.Sync.TaskType, Message: c.Sync.Reason}
		if task.Code == "" {
			task.Code = "resolve_task"
		}
		if task.Message == "" {
			task.Message = "A task must be resolved before the connection can sync again"
		}
		st.Tasks = append(st.Tasks, task)
	}
	st.IsHistoricalSync = c.ResyncPending || (running && c.Sync.Historical)
	return st
}

// timeValue is a time in Fivetran's format, or JSON null for nil (Fivetran
// sends "succeeded_at": null for a connection that never succeeded).
func timeValue(t *time.Time) *structpb.Value {
	if t == nil {
		return structpb.NewNullValue()
	}
	return structpb.NewStringValue(delivery.FivetranTime(*t))
}

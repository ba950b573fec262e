package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

// deliveryServer implements standin.v1.DeliveryService.
type deliveryServer struct {
	standinv1.UnimplementedDeliveryServiceServer
	api *API
}

// deliveryStates are the values of the status filter.
var deliveryStates = func() []string {
	var out []string
	for _, s := range delivery.DeliveryStates() {
		out = append(out, string(s))
	}
	return out
}()

// ListDeliveries implements standin.v1.DeliveryService.
func (s *deliveryServer) ListDeliveries(ctx context.Context, req *standinv1.ListDeliveriesRequest) (*standinv1.ListDeliveriesResponse, error) {
	page, err := s.list(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ListDeliveriesResponse{Code: codeSuccess, Data: page}, nil
}

func (s *deliveryServer) list(ctx context.Context, req *standinv1.ListDeliveriesRequest) (*standinv1.DeliveryPage, error) {
	limit, err := parseLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	if st := req.GetStatus(); st != "" && !slices.Contains(deliveryStates, st) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'status': must be one of %s", st, strings.Join(deliveryStates, ", "))
	}
	since, until, err := parseTimeRange(req.GetSince(), req.GetUntil())
	if err != nil {
		return nil, err
	}
	params := store.DeliveryListParams{
		WebhookID: req.GetWebhookId(),
		EventID:   req.GetEventId(),
		EventName: req.GetEvent(),
		State:     store.DeliveryState(req.GetStatus()),
		Since:     since,
		Until:     until,
	}
	errCursor := apierr.Invalid("Invalid value for field 'cursor'")
	var before string
	if c := req.GetCursor(); c != "" {
		pos, ok := decodeCursor(cursorDeliveries, c)
		if !ok || len(pos) == 0 {
			return nil, errCursor
		}
		before = string(pos)
	}
	fetch := func(ctx context.Context, beforeID string, n int) ([]*store.Delivery, error) {
		p := params
		p.BeforeID, p.Limit = beforeID, n
		return s.api.cfg.Store.DeliveryList(ctx, p)
	}
	// A delivery's stored size is mostly its body, read with it.
	list, more, err := readPage(ctx, limit, before, fetch,
		func(d *store.Delivery) string { return d.ID },
		func(d *store.Delivery) int {
			return len(d.ID) + len(d.EventID) + len(d.WebhookID) + len(d.Body) + len(d.LastError)
		})
	if errors.Is(err, store.ErrNotFound) && before != "" {
		return nil, errCursor
	}
	if err != nil {
		return nil, err
	}
	page := &standinv1.DeliveryPage{Items: make([]*standinv1.Delivery, 0, len(list))}
	if more {
		page.NextCursor = proto.String(encodeCursor(cursorDeliveries, []byte(list[len(list)-1].ID)))
	}
	for _, d := range list {
		page.Items = append(page.Items, deliveryPB(d))
	}
	return page, nil
}

// GetDelivery implements standin.v1.DeliveryService.
func (s *deliveryServer) GetDelivery(ctx context.Context, req *standinv1.GetDeliveryRequest) (*standinv1.GetDeliveryResponse, error) {
	detail, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.GetDeliveryResponse{Code: codeSuccess, Data: detail}, nil
}

func (s *deliveryServer) get(ctx context.Context, id string) (*standinv1.DeliveryDetail, error) {
	st := s.api.cfg.Store
	d, err := st.DeliveryGetByID(ctx, id)
	if err != nil {
		return nil, apierr.NotFound("Delivery", id, err)
	}
	ev, err := st.EventGetByID(ctx, d.EventID)
	if err != nil {
		return nil, apierr.NotFound("Event", d.EventID, err)
	}
	attempts, err := st.AttemptListByDelivery(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	detail := &standinv1.DeliveryDetail{
		Delivery:       deliveryPB(d),
		Event:          eventPB(ev),
		RequestBody:    strings.ToValidUTF8(string(d.Body), "\uFFFD"),
		Attempts:       make([]*standinv1.Attempt, 0, len(attempts)),
		RequestHeaders: map[string]string{},
	}
	for _, at := range attempts {
		detail.Attempts = append(detail.Attempts, attemptPB(d, at))
	}
	if n := len(attempts); n > 0 {
		detail.RequestHeaders = headerMap(attempts[n-1].RequestHeaders)
	}
	return detail, nil
}

// RedeliverDelivery implements standin.v1.DeliveryService: it queues a
// manual attempt (a River job with DeliverArgs.Manual) for now. A delivery
// whose webhook was deleted has nowhere to go and is refused (Conflict).
func (s *deliveryServer) RedeliverDelivery(ctx context.Context, req *standinv1.RedeliverDeliveryRequest) (*standinv1.RedeliverDeliveryResponse, error) {
	d, err := s.redeliver(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.RedeliverDeliveryResponse{
		Code:    codeSuccess,
		Message: proto.String("Delivery has been queued for redelivery"),
		Data:    deliveryPB(d),
	}, nil
}

func (s *deliveryServer) redeliver(ctx context.Context, id string) (*store.Delivery, error) {
	st := s.api.cfg.Store
	d, err := st.DeliveryGetByID(ctx, id)
	if err != nil {
		return nil, apierr.NotFound("Delivery", id, err)
	}
	if _, err := st.WebhookGetByID(ctx, d.WebhookID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &apierr.ConflictError{
				Msg: fmt.Sprintf("Cannot redeliver delivery '%s': its webhook '%s' was deleted", id, d.WebhookID),
				Err: err,
			}
		}
		return nil, err
	}
	if err := st.DeliveryEnqueue(ctx, store.DeliverArgs{DeliveryID: id, Manual: true}); err != nil {
		return nil, apierr.NotFound("Delivery", id, err)
	}
	return d, nil
}

// CancelDelivery implements standin.v1.DeliveryService. The delivery's
// queued job stays queued; when it runs it finds the delivery cancelled and
// makes no attempt.
func (s *deliveryServer) CancelDelivery(ctx context.Context, req *standinv1.CancelDeliveryRequest) (*standinv1.CancelDeliveryResponse, error) {
	d, err := s.cancel(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.CancelDeliveryResponse{
		Code:    codeSuccess,
		Message: proto.String("Delivery has been cancelled"),
		Data:    deliveryPB(d),
	}, nil
}

func (s *deliveryServer) cancel(ctx context.Context, id string) (*store.Delivery, error) {
	st := s.api.cfg.Store
	d, err := st.DeliveryCancel(ctx, id, s.api.now())
	if errors.Is(err, store.ErrConflict) {
		state := "finished"
		if cur, gerr := st.DeliveryGetByID(ctx, id); gerr == nil {
			state = string(cur.State)
		}
		return nil, &apierr.ConflictError{
			Msg: fmt.Sprintf("Cannot cancel delivery '%s' in state '%s': only pending and retrying deliveries can be cancelled", id, state),
			Err: err,
		}
	}
	if err != nil {
		return nil, apierr.NotFound("Delivery", id, err)
	}
	return d, nil
}

// parseTimeRange parses the since and until filters, RFC 3339 times; empty
// means unbounded.
func parseTimeRange(since, until string) (time.Time, time.Time, error) {
	var out [2]time.Time
	for i, f := range []struct{ name, value string }{{"since", since}, {"until", until}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.value)
		if err != nil {
			return time.Time{}, time.Time{}, apierr.Invalid("Invalid value '%s' for field '%s': must be an RFC 3339 time", f.value, f.name)
		}
		out[i] = t
	}
	return out[0], out[1], nil
}

func deliveryPB(d *store.Delivery) *standinv1.Delivery {
	out := &standinv1.Delivery{
		Id:             d.ID,
		EventId:        d.EventID,
		Event:          d.EventName,
		WebhookId:      d.WebhookID,
		Profile:        string(d.Profile.OrDefault()),
		State:          string(d.State),
		Attempts:       int32(d.Attempts),
		FirstAttemptAt: optTime(d.FirstAttemptAt),
		NextAttemptAt:  optTime(d.NextAttemptAt),
		CreatedAt:      delivery.FivetranTime(d.CreatedAt),
		UpdatedAt:      delivery.FivetranTime(d.UpdatedAt),
		FinishedAt:     optTime(d.FinishedAt),
	}
	if d.Attempts > 0 {
		out.LastStatus = proto.Int32(int32(d.LastStatus))
	}
	if d.LastError != "" {
		out.LastError = proto.String(d.LastError)
	}
	return out
}

func eventPB(ev *store.Event) *standinv1.Event {
	out := &standinv1.Event{
		Id:        ev.ID,
		Event:     ev.Name,
		CreatedAt: delivery.FivetranTime(ev.CreatedAt),
	}
	if ev.GroupID != "" {
		out.GroupId = proto.String(ev.GroupID)
	}
	if len(ev.Source) > 0 {
		var src structpb.Struct
		if protojson.Unmarshal(ev.Source, &src) == nil {
			out.Source = &src
		}
	}
	return out
}

// attemptPB converts an attempt of d. Its emulated time counts from d's
// first scheduled attempt; an attempt made before it (a manual one) counts
// from its own start.
func attemptPB(d *store.Delivery, at *store.Attempt) *standinv1.Attempt {
	first := at.StartedAt
	if d.FirstAttemptAt != nil && !at.StartedAt.Before(*d.FirstAttemptAt) {
		first = *d.FirstAttemptAt
	}
	out := &standinv1.Attempt{
		Number:          int32(at.Number),
		Manual:          at.Manual,
		Url:             delivery.RedactURL(at.URL),
		StartedAt:       delivery.FivetranTime(at.StartedAt),
		EmulatedDelay:   durationpb.New(at.EmulatedDelay),
		RequestHeaders:  headerMap(at.RequestHeaders),
		Status:          int32(at.StatusCode),
		Latency:         durationpb.New(at.Latency),
		ResponseHeaders: headerMap(at.ResponseHeaders),
		ResponseExcerpt: strings.ToValidUTF8(string(at.ResponseExcerpt), "\uFFFD"),
		Succeeded:       at.Succeeded,
		EmulatedAt:      delivery.FivetranTime(first.Add(at.EmulatedDelay)),
	}
	if at.Error != "" {
		out.Error = proto.String(at.Error)
	}
	if at.Fault != "" {
		out.Fault = proto.String(at.Fault)
	}
	return out
}

// headerMap flattens a header, joining repeated values with ", ".
func headerMap(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, v := range h {
		m[k] = strings.Join(v, ", ")
	}
	return m
}

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	return proto.String(delivery.FivetranTime(*t))
}

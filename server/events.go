package server

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/protobuf/proto"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

// ListEvents implements standin.v1.EventService.
func (s *eventServer) ListEvents(ctx context.Context, req *standinv1.ListEventsRequest) (*standinv1.ListEventsResponse, error) {
	page, err := s.list(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ListEventsResponse{Code: codeSuccess, Data: page}, nil
}

func (s *eventServer) list(ctx context.Context, req *standinv1.ListEventsRequest) (*standinv1.EventPage, error) {
	limit, err := parseLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	since, until, err := parseTimeRange(req.GetSince(), req.GetUntil())
	if err != nil {
		return nil, err
	}
	params := store.EventListParams{
		Name:  req.GetEvent(),
		Since: since,
		Until: until,
	}
	errCursor := apierr.Invalid("Invalid value for field 'cursor'")
	var before string
	if c := req.GetCursor(); c != "" {
		pos, ok := decodeCursor(cursorEvents, c)
		if !ok || len(pos) == 0 {
			return nil, errCursor
		}
		before = string(pos)
	}
	fetch := func(ctx context.Context, beforeID string, n int) ([]*store.Event, error) {
		p := params
		p.BeforeID, p.Limit = beforeID, n
		return s.api.cfg.Store.EventList(ctx, p)
	}
	list, more, err := readPage(ctx, limit, before, fetch,
		func(ev *store.Event) string { return ev.ID },
		func(ev *store.Event) int { return len(ev.ID) + len(ev.Name) + len(ev.GroupID) + len(ev.Source) })
	if errors.Is(err, store.ErrNotFound) && before != "" {
		return nil, errCursor
	}
	if err != nil {
		return nil, err
	}
	page := &standinv1.EventPage{Items: make([]*standinv1.Event, 0, len(list))}
	if more {
		page.NextCursor = proto.String(encodeCursor(cursorEvents, []byte(list[len(list)-1].ID)))
	}
	for _, ev := range list {
		page.Items = append(page.Items, eventPB(ev))
	}
	return page, nil
}

// GetEvent implements standin.v1.EventService.
func (s *eventServer) GetEvent(ctx context.Context, req *standinv1.GetEventRequest) (*standinv1.GetEventResponse, error) {
	detail, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.GetEventResponse{Code: codeSuccess, Data: detail}, nil
}

// eventDeliveriesPage is the page size GetEvent reads an event's deliveries
// with; an event has one delivery per subscribed webhook.
const eventDeliveriesPage = 1000

func (s *eventServer) get(ctx context.Context, id string) (*standinv1.EventDetail, error) {
	st := s.api.cfg.Store
	ev, err := st.EventGetByID(ctx, id)
	if err != nil {
		return nil, apierr.NotFound("Event", id, err)
	}
	var all []*store.Delivery
	params := store.DeliveryListParams{EventID: id, Limit: eventDeliveriesPage}
	for {
		list, err := st.DeliveryList(ctx, params)
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
		if len(list) < params.Limit {
			break
		}
		params.BeforeID = list[len(list)-1].ID
	}
	// The store lists newest first; an event's deliveries share its
	// created_at and have time-ordered ids, so reversed is creation order.
	slices.Reverse(all)
	detail := &standinv1.EventDetail{Event: eventPB(ev), Deliveries: make([]*standinv1.Delivery, 0, len(all))}
	for _, d := range all {
		detail.Deliveries = append(detail.Deliveries, deliveryPB(d))
	}
	return detail, nil
}

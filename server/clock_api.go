package server

import (
	"context"
	"errors"
	"strings"
	"time"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/clock"
	"github.com/standin-dev/standin/server/internal/apierr"
)

// clockTimeFormat is how the clock API writes times: RFC 3339, UTC, with
// milliseconds (the manual clock's precision).
const clockTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// clockServer implements standinv1.ClockServiceServer.
type clockServer struct {
	standinv1.UnimplementedClockServiceServer
	api *API
}

func (s *clockServer) view() *standinv1.Clock {
	kind := "real"
	if s.api.cfg.Clock != nil {
		kind = "manual"
	}
	return &standinv1.Clock{Kind: kind, Now: s.api.now().UTC().Format(clockTimeFormat), TimeScale: s.api.cfg.TimeScale}
}

// GetClock implements standinv1.ClockServiceServer.
func (s *clockServer) GetClock(context.Context, *standinv1.GetClockRequest) (*standinv1.GetClockResponse, error) {
	return &standinv1.GetClockResponse{Code: codeSuccess, Data: s.view()}, nil
}

// AdvanceClock implements standinv1.ClockServiceServer.
func (s *clockServer) AdvanceClock(ctx context.Context, req *standinv1.AdvanceClockRequest) (*standinv1.AdvanceClockResponse, error) {
	resp, err := s.advance(ctx, req)
	return resp, s.api.status(ctx, err)
}

func (s *clockServer) advance(ctx context.Context, req *standinv1.AdvanceClockRequest) (*standinv1.AdvanceClockResponse, error) {
	by, to := strings.TrimSpace(req.GetBy()), strings.TrimSpace(req.GetTo())
	switch {
	case by == "" && to == "":
		return nil, apierr.Invalid("Field 'by' or 'to' is required")
	case by != "" && to != "":
		return nil, apierr.Invalid("Fields 'by' and 'to' are exclusive: give one")
	}
	var (
		d time.Duration
		t time.Time
	)
	if by != "" {
		var err error
		if d, err = clock.ParseDuration(by); err != nil {
			return nil, apierr.Invalid("Invalid value '%s' for field 'by': must be a duration such as 6m, 24h or 3d, not negative", by)
		}
	} else {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, to); err != nil {
			return nil, apierr.Invalid("Invalid value '%s' for field 'to': must be an RFC 3339 time", to)
		}
	}
	st := s.api.cfg.Clock
	if st == nil {
		return nil, &apierr.ConflictError{Msg: "The clock is real and cannot be moved: start standin with --clock manual"}
	}
	var (
		adv *clock.Advance
		err error
	)
	if by != "" {
		adv, err = st.AdvanceBy(ctx, d)
	} else {
		adv, err = st.AdvanceTo(ctx, t)
	}
	if errors.Is(err, clock.ErrBackwards) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'to': before the clock's time %s; a manual clock does not go back", to, st.Clock.Now().Format(clockTimeFormat))
	}
	if err != nil {
		return nil, err
	}
	out := &standinv1.ClockAdvance{From: adv.From.Format(clockTimeFormat), Now: adv.To.Format(clockTimeFormat)}
	for _, f := range adv.Fired {
		out.Fired = append(out.Fired, &standinv1.FiredDelivery{At: f.At.Format(clockTimeFormat), DeliveryId: f.DeliveryID, Event: f.EventName})
	}
	return &standinv1.AdvanceClockResponse{Code: codeSuccess, Data: out}, nil
}

package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/export"
	"github.com/standin-dev/standin/server/internal/apierr"
)

// Bounds of one POST /standin/v1/replay, which works while the caller waits
// and answers one result per request: at most MaxReplayRequests requests,
// and a delivery log selection of at most MaxReplayLogBytes of export. For
// more, export to a file and run standin replay, which streams.
const (
	MaxReplayRequests = 1000
	MaxReplayLogBytes = 16 << 20
)

// The bounds in force: the constants, lowered by tests.
var replayMaxRequests, replayMaxLogBytes = MaxReplayRequests, MaxReplayLogBytes

// errReplayTooLarge stops reading the delivery log past replayMaxLogBytes.
var errReplayTooLarge = errors.New("replay: delivery log selection too large")

// cappedBuffer is a bytes.Buffer that refuses to grow past max.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errReplayTooLarge
	}
	return b.Buffer.Write(p)
}

// Replay implements standinv1.ExportServiceServer: POST /standin/v1/replay.
func (s *exportServer) Replay(ctx context.Context, req *standinv1.ReplayRequest) (*standinv1.ReplayResponse, error) {
	resp, err := s.replay(ctx, req)
	return resp, s.api.status(ctx, err)
}

func (s *exportServer) replay(ctx context.Context, req *standinv1.ReplayRequest) (*standinv1.ReplayResponse, error) {
	to := strings.TrimSpace(req.GetTo())
	if to == "" {
		return nil, apierr.Invalid("Field 'to' is required: the URL to replay to")
	}
	if u, err := url.Parse(to); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, apierr.Invalid("Invalid value '%s' for field 'to': must be an http or https URL", to)
	}
	if req.Secret != nil && req.GetSecret() == "" {
		return nil, apierr.Invalid("Invalid value '' for field 'secret': must not be empty; leave it out to send the recorded signatures")
	}
	fromLog := req.GetSince() != "" || req.GetWebhookId() != "" || req.GetEvent() != ""
	var items []export.Item
	if req.GetExport() != "" {
		if fromLog {
			return nil, apierr.Invalid("Field 'export' and the delivery log filters 'since', 'webhook_id' and 'event' are exclusive: give one")
		}
		var err error
		if items, err = export.ReadRequests(strings.NewReader(req.GetExport())); err != nil {
			return nil, apierr.Invalid("Invalid value for field 'export': %v", err)
		}
	} else {
		j, err := newExportJob(req.GetSince(), req.GetWebhookId(), req.GetEvent(), "")
		if err != nil {
			return nil, err
		}
		buf := &cappedBuffer{max: replayMaxLogBytes}
		if err := j.write(ctx, s.api.cfg.Store, buf); err != nil {
			if errors.Is(err, errReplayTooLarge) {
				return nil, apierr.Invalid("The delivery log selection is larger than %d bytes of export: narrow it with 'since', 'webhook_id' or 'event', or use standin export and standin replay", replayMaxLogBytes)
			}
			return nil, err
		}
		if items, err = export.ReadRequests(&buf.Buffer); err != nil {
			return nil, err
		}
	}
	if len(items) > replayMaxRequests {
		return nil, apierr.Invalid("The replay holds %d requests, more than %d: narrow the selection, or use standin export and standin replay", len(items), replayMaxRequests)
	}
	// Refuse what Replay would stop on before anything is sent.
	for _, it := range items {
		if it.Request.Method != "" && it.Request.Method != http.MethodPost {
			return nil, apierr.Invalid("Invalid value for field 'export': %s: method %s: only POST requests are replayed", it.Label, it.Request.Method)
		}
		if req.Secret != nil {
			if _, err := export.Resign(it, req.GetSecret()); err != nil {
				return nil, apierr.Invalid("Invalid value for field 'export': %s: %v", it.Label, err)
			}
		}
	}
	out := &standinv1.ReplayReport{}
	refused, err := export.Replay(ctx, items, export.ReplayOptions{To: to, Secret: req.Secret, Sender: s.api.cfg.Sender}, func(r export.Result) {
		rr := &standinv1.ReplayedRequest{
			Label: r.Item.Label, Event: r.Item.Event, DeliveryId: r.Item.DeliveryID, Attempt: int32(r.Item.Attempt),
			Status:          int32(r.Response.Status),
			LatencyMs:       float64(r.Response.Latency) / float64(time.Millisecond),
			Refused:         r.Refused,
			ResponseExcerpt: strings.ToValidUTF8(string(r.Response.Excerpt), "\uFFFD"),
		}
		if r.Response.Err != nil {
			rr.Error = r.Response.Err.Error()
		}
		out.Requests = append(out.Requests, rr)
	})
	if err != nil {
		return nil, err
	}
	out.Sent = int32(len(out.Requests))
	out.Refused = int32(refused)
	return &standinv1.ReplayResponse{Code: codeSuccess, Data: out}, nil
}

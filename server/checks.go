package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/delivery/check"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

// MaxCheckTimeout is the longest per-request timeout a check run through
// the API may ask for: the call lasts up to about three timeouts.
const MaxCheckTimeout = time.Minute

// checkServer implements standinv1.CheckServiceServer: the receiver check
// of package delivery/check, run by the server and its report stored.
type checkServer struct {
	standinv1.UnimplementedCheckServiceServer
	api *API
}

// RunCheck runs the check against a webhook (webhook_id) or an explicit url,
// stores its report and answers it.
func (s *checkServer) RunCheck(ctx context.Context, req *standinv1.RunCheckRequest) (*standinv1.RunCheckResponse, error) {
	cfg, err := s.config(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	report, err := check.Run(ctx, cfg)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	report.ID = delivery.NewID()
	report.WebhookID = req.GetWebhookId()
	body, err := json.Marshal(report)
	if err != nil {
		return nil, s.api.status(ctx, fmt.Errorf("encode check report: %w", err))
	}
	if err := s.api.cfg.Store.CheckCreate(ctx, &store.Check{ID: report.ID, WebhookID: report.WebhookID,
		CreatedAt: s.api.now(), Report: body}); err != nil {
		return nil, s.api.status(ctx, err)
	}
	data, err := checkReportPB(body)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.RunCheckResponse{Code: codeSuccess, Data: data}, nil
}

// GetCheck returns a stored report.
func (s *checkServer) GetCheck(ctx context.Context, req *standinv1.GetCheckRequest) (*standinv1.GetCheckResponse, error) {
	c, err := s.api.cfg.Store.CheckGetByID(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, apierr.NotFound("Check", req.GetId(), err))
	}
	data, err := checkReportPB(c.Report)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.GetCheckResponse{Code: codeSuccess, Data: data}, nil
}

// config builds the check's configuration from a webhook or from the
// request's own fields, and validates it.
func (s *checkServer) config(ctx context.Context, req *standinv1.RunCheckRequest) (check.Config, error) {
	cfg := check.Config{Events: slices.Clone(req.GetEvents()), Now: s.api.cfg.Now}
	explicit := req.GetUrl() != "" || req.GetSecret() != "" || req.GetProfile() != "" || req.GetSigning() != nil
	switch {
	case req.GetWebhookId() != "" && explicit:
		return cfg, apierr.Invalid("Field 'webhook_id' cannot be combined with 'url', 'secret', 'profile' or 'signing': the webhook's own are used")
	case req.GetWebhookId() != "":
		wh, err := s.api.cfg.Store.WebhookGetByID(ctx, req.GetWebhookId())
		if err != nil {
			return cfg, apierr.NotFound("Webhook", req.GetWebhookId(), err)
		}
		cfg.URL, cfg.Secret, cfg.Profile, cfg.Signing = wh.URL, wh.Secret, wh.Profile, wh.Signing
	case req.GetUrl() == "":
		return cfg, apierr.Invalid("Missing field 'webhook_id' or 'url'")
	default:
		cfg.URL, cfg.Secret = req.GetUrl(), req.GetSecret()
		cfg.Profile = delivery.Profile(req.GetProfile())
		if req.GetSigning() != nil {
			cfg.Signing = signingFromPB(req.GetSigning())
		}
		if err := checkSigning(cfg.Signing, cfg.Secret); err != nil {
			return cfg, err
		}
	}
	if t := req.GetTimeout(); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > MaxCheckTimeout {
			return cfg, apierr.Invalid("Invalid value for field 'timeout': %q (want a duration such as \"10s\", more than 0 and at most %s)", t, MaxCheckTimeout)
		}
		cfg.Timeout = d
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = delivery.DefaultTimeout
	}
	snd := s.api.cfg.Sender
	cfg.Sender = &delivery.Sender{Client: snd.Client, Timeout: timeout, MaxExcerpt: check.MaxExcerpt,
		TLSConfig: snd.TLSConfig, UserAgent: snd.UserAgent, Now: snd.Now}
	if err := cfg.Validate(); err != nil {
		return cfg, apierr.Invalid("%s", err)
	}
	return cfg, nil
}

// checkReportPB is the API form of a report's JSON: the proto fields carry
// the JSON keys of check.Report, so the JSON decodes into it as it is.
func checkReportPB(report []byte) (*standinv1.CheckReport, error) {
	var out standinv1.CheckReport
	if err := reportUnmarshal.Unmarshal(report, &out); err != nil {
		return nil, fmt.Errorf("decode check report: %w", err)
	}
	return &out, nil
}

// reportUnmarshal is strict: a check.Report field the proto lacks fails
// the call (and TestCheckReportProtoMatchesJSON) instead of vanishing.
var reportUnmarshal = protojson.UnmarshalOptions{}

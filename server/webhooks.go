package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/store"
)

// maxIDAttempts bounds the retries when a fresh webhook id collides.
const maxIDAttempts = 8

// webhookServer implements standin.v1.WebhookService.
type webhookServer struct {
	standinv1.UnimplementedWebhookServiceServer
	api *API
}

// CreateAccountWebhook implements standin.v1.WebhookService.
func (s *webhookServer) CreateAccountWebhook(ctx context.Context, req *standinv1.CreateAccountWebhookRequest) (*standinv1.CreateAccountWebhookResponse, error) {
	wh, err := s.create(ctx, store.WebhookTypeAccount, "", req.GetWebhook())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.CreateAccountWebhookResponse{
		Code:    codeSuccess,
		Message: proto.String("Account webhook has been created"),
		Data:    webhookPB(wh),
	}, nil
}

// CreateGroupWebhook implements standin.v1.WebhookService.
func (s *webhookServer) CreateGroupWebhook(ctx context.Context, req *standinv1.CreateGroupWebhookRequest) (*standinv1.CreateGroupWebhookResponse, error) {
	wh, err := s.create(ctx, store.WebhookTypeGroup, req.GetGroupId(), req.GetWebhook())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.CreateGroupWebhookResponse{
		Code:    codeSuccess,
		Message: proto.String("Group webhook has been created"),
		Data:    webhookPB(wh),
	}, nil
}

// create validates spec, checks the URL when the webhook starts active and
// stores the webhook under a fresh id.
func (s *webhookServer) create(ctx context.Context, typ, groupID string, spec *standinv1.WebhookSpec) (*store.Webhook, error) {
	if typ == store.WebhookTypeGroup {
		if err := checkGroupID(groupID); err != nil {
			return nil, err
		}
		if _, err := s.api.cfg.Store.GroupGetByID(ctx, groupID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, &apierr.NotFoundError{Entity: "Group", ID: groupID, Hint: registerGroupHint(groupID), Err: err}
			}
			return nil, err
		}
	}
	if spec == nil {
		spec = &standinv1.WebhookSpec{}
	}
	if spec.GetUrl() == "" {
		return nil, apierr.Invalid("Field 'url' is required")
	}
	if hasRotation(spec) {
		return nil, apierr.Invalid("Fields '%s' and '%s' go with a change of 'secret', not a new webhook", fieldRotationWindow, fieldSignWith)
	}
	if err := s.api.checkURLSyntax(spec.GetUrl()); err != nil {
		return nil, err
	}
	if len(spec.GetEvents()) == 0 {
		return nil, apierr.Invalid("Field 'events' is required")
	}
	profile, err := parseProfile(spec.GetProfile())
	if err != nil {
		return nil, err
	}
	events, err := parseEvents(spec.GetEvents(), profile)
	if err != nil {
		return nil, err
	}
	now := s.api.now()
	wh := &store.Webhook{
		Type:      typ,
		GroupID:   groupID,
		URL:       spec.GetUrl(),
		Events:    events,
		Active:    spec.Active == nil || spec.GetActive(),
		Secret:    spec.GetSecret(),
		CreatedAt: now,
		CreatedBy: CreatedBy,
		UpdatedAt: now,
		Profile:   profile,
		Signing:   signingFromPB(spec.GetSigning()),
	}
	if err := checkSigning(wh.Signing, wh.Secret); err != nil {
		return nil, err
	}
	if wh.Faults, err = faultsFromPB(spec.GetFaults()); err != nil {
		return nil, err
	}
	if wh.Active {
		if err := s.api.checkURL(ctx, wh); err != nil {
			return nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		wh.ID = delivery.NewID()
		err := s.api.cfg.Store.WebhookCreate(ctx, wh)
		if err == nil {
			return wh, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == maxIDAttempts {
			return nil, err
		}
	}
}

// ListWebhooks implements standin.v1.WebhookService.
func (s *webhookServer) ListWebhooks(ctx context.Context, req *standinv1.ListWebhooksRequest) (*standinv1.ListWebhooksResponse, error) {
	limit, err := parseLimit(req.Limit)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	var after int64
	if req.GetCursor() != "" {
		var ok bool
		if after, ok = decodeSeqCursor(req.GetCursor()); !ok {
			return nil, s.api.status(ctx, apierr.Invalid("Invalid value for field 'cursor'"))
		}
	}
	// One more than asked tells whether there is a next page.
	list, err := s.api.cfg.Store.WebhookList(ctx, store.WebhookListParams{AfterSeq: after, Limit: limit + 1})
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	page := &standinv1.WebhookPage{Items: make([]*standinv1.Webhook, 0, min(len(list), limit))}
	if len(list) > limit {
		list = list[:limit]
		page.NextCursor = proto.String(encodeSeqCursor(list[len(list)-1].Seq))
	}
	for _, wh := range list {
		page.Items = append(page.Items, webhookPB(wh))
	}
	return &standinv1.ListWebhooksResponse{Code: codeSuccess, Data: page}, nil
}

// GetWebhook implements standin.v1.WebhookService.
func (s *webhookServer) GetWebhook(ctx context.Context, req *standinv1.GetWebhookRequest) (*standinv1.GetWebhookResponse, error) {
	wh, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.GetWebhookResponse{Code: codeSuccess, Data: webhookPB(wh)}, nil
}

func (s *webhookServer) get(ctx context.Context, id string) (*store.Webhook, error) {
	wh, err := s.api.cfg.Store.WebhookGetByID(ctx, id)
	if err != nil {
		return nil, apierr.NotFound("Webhook", id, err)
	}
	return wh, nil
}

// UpdateWebhook implements standin.v1.WebhookService.
func (s *webhookServer) UpdateWebhook(ctx context.Context, req *standinv1.UpdateWebhookRequest) (*standinv1.UpdateWebhookResponse, error) {
	wh, err := s.update(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.UpdateWebhookResponse{
		Code:    codeSuccess,
		Message: proto.String("Webhook has been updated"),
		Data:    webhookPB(wh),
	}, nil
}

// Fields of WebhookSpec that an update can name.
const (
	fieldURL     = "url"
	fieldEvents  = "events"
	fieldActive  = "active"
	fieldSecret  = "secret"
	fieldProfile = "profile"
	fieldSigning = "signing"
	fieldFaults  = "faults"
)

// updatedFields returns the WebhookSpec fields an update changes: the
// top-level names of update_mask (REST fills it from the body's keys), or,
// without a mask, the populated fields of spec.
func updatedFields(spec *standinv1.WebhookSpec, mask []string) (map[string]bool, error) {
	fields := make(map[string]bool)
	if len(mask) > 0 {
		for _, path := range mask {
			name, _, _ := strings.Cut(path, ".")
			switch name {
			case fieldURL, fieldEvents, fieldActive, fieldSecret, fieldProfile, fieldSigning, fieldFaults:
				fields[name] = true
			case fieldRotationWindow, fieldSignWith: // read with the secret
			default:
				return nil, apierr.Invalid("Field '%s' cannot be updated", path)
			}
		}
		return fields, nil
	}
	fields[fieldURL] = spec.GetUrl() != ""
	fields[fieldEvents] = len(spec.GetEvents()) > 0
	fields[fieldActive] = spec.Active != nil
	fields[fieldSecret] = spec.GetSecret() != ""
	fields[fieldProfile] = spec.GetProfile() != ""
	fields[fieldSigning] = spec.GetSigning() != nil
	fields[fieldFaults] = spec.GetFaults() != nil
	return fields, nil
}

// update applies the given fields, validating the webhook they produce as a
// whole, and checks the URL when the webhook goes from inactive to active.
func (s *webhookServer) update(ctx context.Context, req *standinv1.UpdateWebhookRequest) (*store.Webhook, error) {
	spec := req.GetWebhook()
	if spec == nil {
		spec = &standinv1.WebhookSpec{}
	}
	fields, err := updatedFields(spec, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	cur, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	next := *cur
	params := store.WebhookUpdateParams{ID: cur.ID}
	if fields[fieldProfile] {
		if next.Profile, err = parseProfile(spec.GetProfile()); err != nil {
			return nil, err
		}
		params.Profile = &next.Profile
	}
	if fields[fieldURL] {
		if err := s.api.checkURLSyntax(spec.GetUrl()); err != nil {
			return nil, err
		}
		next.URL = spec.GetUrl()
		params.URL = &next.URL
	}
	if fields[fieldEvents] {
		if len(spec.GetEvents()) == 0 {
			return nil, apierr.Invalid("Field 'events' must not be empty")
		}
		if next.Events, err = parseEvents(spec.GetEvents(), next.Profile); err != nil {
			return nil, err
		}
		params.Events = &next.Events
	} else if fields[fieldProfile] {
		// The kept events must exist in the new profile too.
		if _, err := parseEvents(next.Events, next.Profile); err != nil {
			return nil, err
		}
	}
	if fields[fieldActive] {
		next.Active = spec.GetActive()
		params.Active = &next.Active
	}
	if fields[fieldSecret] {
		if params.Rotation, err = s.api.rotation(cur, spec, s.api.now()); err != nil {
			return nil, err
		}
		next.Secret = spec.GetSecret()
		params.Secret = &next.Secret
	} else if hasRotation(spec) {
		return nil, apierr.Invalid("Fields '%s' and '%s' go with a new 'secret'", fieldRotationWindow, fieldSignWith)
	}
	if fields[fieldSigning] {
		next.Signing = signingFromPB(spec.GetSigning())
		params.Signing = &next.Signing
	}
	if fields[fieldFaults] {
		if next.Faults, err = faultsFromPB(spec.GetFaults()); err != nil {
			return nil, err
		}
		params.Faults = &next.Faults
	}
	if fields[fieldSigning] || fields[fieldSecret] {
		if err := checkSigning(next.Signing, next.Secret); err != nil {
			return nil, err
		}
	}
	if !cur.Active && next.Active {
		if err := s.api.checkURL(ctx, &next); err != nil {
			return nil, err
		}
		// A fresh start: failures before the deactivation do not count.
		params.ClearFailingSince = true
		if cur.DisabledReason != "" { // a user's activation clears standin's deactivation
			next.DisabledReason = ""
			params.DisabledReason = &next.DisabledReason
		}
	}
	params.UpdatedAt = s.api.now()
	wh, err := s.api.cfg.Store.WebhookUpdate(ctx, params)
	if err != nil {
		return nil, apierr.NotFound("Webhook", cur.ID, err)
	}
	return wh, nil
}

// DeleteWebhook implements standin.v1.WebhookService.
func (s *webhookServer) DeleteWebhook(ctx context.Context, req *standinv1.DeleteWebhookRequest) (*standinv1.DeleteWebhookResponse, error) {
	id := req.GetId()
	if err := s.api.cfg.Store.WebhookDelete(ctx, id); err != nil {
		return nil, s.api.status(ctx, apierr.NotFound("Webhook", id, err))
	}
	return &standinv1.DeleteWebhookResponse{
		Code:    codeSuccess,
		Message: proto.String(fmt.Sprintf("Webhook with id '%s' has been deleted", id)),
	}, nil
}

// TestWebhook implements standin.v1.WebhookService.
func (s *webhookServer) TestWebhook(ctx context.Context, req *standinv1.TestWebhookRequest) (*standinv1.TestWebhookResponse, error) {
	result, err := s.test(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.TestWebhookResponse{
		Code:    codeSuccess,
		Message: proto.String("Operation performed."),
		Data:    result,
	}, nil
}

func (s *webhookServer) test(ctx context.Context, req *standinv1.TestWebhookRequest) (*standinv1.TestResult, error) {
	wh, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	event := req.GetEvent()
	if event == "" {
		event = delivery.EventSyncEnd
	}
	if !wh.Profile.HasEvent(event) {
		return nil, &apierr.InputError{Msg: fmt.Sprintf("Invalid event '%s'", event), Err: delivery.ErrUnknownEvent}
	}
	now := s.api.now()
	resp := s.api.send(ctx, wh, delivery.TestBody(wh.Profile, event, now), now)
	result := &standinv1.TestResult{
		Succeed: resp.OK(wh.Profile),
		Status:  int32(resp.Status),
		Message: statusText(resp.Status),
	}
	if resp.Err != nil {
		result.Message = resp.Err.Error()
	}
	return result, nil
}

// send POSTs body to the webhook's URL, signed like a delivery.
func (a *API) send(ctx context.Context, wh *store.Webhook, body []byte, now time.Time) delivery.Response {
	header, err := delivery.Effective(wh.Profile, wh.Signing).Headers(wh.Secret, body, emit.NewUUID(), now)
	if err != nil {
		return delivery.Response{Err: err}
	}
	return a.cfg.Sender.Send(ctx, delivery.Request{URL: wh.URL, Header: header, Body: body})
}

// checkURL is Fivetran's URL check: POST a signed test_event to the
// webhook's URL and refuse, saying what the receiver answered, unless it
// accepts it (any 2xx). Portable has no URL check (its webhook form just
// saves), so a Portable webhook is never checked.
func (a *API) checkURL(ctx context.Context, wh *store.Webhook) error {
	if a.cfg.SkipURLCheck || wh.Profile == delivery.ProfilePortable {
		return nil
	}
	now := a.now()
	resp := a.send(ctx, wh, delivery.URLCheckBody(now, a.cfg.URLCheckConnectorID), now)
	switch {
	case resp.Err != nil:
		return apierr.Invalid("URL check failed: cannot deliver a test event to '%s': %v", delivery.RedactURL(wh.URL), resp.Err)
	case !resp.OK(wh.Profile):
		return apierr.Invalid("URL check failed: '%s' answered the test event with HTTP %d %s (expected 2xx)",
			delivery.RedactURL(wh.URL), resp.Status, http.StatusText(resp.Status))
	}
	return nil
}

// checkURLSyntax requires an absolute http(s) URL (https only when
// StrictHTTPS) of at most MaxURLLength bytes.
func (a *API) checkURLSyntax(raw string) error {
	if len(raw) > MaxURLLength {
		return apierr.Invalid("Field 'url' must be at most %d characters long", MaxURLLength)
	}
	u, err := url.Parse(raw)
	ok := err == nil && u.Host != "" && (u.Scheme == "https" || (u.Scheme == "http" && !a.cfg.StrictHTTPS))
	switch {
	case ok:
		return nil
	case a.cfg.StrictHTTPS:
		return apierr.Invalid("Field 'url' must be an absolute https URL")
	default:
		return apierr.Invalid("Field 'url' must be an absolute http(s) URL")
	}
}

// checkGroupID requires a group id of 1 to MaxGroupIDLength bytes of valid
// UTF-8 without control characters: it is echoed in responses and payloads.
func checkGroupID(id string) error {
	switch {
	case id == "":
		return apierr.Invalid("Field 'group_id' is required")
	case len(id) > MaxGroupIDLength:
		return apierr.Invalid("Field 'group_id' must be at most %d characters long", MaxGroupIDLength)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		return apierr.Invalid("Field 'group_id' must be printable text")
	}
	return nil
}

// parseProfile accepts "", "fivetran" and "portable".
func parseProfile(s string) (delivery.Profile, error) {
	p := delivery.Profile(s)
	if p != "" && !p.Valid() {
		return "", apierr.Invalid("Invalid profile '%s': must be '%s' or '%s'", s, delivery.ProfileFivetran, delivery.ProfilePortable)
	}
	return p, nil
}

// parseEvents checks that every event is in p's catalog and drops
// duplicates, keeping the first occurrence.
func parseEvents(events []string, p delivery.Profile) ([]string, error) {
	out := make([]string, 0, len(events))
	for _, e := range events {
		if !p.HasEvent(e) {
			return nil, &apierr.InputError{Msg: fmt.Sprintf("Invalid event '%s'", e), Err: delivery.ErrUnknownEvent}
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// checkSigning validates the signing scheme and that the secret can be sent
// with it (a token must be a valid header value).
func checkSigning(sg delivery.Signing, secret string) error {
	if err := sg.Validate(); err != nil {
		var se *delivery.SigningError
		if errors.As(err, &se) {
			return &apierr.InputError{Msg: fmt.Sprintf("Invalid value for field 'signing.%s': %s", se.Field, se.Reason), Err: err}
		}
		return &apierr.InputError{Msg: "Invalid value for field 'signing'", Err: err}
	}
	if _, err := sg.Headers(secret, nil, "check", time.Unix(1, 0)); err != nil {
		return &apierr.InputError{Msg: "Invalid value for field 'secret': it cannot be sent with this signing scheme", Err: err}
	}
	return nil
}

// statusText is "OK" for 200, the reason phrase of other known codes, and
// "HTTP <code>" for the rest.
func statusText(code int) string {
	if code == 0 {
		return ""
	}
	if t := http.StatusText(code); t != "" {
		return t
	}
	return fmt.Sprintf("HTTP %d", code)
}

// webhookPB is the API form of a webhook: the secret masked, created_at in
// Fivetran's format, the emulator extensions only when not the default.
func webhookPB(wh *store.Webhook) *standinv1.Webhook {
	out := &standinv1.Webhook{
		Id:        wh.ID,
		Type:      wh.Type,
		Url:       delivery.RedactURL(wh.URL),
		Events:    wh.Events,
		Active:    wh.Active,
		Secret:    "******",
		CreatedAt: delivery.FivetranTime(wh.CreatedAt),
		CreatedBy: wh.CreatedBy,
	}
	if wh.GroupID != "" {
		out.GroupId = proto.String(wh.GroupID)
	}
	if wh.Profile != "" && wh.Profile != delivery.ProfileFivetran {
		out.Profile = proto.String(string(wh.Profile))
	}
	if wh.Signing != (delivery.Signing{}) {
		out.Signing = signingPB(wh.Signing)
	}
	if wh.DisabledReason != "" {
		out.DisabledReason = proto.String(wh.DisabledReason)
	}
	out.Faults = faultsPB(wh.Faults)
	out.SecretRotation = rotationPB(wh.Rotation)
	return out
}

// faultsFromPB is the faults of a request, validated: an error names the
// bad field ("faults.duplicate"). nil is none.
func faultsFromPB(f *standinv1.Faults) (delivery.Faults, error) {
	if f == nil {
		return delivery.Faults{}, nil
	}
	out := delivery.Faults{
		Seed:             int64(f.GetSeed()),
		Duplicate:        f.GetDuplicate(),
		DuplicateCount:   int(f.GetDuplicateCount()),
		Delay:            f.GetDelay(),
		DelayProbability: f.GetDelayProbability(),
		BadSignature:     f.GetBadSignature(),
		ExtraFields:      f.GetExtraFields(),
		Reorder:          f.GetReorder(),

		BadSignatureSecret: f.GetBadSignatureSecret(),
	}
	if err := out.Validate(); err != nil {
		return out, &apierr.InputError{Msg: "Invalid value for field " + err.Error(), Err: err}
	}
	return out, nil
}

// faultsPB is the API form of faults: nil when they ask for none, else
// only the fields set.
func faultsPB(f delivery.Faults) *standinv1.Faults {
	if f.IsZero() {
		return nil
	}
	out := &standinv1.Faults{}
	if f.Seed != 0 {
		out.Seed = proto.Int32(int32(f.Seed))
	}
	if f.Duplicate != 0 {
		out.Duplicate = proto.Float64(f.Duplicate)
	}
	if f.DuplicateCount != 0 {
		out.DuplicateCount = proto.Int32(int32(f.DuplicateCount))
	}
	if f.Delay != "" {
		out.Delay = proto.String(f.Delay)
	}
	if f.DelayProbability != 0 {
		out.DelayProbability = proto.Float64(f.DelayProbability)
	}
	if f.BadSignature != 0 {
		out.BadSignature = proto.Float64(f.BadSignature)
	}
	if f.ExtraFields != 0 {
		out.ExtraFields = proto.Float64(f.ExtraFields)
	}
	if f.Reorder {
		out.Reorder = proto.Bool(true)
	}
	if f.BadSignatureSecret != "" {
		out.BadSignatureSecret = proto.String(f.BadSignatureSecret)
	}
	return out
}

func signingFromPB(s *standinv1.Signing) delivery.Signing {
	return delivery.Signing{
		Scheme:          delivery.Scheme(s.GetScheme()),
		Algorithm:       s.GetAlgorithm(),
		Encoding:        s.GetEncoding(),
		Header:          s.GetHeader(),
		LowerHex:        s.GetLowerHex(),
		PrefixAlgorithm: s.GetPrefixAlgorithm(),
	}.Canonical()
}

func signingPB(s delivery.Signing) *standinv1.Signing {
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return proto.String(v)
	}
	out := &standinv1.Signing{
		Scheme:    opt(string(s.Scheme)),
		Algorithm: opt(s.Algorithm),
		Encoding:  opt(s.Encoding),
		Header:    opt(s.Header),
	}
	if s.LowerHex {
		out.LowerHex = proto.Bool(true)
	}
	if s.PrefixAlgorithm {
		out.PrefixAlgorithm = proto.Bool(true)
	}
	return out
}

// parseLimit returns the page size: 100 when absent, else 1..1000.
func parseLimit(limit *int32) (int, error) {
	if limit == nil {
		return defaultLimit, nil
	}
	if *limit < 1 || *limit > maxLimit {
		return 0, apierr.Invalid("Field 'limit' must be between 1 and %d", maxLimit)
	}
	return int(*limit), nil
}

// registerGroupHint says how to register a missing group in standin, after
// Fivetran's NotFound_Group message.
func registerGroupHint(id string) string {
	return fmt.Sprintf(`standin: register the group first with POST /standin/v1/groups {"id":"%s","name":"…"}`, id)
}

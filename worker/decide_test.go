package worker

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

var t0 = time.Date(2026, 5, 22, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestDecideStart(t *testing.T) {
	t.Parallel()
	active := &store.Webhook{ID: "wh", Active: true}
	inactive := &store.Webhook{ID: "wh"}
	retrying := &store.Delivery{ID: "d", State: store.DeliveryRetrying, Attempts: 1, FirstAttemptAt: at(0), NextAttemptAt: at(6 * time.Minute)}
	tests := []struct {
		name   string
		dl     *store.Delivery
		wh     *store.Webhook
		manual bool
		now    time.Time
		want   start
	}{
		{"pending, due: send", &store.Delivery{State: store.DeliveryPending, NextAttemptAt: at(0)}, active, false, t0, start{action: actSend}},
		{"retry due: send", retrying, active, false, t0.Add(6 * time.Minute), start{action: actSend}},
		{"retry due within a millisecond: send", retrying, active, false, t0.Add(6*time.Minute - 500*time.Microsecond), start{action: actSend}},
		{"early run of a rescued job: wait for the schedule", retrying, active, false, t0.Add(time.Minute), start{action: actWait, wait: 5 * time.Minute}},
		{"succeeded meanwhile: skip", &store.Delivery{State: store.DeliverySucceeded}, active, false, t0, start{action: actSkip}},
		{"failed: skip", &store.Delivery{State: store.DeliveryFailed}, active, false, t0, start{action: actSkip}},
		{"cancelled, webhook deleted: skip", &store.Delivery{State: store.DeliveryCancelled}, nil, false, t0, start{action: actSkip}},
		{"webhook deleted: cancel the delivery", retrying, nil, false, t0.Add(time.Hour), start{action: actCancelDelivery, why: "webhook was deleted"}},
		{"webhook inactive: cancel the delivery", retrying, inactive, false, t0.Add(time.Hour), start{action: actCancelDelivery, why: "webhook is inactive"}},
		{"manual, webhook deleted: cancel the job only", retrying, nil, true, t0, start{action: actCancelJob, why: "webhook was deleted"}},
		{"manual, webhook inactive: send", retrying, inactive, true, t0, start{action: actSend}},
		{"manual, succeeded delivery: send", &store.Delivery{State: store.DeliverySucceeded}, active, true, t0, start{action: actSend}},
		{"manual, before the next retry: send", retrying, active, true, t0.Add(time.Minute), start{action: actSend}},
	}
	for _, tt := range tests {
		if got := decideStart(tt.dl, tt.wh, tt.manual, tt.now); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestDecideOutcome(t *testing.T) {
	t.Parallel()
	wh := &store.Webhook{ID: "wh", URL: "http://receiver.test/hook", Active: true}
	portable := &store.Webhook{ID: "wh", URL: "http://receiver.test/hook", Active: true, Profile: delivery.ProfilePortable}
	status := func(code int) delivery.Response {
		return delivery.Response{Status: code, Header: http.Header{"X-R": {"1"}}, Excerpt: []byte("body"), Latency: 7 * time.Millisecond}
	}
	refused := delivery.Response{Err: errors.New("dial tcp: connection refused")}
	pending := &store.Delivery{ID: "d", State: store.DeliveryPending, NextAttemptAt: at(0)}
	// retrying after n scheduled attempts (and m manual ones), the next due
	// at its schedule's offset n.
	retrying := func(p delivery.Profile, n, m int) *store.Delivery {
		off, _ := delivery.ScheduleFor(p).Offset(n)
		return &store.Delivery{ID: "d", Profile: p, State: store.DeliveryRetrying, Attempts: n + m, ManualAttempts: m,
			FirstAttemptAt: at(0), NextAttemptAt: at(off)}
	}
	type want struct {
		state     store.DeliveryState
		first     *time.Time
		next      *time.Time
		delay     time.Duration // the attempt's EmulatedDelay
		succeeded bool
		err       string // the attempt's Error
	}
	tests := []struct {
		name        string
		dl          *store.Delivery
		wh          *store.Webhook
		manual      bool
		resp        delivery.Response
		now         time.Time
		deactivated string
		scale       float64
		want        want
	}{
		{name: "first attempt succeeds", dl: pending, wh: wh, resp: status(200), now: t0,
			want: want{state: store.DeliverySucceeded, first: at(0), succeeded: true}},
		{name: "Fivetran: 204 is a success", dl: pending, wh: wh, resp: status(204), now: t0,
			want: want{state: store.DeliverySucceeded, first: at(0), succeeded: true}},
		{name: "first attempt fails: first retry in 6 min", dl: pending, wh: wh, resp: status(500), now: t0,
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(6 * time.Minute), err: "receiver answered HTTP 500"}},
		{name: "no response: retry", dl: pending, wh: wh, resp: refused, now: t0,
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(6 * time.Minute), err: "dial tcp: connection refused"}},
		{name: "a 3xx is a failure", dl: pending, wh: wh, resp: status(302), now: t0,
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(6 * time.Minute), err: "receiver answered HTTP 302"}},
		{name: "retry inside the window", dl: retrying(delivery.ProfileFivetran, 2, 0), wh: wh, resp: status(503), now: t0.Add(27*time.Minute + 36*time.Second + time.Second),
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(time.Hour + 45*time.Minute + 21600*time.Millisecond),
				delay: 27*time.Minute + 36*time.Second, err: "receiver answered HTTP 503"}},
		{name: "manual attempts do not count as retries", dl: retrying(delivery.ProfileFivetran, 2, 3), wh: wh, resp: status(503), now: t0.Add(28 * time.Minute),
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(time.Hour + 45*time.Minute + 21600*time.Millisecond),
				delay: 27*time.Minute + 36*time.Second, err: "receiver answered HTTP 503"}},
		{name: "the last retry succeeds", dl: retrying(delivery.ProfileFivetran, 5, 0), wh: wh, resp: status(200), now: t0.Add(24 * time.Hour),
			want: want{state: store.DeliverySucceeded, first: at(0), delay: 23*time.Hour + 13*time.Minute + 3936*time.Millisecond, succeeded: true}},
		{name: "window exhausted: failed", dl: retrying(delivery.ProfileFivetran, 5, 0), wh: wh, resp: status(500), now: t0.Add(24 * time.Hour),
			want: want{state: store.DeliveryFailed, first: at(0), delay: 23*time.Hour + 13*time.Minute + 3936*time.Millisecond, err: "receiver answered HTTP 500"}},
		{name: "time scale 60: the retry is 6 s away", dl: pending, wh: wh, resp: status(500), now: t0, scale: 60,
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(6 * time.Second), err: "receiver answered HTTP 500"}},
		{name: "Portable: 201 is a failure", dl: &store.Delivery{ID: "d", Profile: delivery.ProfilePortable, State: store.DeliveryPending}, wh: portable, resp: status(201), now: t0,
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(30 * time.Second), err: "receiver answered HTTP 201"}},
		{name: "Portable: 200 is a success", dl: &store.Delivery{ID: "d", Profile: delivery.ProfilePortable, State: store.DeliveryPending}, wh: portable, resp: status(200), now: t0,
			want: want{state: store.DeliverySucceeded, first: at(0), succeeded: true}},
		{name: "Portable: the sixth retry fails, the last is due at +24h", dl: retrying(delivery.ProfilePortable, 6, 0), wh: portable, resp: status(201), now: t0.Add(12 * time.Hour),
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(24 * time.Hour), delay: 11*time.Hour + 22*time.Minute + 30*time.Second, err: "receiver answered HTTP 201"}},
		{name: "Portable: window exhausted after seven retries", dl: retrying(delivery.ProfilePortable, 7, 0), wh: portable, resp: status(201), now: t0.Add(24 * time.Hour),
			want: want{state: store.DeliveryFailed, first: at(0), delay: 24 * time.Hour, err: "receiver answered HTTP 201"}},
		{name: "the failure deactivated the webhook: cancelled", dl: retrying(delivery.ProfileFivetran, 1, 0), wh: wh, resp: status(500), now: t0.Add(6 * time.Minute),
			deactivated: "webhook deactivated by standin: …",
			want:        want{state: store.DeliveryCancelled, first: at(0), delay: 6 * time.Minute, err: "receiver answered HTTP 500; webhook deactivated by standin: …"}},
		{name: "manual success ends a failed delivery", dl: &store.Delivery{ID: "d", State: store.DeliveryFailed, Attempts: 6, FirstAttemptAt: at(0)}, wh: wh, manual: true,
			resp: status(200), now: t0.Add(48 * time.Hour),
			want: want{state: store.DeliverySucceeded, first: at(0), delay: 48 * time.Hour, succeeded: true}},
		{name: "manual failure leaves the schedule alone", dl: retrying(delivery.ProfileFivetran, 1, 0), wh: wh, manual: true,
			resp: status(500), now: t0.Add(time.Minute), scale: 60,
			want: want{state: store.DeliveryRetrying, first: at(0), next: at(6 * time.Minute), delay: time.Hour, err: "receiver answered HTTP 500"}},
		{name: "manual attempt before the first does not start the schedule", dl: pending, wh: wh, manual: true, resp: status(500), now: t0,
			want: want{state: store.DeliveryPending, next: at(0), err: "receiver answered HTTP 500"}},
		{name: "manual attempt to an inactive webhook is made", dl: pending, wh: &store.Webhook{ID: "wh", URL: "http://receiver.test/hook"}, manual: true, resp: status(200), now: t0,
			want: want{state: store.DeliverySucceeded, succeeded: true}},
	}
	for _, tt := range tests {
		tl := delivery.Timeline{Scale: tt.scale}
		p := planAttempt(tt.dl, tt.manual, tt.now, tl)
		got := decideOutcome(tt.dl, tt.wh, tt.manual, p, tt.resp, tt.now, tt.deactivated, tl).record
		a := got.Attempt
		if got.State != tt.want.state || !sameTime(got.FirstAttemptAt, tt.want.first) || !sameTime(got.NextAttemptAt, tt.want.next) {
			t.Errorf("%s: state %s, first %v, next %v; want %s, %v, %v", tt.name, got.State, fmtTime(got.FirstAttemptAt), fmtTime(got.NextAttemptAt),
				tt.want.state, fmtTime(tt.want.first), fmtTime(tt.want.next))
		}
		if a.EmulatedDelay != tt.want.delay || a.Succeeded != tt.want.succeeded || a.Error != tt.want.err {
			t.Errorf("%s: attempt delay %v, succeeded %v, error %q; want %v, %v, %q", tt.name, a.EmulatedDelay, a.Succeeded, a.Error,
				tt.want.delay, tt.want.succeeded, tt.want.err)
		}
		if a.DeliveryID != tt.dl.ID || a.Manual != tt.manual || a.URL != tt.wh.URL || !a.StartedAt.Equal(tt.now) || !got.UpdatedAt.Equal(tt.now) ||
			a.StatusCode != tt.resp.Status || a.Latency != tt.resp.Latency || string(a.ResponseExcerpt) != string(tt.resp.Excerpt) {
			t.Errorf("%s: attempt %+v does not record the request and response", tt.name, a)
		}
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.Sub(t0).String()
}

func TestDeactivation(t *testing.T) {
	t.Parallel()
	failing := func(since time.Duration, p delivery.Profile, active bool) *store.Webhook {
		return &store.Webhook{ID: "wh", Active: active, Profile: p, FailingSince: at(since)}
	}
	tests := []struct {
		name         string
		health       *store.Webhook
		at           time.Duration
		disableAfter time.Duration
		scale        float64
		deactivates  bool
	}{
		{"failing for less than 3 days", failing(0, "", true), 72*time.Hour - time.Second, 72 * time.Hour, 1, false},
		{"failing for 3 days", failing(0, "", true), 72 * time.Hour, 72 * time.Hour, 1, true},
		{"failing for 3 emulated days at scale 3600", failing(0, delivery.ProfileFivetran, true), 72 * time.Second, 72 * time.Hour, 3600, true},
		{"Portable is never deactivated", failing(0, delivery.ProfilePortable, true), 96 * time.Hour, 72 * time.Hour, 1, false},
		{"already inactive", failing(0, "", false), 96 * time.Hour, 72 * time.Hour, 1, false},
		{"healthy", &store.Webhook{ID: "wh", Active: true}, 96 * time.Hour, 72 * time.Hour, 1, false},
		{"never deactivate", failing(0, "", true), 960 * time.Hour, -1, 1, false},
	}
	for _, tt := range tests {
		reason := deactivation(tt.health, t0.Add(tt.at), tt.disableAfter, delivery.Timeline{Scale: tt.scale}, "receiver answered HTTP 500")
		if (reason != "") != tt.deactivates {
			t.Errorf("%s: reason %q, want deactivation %v", tt.name, reason, tt.deactivates)
		}
		if tt.deactivates && (!strings.Contains(reason, "3 days") || !strings.HasSuffix(reason, "last error: receiver answered HTTP 500")) {
			t.Errorf("%s: reason %q does not say how long and why", tt.name, reason)
		}
	}
}

func TestDeferToOwner(t *testing.T) {
	t.Parallel()
	kept := func(token string, ago time.Duration) rivertype.AttemptError {
		return rivertype.AttemptError{At: t0.Add(-ago), Error: "delivery d: attempt made, " + keptMarker + token + " for the job's next run: disk full"}
	}
	other := rivertype.AttemptError{At: t0, Error: "delivery d: attempt interrupted: context canceled"}
	tests := []struct {
		name string
		errs []rivertype.AttemptError
		want bool
	}{
		{"first run", nil, false},
		{"last run failed otherwise", []rivertype.AttemptError{other}, false},
		{"kept here", []rivertype.AttemptError{kept("ME", time.Second)}, false},
		{"kept by another process", []rivertype.AttemptError{kept("YOU", time.Second)}, true},
		{"kept by another process long ago: taken as dead", []rivertype.AttemptError{kept("YOU", ownerWait)}, false},
		{"kept by another process, then a later failure", []rivertype.AttemptError{kept("YOU", time.Second), other}, false},
	}
	for _, tt := range tests {
		if got := deferToOwner(tt.errs, "ME", t0); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFaultDecisions: an attempt's faults are the seeded choice for its
// delivery id and attempt number, recorded on the attempt; a failure they
// may have caused does not count toward the webhook's health.
func TestFaultDecisions(t *testing.T) {
	t.Parallel()
	f := delivery.Faults{Seed: 5, Duplicate: 0.5, BadSignature: 0.5, ExtraFields: 0.5}
	wh := &store.Webhook{ID: "wh", Active: true, URL: "http://r/h"}
	tl := delivery.Timeline{}
	for i := range 20 {
		dl := &store.Delivery{ID: "d" + strings.Repeat("x", i), State: store.DeliveryRetrying, Attempts: i % 3,
			FirstAttemptAt: at(0), NextAttemptAt: at(0), Faults: f}
		p := planAttempt(dl, false, t0, tl)
		want := f.Decide(dl.ID, dl.Attempts+1)
		if p.faults != want || p.faults != planAttempt(dl, false, t0.Add(time.Hour), tl).faults {
			t.Fatalf("%s: planned %+v, the seed decides %+v", dl.ID, p.faults, want)
		}
		out := decideOutcome(dl, wh, false, p, delivery.Response{Status: 401}, t0, "", tl)
		if out.record.Attempt.Fault != delivery.FaultText(want.Kinds()) {
			t.Errorf("%s: recorded fault %q, want %q", dl.ID, out.record.Attempt.Fault, delivery.FaultText(want.Kinds()))
		}
		if got := countsForHealth(p, false); got != (len(want.Kinds()) == 0) {
			t.Errorf("%s: a failure with faults %v counts for health: %v", dl.ID, want.Kinds(), got)
		}
		if !countsForHealth(p, true) {
			t.Errorf("%s: a success always counts", dl.ID)
		}
	}
	plain := planAttempt(&store.Delivery{ID: "d", State: store.DeliveryPending}, false, t0, tl)
	if len(plain.faults.Kinds()) != 0 {
		t.Errorf("no faults asked, faults planned: %v", plain.faults.Kinds())
	}
}

package worker

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// This file is the worker's decision: pure functions of the delivery, its
// webhook, the job, the receiver's response and the clock. Work (worker.go)
// does the I/O around them.

// action is what a job run does before any request.
type action int

const (
	// actSend makes the attempt.
	actSend action = iota
	// actSkip ends the run: the delivery finished meanwhile (a manual
	// success, a cancel, a duplicate job).
	actSkip
	// actWait snoozes the job until the delivery's next attempt is due: the
	// run is early (a rescued or duplicated job).
	actWait
	// actCancelDelivery cancels the delivery: its webhook is gone or
	// inactive.
	actCancelDelivery
	// actCancelJob cancels the job alone: a manual attempt to a deleted
	// webhook, or a scheduled one of a delivery already finished.
	actCancelJob
)

// start is the decision taken before a request.
type start struct {
	action action
	// wait is how long to snooze, for actWait.
	wait time.Duration
	// why says why the delivery or the job is cancelled.
	why string
}

// decideStart decides what a run of a job does with delivery dl of webhook
// wh (nil when deleted) at time now.
func decideStart(dl *store.Delivery, wh *store.Webhook, manual bool, now time.Time) start {
	if !manual && dl.State.Terminal() {
		return start{action: actSkip}
	}
	if !manual && dl.NextAttemptAt != nil && now.Before(dl.NextAttemptAt.Add(-time.Millisecond)) {
		return start{action: actWait, wait: dl.NextAttemptAt.Sub(now)}
	}
	var why string
	switch {
	case wh == nil:
		why = "webhook was deleted"
	case !wh.Active && !manual:
		why = "webhook is inactive"
	default:
		return start{action: actSend}
	}
	if manual {
		return start{action: actCancelJob, why: why}
	}
	return start{action: actCancelDelivery, why: why}
}

// attemptPlan places an attempt on the delivery's schedule.
type attemptPlan struct {
	profile delivery.Profile
	// retry is the attempt's retry number: how many scheduled attempts came
	// before it (manual ones do not count).
	retry int
	// first is the real time of the schedule's first attempt: this one's
	// when it is the first.
	first time.Time
	// emulatedDelay is the emulated time since first the attempt was
	// scheduled for (for a manual attempt, the time since first).
	emulatedDelay time.Duration
	// due is the real time the attempt was due on the schedule; the
	// webhook's run of failures is measured with it, so that under a large
	// time scale the worker's own latency (at 1e6 a millisecond is 17
	// emulated minutes) does not count as failing time.
	due time.Time
	// faults are the faults this attempt makes on purpose (the delivery's
	// delivery.Faults decided for its attempt number); zero for none.
	faults delivery.FaultDecision
}

// planAttempt places an attempt of dl made at now on its schedule.
func planAttempt(dl *store.Delivery, manual bool, now time.Time, tl delivery.Timeline) attemptPlan {
	p := attemptPlan{profile: dl.Profile.OrDefault(), retry: dl.Attempts - dl.ManualAttempts, first: now}
	if dl.FirstAttemptAt != nil {
		p.first = dl.FirstAttemptAt.UTC()
	}
	switch {
	case manual:
		p.emulatedDelay = tl.Emulated(now.Sub(p.first))
	case p.retry > 0:
		p.emulatedDelay, _ = delivery.ScheduleFor(p.profile).Offset(p.retry)
	}
	p.due = p.first.Add(tl.Real(p.emulatedDelay))
	// A pure function of the seed, the delivery id and the attempt number:
	// the same seed makes the same faults.
	p.faults = dl.Faults.Decide(dl.ID, dl.Attempts+1)
	return p
}

// countsForHealth reports whether an attempt's outcome counts toward its
// webhook's health: a failure that a fault may have caused (a wrong
// signature, an unknown field, a delay) is not the receiver's, and does not
// bring the webhook closer to deactivation.
func countsForHealth(p attemptPlan, ok bool) bool {
	return ok || len(p.faults.Kinds()) == 0
}

// failure says why resp is not a success for profile p, "" when it is one.
func failure(resp delivery.Response, p delivery.Profile) string {
	switch {
	case resp.Err != nil:
		return resp.Err.Error()
	case !resp.OK(p):
		return fmt.Sprintf("receiver answered HTTP %d", resp.Status)
	}
	return ""
}

// outcome is the decision taken after a request: the attempt, the
// delivery's new state and, when it is left retrying, the real time its next
// scheduled attempt is due (record.NextAttemptAt), until which the job
// snoozes.
type outcome struct {
	record store.AttemptRecordParams
}

// decideOutcome decides what becomes of delivery dl, attempted at now
// (planned as p) to webhook wh with response resp. deactivated is the
// reason the attempt's failure deactivated the webhook, "" when it did not
// (see deactivation).
func decideOutcome(dl *store.Delivery, wh *store.Webhook, manual bool, p attemptPlan, resp delivery.Response, now time.Time, deactivated string, tl delivery.Timeline) outcome {
	ok := resp.OK(p.profile)
	attempt := store.Attempt{
		DeliveryID:      dl.ID,
		Manual:          manual,
		URL:             wh.URL,
		StartedAt:       now,
		EmulatedDelay:   p.emulatedDelay,
		RequestHeaders:  wh.Signing.Redact(resp.RequestHeader), // a token is a secret; signatures are not
		StatusCode:      resp.Status,
		Latency:         resp.Latency,
		ResponseHeaders: resp.Header,
		ResponseExcerpt: resp.Excerpt,
		Succeeded:       ok,
		Error:           failure(resp, p.profile),
		Fault:           delivery.FaultText(p.faults.Kinds()),
	}
	if deactivated != "" {
		attempt.Error += "; " + deactivated
	}
	first := p.first
	out := outcome{record: store.AttemptRecordParams{
		Attempt:        attempt,
		State:          dl.State,
		FirstAttemptAt: &first,
		NextAttemptAt:  dl.NextAttemptAt,
		UpdatedAt:      now,
	}}
	r := &out.record
	if manual {
		r.FirstAttemptAt = dl.FirstAttemptAt // a manual attempt does not start the schedule
		if ok {
			r.State, r.NextAttemptAt = store.DeliverySucceeded, nil
		}
		return out
	}
	switch {
	case ok:
		r.State, r.NextAttemptAt = store.DeliverySucceeded, nil
	case deactivated != "":
		// This failure deactivated the webhook: no more retries.
		r.State, r.NextAttemptAt = store.DeliveryCancelled, nil
	default:
		offset, within := delivery.ScheduleFor(p.profile).Offset(p.retry + 1)
		if !within {
			r.State, r.NextAttemptAt = store.DeliveryFailed, nil
			break
		}
		next := first.Add(tl.Real(offset))
		r.State, r.NextAttemptAt = store.DeliveryRetrying, &next
	}
	return out
}

// deactivation decides whether a failed attempt at time at (on the
// schedule) deactivates the webhook whose health, after recording the
// failure, is health: when it is an active Fivetran-profile webhook (Portable
// publishes no such rule) that has failed every attempt for disableAfter
// emulated time (0 or less: never). It returns the DisabledReason, "" when
// the webhook stays active.
func deactivation(health *store.Webhook, at time.Time, disableAfter time.Duration, tl delivery.Timeline, lastError string) string {
	if disableAfter <= 0 || !health.Active || health.FailingSince == nil ||
		health.Profile.OrDefault() != delivery.ProfileFivetran {
		return ""
	}
	if tl.Emulated(at.Sub(*health.FailingSince)) < disableAfter {
		return ""
	}
	return fmt.Sprintf("deactivated by standin: every delivery failed for %s (emulated) since %s; last error: %s",
		emulatedSpan(disableAfter), delivery.FivetranTime(*health.FailingSince), lastError)
}

// keptMarker is in the error of a job run that made its attempt but could
// not record it (see Deliverer.finish), followed by the token of the worker
// that keeps the attempt.
const keptMarker = "recording kept by worker "

// ownerWait is how long other worker processes leave a job to the process
// that keeps its unrecorded attempt, after which they take it as dead and
// make the attempt again.
const ownerWait = time.Minute

// ownerSnooze is how long a run that leaves its job to another process
// snoozes it.
const ownerSnooze = time.Second

// deferToOwner decides whether a run of a job leaves it to another worker
// process: when the job's last run, less than ownerWait before now, made its
// attempt but could not record it, and a worker other than token (this
// one's) keeps it. River may hand the job to any process; only the keeper
// can record the attempt without sending it again.
func deferToOwner(errs []rivertype.AttemptError, token string, now time.Time) bool {
	if len(errs) == 0 {
		return false
	}
	last := errs[len(errs)-1]
	_, owner, found := strings.Cut(last.Error, keptMarker)
	if !found {
		return false
	}
	owner, _, _ = strings.Cut(owner, " ")
	return owner != token && now.Sub(last.At) < ownerWait
}

// AttemptLogMessage is the message of the INFO line logged once per
// delivery attempt (see attemptLogAttrs).
const AttemptLogMessage = "delivery attempt"

// attemptLogAttrs are the fields of the one INFO line a person reads per
// delivery attempt of dl (attempt number n, 1-based, counting manual ones)
// that ended as out.record: which delivery, webhook and event, the retry
// number, the receiver's status and latency, the outcome and, when retrying,
// the next attempt: its place on the sender's schedule (emulated time since
// the first attempt), how far away it is in emulated and in real time, and
// when (real clock).
func attemptLogAttrs(dl *store.Delivery, n int, p attemptPlan, out outcome, now time.Time, tl delivery.Timeline) []slog.Attr {
	a := out.record.Attempt
	attrs := []slog.Attr{
		slog.String("delivery", dl.ID),
		slog.String("webhook", dl.WebhookID),
		slog.String("event", dl.EventName),
		slog.String("event_id", dl.EventID),
		slog.Int("attempt", n),
		slog.Int("retry", p.retry),
		slog.Bool("manual", a.Manual),
		slog.Int("status", a.StatusCode),
		slog.Duration("latency", a.Latency.Round(time.Microsecond)),
		slog.String("outcome", string(out.record.State)),
	}
	if a.Error != "" {
		attrs = append(attrs, slog.String("error", a.Error))
	}
	if next := out.record.NextAttemptAt; next != nil && out.record.State == store.DeliveryRetrying && !a.Manual {
		wait := max(next.Sub(now), 0)
		attrs = append(attrs,
			slog.Duration("next_retry_offset_emulated", tl.Emulated(next.Sub(p.first)).Round(time.Second)),
			slog.Duration("next_retry_in_emulated", tl.Emulated(wait).Round(time.Second)),
			slog.Duration("next_retry_in_real", wait.Round(time.Millisecond)),
			slog.Time("next_retry_at", next.UTC()))
	}
	return attrs
}

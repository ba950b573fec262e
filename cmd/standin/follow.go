package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/client"
)

// defaultPollInterval is how often --wait asks the API about deliveries.
const defaultPollInterval = 250 * time.Millisecond

// waitFlags are the flags of commands that can follow deliveries.
type waitFlags struct {
	wait         bool
	timeout      time.Duration
	pollInterval time.Duration
}

func (f *waitFlags) add(cmd *cobra.Command, what string) {
	fl := cmd.Flags()
	fl.BoolVar(&f.wait, "wait", false, "follow "+what+" until every delivery is final (succeeded, failed or cancelled), showing each attempt and the next retry in emulated and real time; Ctrl-C stops waiting (exit 130)")
	fl.DurationVar(&f.timeout, "wait-timeout", 0, "with --wait, give up after this long (exit 1); 0 waits as long as the retries go on")
	fl.DurationVar(&f.pollInterval, "poll-interval", defaultPollInterval, "with --wait, how often to ask standin about the deliveries")
	_ = fl.MarkHidden("poll-interval")
}

func (f *waitFlags) validate() error {
	if f.pollInterval <= 0 {
		return usageErr("--poll-interval must be positive")
	}
	if f.timeout < 0 {
		return usageErr("--wait-timeout must not be negative")
	}
	return nil
}

// context returns ctx bounded by --wait-timeout.
func (f *waitFlags) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.timeout > 0 {
		return context.WithTimeout(ctx, f.timeout)
	}
	return context.WithCancel(ctx)
}

// follower polls deliveries through the API and prints their progress: each
// new attempt, each change of state and when the next retry is due.
type follower struct {
	client   *client.Client
	out      io.Writer
	interval time.Duration
	now      func() time.Time
	// known holds deliveries as the caller already showed them, by id: their
	// attempts and state are not reported again.
	known map[string]client.Delivery
	// discover, when set, is asked on every poll for more deliveries to
	// follow (an event emitted later, such as a simulated sync's sync_end);
	// following ends only once it reports complete.
	discover func(ctx context.Context) (ids []string, complete bool, err error)
}

// followed is what the follower last saw of one delivery.
type followed struct {
	id     string
	label  string
	detail *client.DeliveryDetail
	// raw is the data of the last GET /standin/v1/deliveries/{id}.
	raw      json.RawMessage
	attempts int
	state    string
	done     bool
}

// follow polls the deliveries until done reports true for every one of
// them (nil done: until each is final) and discover, if set, is complete.
// It returns what it last saw of each delivery, in the order they were
// given or discovered. When ctx ends first it returns what it has with
// ctx.Err().
func (f *follower) follow(ctx context.Context, ids []string, done func(*client.DeliveryDetail) bool) ([]*followed, error) {
	if done == nil {
		done = func(d *client.DeliveryDetail) bool { return client.Final(d.Delivery.State) }
	}
	var seen []*followed
	add := func(ids []string) {
		for _, id := range ids {
			s := &followed{id: id}
			if d, ok := f.known[id]; ok {
				s.attempts, s.state = d.Attempts, d.State
			}
			seen = append(seen, s)
		}
	}
	add(ids)
	complete := f.discover == nil
	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		if !complete {
			more, c, err := f.discover(ctx)
			if err != nil {
				return seen, err
			}
			add(more)
			complete = c
		}
		pending := 0
		for _, s := range seen {
			if s.done {
				continue
			}
			resp, err := f.client.GetDelivery(ctx, s.id)
			if err != nil {
				return seen, err
			}
			if resp.Data.Delivery.Attempts != len(resp.Data.Attempts) {
				// The delivery row was read before an attempt that the
				// attempt list already has: wait for a consistent view.
				pending++
				continue
			}
			f.report(s, &resp.Data)
			s.raw = resp.Raw
			if s.done = done(s.detail); !s.done {
				pending++
			}
		}
		if pending == 0 && complete {
			return seen, nil
		}
		select {
		case <-ctx.Done():
			return seen, ctx.Err()
		case <-ticker.C:
		}
	}
}

// details returns the last detail of each followed delivery (nil when it
// was never fetched).
func details(seen []*followed) []*client.DeliveryDetail {
	out := make([]*client.DeliveryDetail, len(seen))
	for i, s := range seen {
		out[i] = s.detail
	}
	return out
}

// raws returns the last raw detail of each followed delivery, skipping the
// ones never fetched.
func raws(seen []*followed) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(seen))
	for _, s := range seen {
		if s.raw != nil {
			out = append(out, s.raw)
		}
	}
	return out
}

// report prints what changed in d since s was recorded, and records d.
func (f *follower) report(s *followed, d *client.DeliveryDetail) {
	dl := d.Delivery
	if s.label == "" {
		s.label = dl.Event + " → " + dl.WebhookID
	}
	retry := 0 // scheduled attempts before the one at hand
	for i, at := range d.Attempts {
		if i >= s.attempts {
			fmt.Fprintf(f.out, "  %s  %s\n", s.label, describeAttempt(at, retry))
		}
		if !at.Manual {
			retry++
		}
	}
	next := ""
	if len(d.Attempts) > 0 && !client.Final(dl.State) {
		next = describeNext(d, f.now())
	}
	switch {
	case dl.State != s.state && client.Final(dl.State):
		fmt.Fprintf(f.out, "  %s  %s\n", s.label, describeFinal(d))
	case next != "" && (dl.State != s.state || len(d.Attempts) != s.attempts):
		fmt.Fprintf(f.out, "  %s  %s\n", s.label, next)
	}
	s.detail, s.attempts, s.state = d, len(d.Attempts), dl.State
}

// describeAttempt is one line about one attempt; retry is the number of
// scheduled attempts before it.
func describeAttempt(at client.Attempt, retry int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "attempt %d", at.Number)
	switch {
	case at.Manual:
		b.WriteString(" (manual redelivery)")
	case retry == 0:
		b.WriteString(" (first)")
	default:
		fmt.Fprintf(&b, " (retry %d, +%s emulated)", retry, fmtDuration(at.EmulatedDelay))
	}
	if at.Status == 0 {
		fmt.Fprintf(&b, ": no response: %s", orDash(at.Error))
		return b.String()
	}
	verdict := "refused"
	if at.Succeeded {
		verdict = "accepted"
	}
	fmt.Fprintf(&b, ": HTTP %d %s, %s in %s", at.Status, http.StatusText(at.Status), verdict, fmtDuration(at.Latency))
	return b.String()
}

// describeNext says when the next scheduled attempt of d is due, in
// emulated and real time. The emulated offset of retry n from the first
// attempt is the profile's schedule (the same pure function the worker
// uses, which also gave each attempt its emulated_delay); the real time is
// the delivery's next_attempt_at. The worker puts retry n at first attempt
// + offset/scale, so the time scale is offset / (next_attempt_at −
// first_attempt_at), and the emulated wait is the real wait times it.
func describeNext(d *client.DeliveryDetail, now time.Time) string {
	dl := d.Delivery
	if dl.NextAttemptAt == nil {
		return ""
	}
	realIn := max(dl.NextAttemptAt.Sub(now), 0)
	at := dl.NextAttemptAt.Local().Format("15:04:05.000")
	retries := 0 // scheduled attempts made: the next is retry number retries
	var last *client.Attempt
	for i := range d.Attempts {
		if !d.Attempts[i].Manual {
			retries++
			last = &d.Attempts[i]
		}
	}
	if retries == 0 {
		return fmt.Sprintf("first attempt due in %s (at %s)", fmtDuration(realIn), at)
	}
	schedule := delivery.ScheduleFor(delivery.Profile(dl.Profile))
	offset, ok := schedule.Offset(retries)
	if !ok {
		return fmt.Sprintf("next attempt in %s real (at %s)", fmtDuration(realIn), at)
	}
	head := fmt.Sprintf("retry %d of %d due at +%s emulated", retries, len(schedule.Offsets()), fmtDuration(offset))
	// The scale from the first attempt; without it, from the last one.
	interval, realInterval := offset, time.Duration(0)
	if dl.FirstAttemptAt != nil {
		realInterval = dl.NextAttemptAt.Sub(*dl.FirstAttemptAt)
	} else {
		interval -= last.EmulatedDelay
		realInterval = dl.NextAttemptAt.Sub(last.StartedAt)
	}
	if interval <= 0 || realInterval <= 0 {
		return fmt.Sprintf("%s: in %s real (at %s)", head, fmtDuration(realIn), at)
	}
	scale := float64(interval) / float64(realInterval)
	emulatedIn := time.Duration(float64(realIn) * scale)
	return fmt.Sprintf("%s: in %s emulated, %s real (at %s, time scale %s)",
		head, fmtDuration(emulatedIn), fmtDuration(realIn), at, fmtScale(scale))
}

// fmtScale prints a time scale rounded to what people can read: ×60,
// ×3600, ×1.
func fmtScale(scale float64) string {
	switch {
	case scale >= 10:
		return fmt.Sprintf("×%.0f", scale)
	case scale >= 1:
		return fmt.Sprintf("×%.1f", scale)
	}
	return fmt.Sprintf("×%.3g", scale)
}

// describeFinal is the line about a delivery that reached a final state.
func describeFinal(d *client.DeliveryDetail) string {
	dl := d.Delivery
	n := plural(dl.Attempts, "attempt")
	switch dl.State {
	case client.StateSucceeded:
		return "succeeded after " + n
	case client.StateFailed:
		return "failed after " + n + ": the retry window closed"
	}
	if dl.LastError != "" {
		return fmt.Sprintf("%s after %s: %s", dl.State, n, dl.LastError)
	}
	return dl.State + " after " + n
}

// plural writes "1 attempt", "2 attempts"; nouns ending in y take "ies".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if s, ok := strings.CutSuffix(noun, "y"); ok {
		return fmt.Sprintf("%d %sies", n, s)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// summarize counts final states, e.g. "2 deliveries: 1 succeeded, 1 failed",
// and returns an exitUndelivered error when any did not succeed.
func summarize(out io.Writer, ds []*client.DeliveryDetail) error {
	counts := map[string]int{}
	for _, d := range ds {
		if d != nil {
			counts[d.Delivery.State]++
		}
	}
	return summarizeCounts(out, len(ds), counts)
}

// summarizeCounts prints describeCounts(total, counts) and returns an
// exitUndelivered error when any delivery failed or was cancelled.
func summarizeCounts(out io.Writer, total int, counts map[string]int) error {
	fmt.Fprintln(out, describeCounts(total, counts))
	if bad := counts[client.StateFailed] + counts[client.StateCancelled]; bad > 0 {
		return &exitError{code: exitUndelivered, err: fmt.Errorf("%d of %s did not succeed", bad, plural(total, "delivery"))}
	}
	return nil
}

// describeCounts says how many of total deliveries are in each state, e.g.
// "2 deliveries: 1 succeeded, 1 failed"; counts holds them by state.
func describeCounts(total int, counts map[string]int) string {
	var parts []string
	for _, st := range []string{client.StateSucceeded, client.StateFailed, client.StateCancelled, client.StateRetrying, client.StatePending} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	return fmt.Sprintf("%s: %s", plural(total, "delivery"), strings.Join(parts, ", "))
}

// waitError turns the error that ended a wait into the command's error:
// Ctrl-C is exit 130, --wait-timeout exit 1, both naming how many
// deliveries were still under way.
func waitError(err error, timeout time.Duration, ds []*client.DeliveryDetail) error {
	open := 0
	for _, d := range ds {
		if d == nil || !client.Final(d.Delivery.State) {
			open++
		}
	}
	return waitErrorOpen(err, timeout, open)
}

// waitErrorOpen is waitError when open deliveries were not final yet.
func waitErrorOpen(err error, timeout time.Duration, open int) error {
	switch {
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted: %s not final yet (see standin deliveries list)", plural(open, "delivery"))}
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("--wait-timeout %s: %s not final yet", timeout, plural(open, "delivery"))
	}
	return err
}

// followDeliveries follows ids, and those discover finds, until they are
// final, prints a summary and returns what it saw with the command's error:
// nil when every delivery succeeded.
func followDeliveries(ctx context.Context, c *client.Client, w io.Writer, wf *waitFlags, ids []string,
	discover func(context.Context) ([]string, bool, error)) ([]*followed, error) {
	if len(ids) == 0 && discover == nil {
		return nil, nil
	}
	ctx, cancel := wf.context(ctx)
	defer cancel()
	printTimeScale(ctx, c, w)
	if discover == nil {
		fmt.Fprintf(w, "Waiting for %s (Ctrl-C stops waiting; delivery goes on)…\n", plural(len(ids), "delivery"))
	}
	f := &follower{client: c, out: w, interval: wf.pollInterval, now: time.Now, discover: discover}
	seen, err := f.follow(ctx, ids, nil)
	if err != nil {
		return seen, waitError(err, wf.timeout, details(seen))
	}
	if len(seen) == 0 {
		return seen, nil
	}
	return seen, summarize(w, details(seen))
}

// printTimeScale writes the time scale the deployment's delivery workers
// retry with (GET /standin/v1/stats), so that a wait's length can be read;
// nothing when the server does not say.
func printTimeScale(ctx context.Context, c *client.Client, w io.Writer) {
	resp, err := c.Stats(ctx)
	if err != nil || resp.Data.TimeScale <= 0 {
		return
	}
	fmt.Fprintf(w, "Workers' time scale: %s\n", describeScale(resp.Data.TimeScale))
}

// listPageSize is the page size of the lists --wait reads: the API's most.
const listPageSize = 1000

// bulkProgressEvery is how often, at most, following many deliveries prints
// a progress line.
const bulkProgressEvery = time.Second

// bulkShownBad is how many failed or cancelled deliveries following many
// deliveries names one by one.
const bulkShownBad = 10

// bulkWindow is one batch of emitted events: the creation time range and
// event name that list its deliveries, and those not final yet.
type bulkWindow struct {
	event        string
	since, until time.Time
	open         map[string]*client.EmittedDelivery
}

// bulkFollower follows the deliveries of many emitted events (trigger
// --count). Instead of one GET per delivery per poll, it lists the
// deliveries of each batch that still has open ones, by event name and
// creation time (a delivery is created at its event's created_at), a
// thousand a page; a delivery a complete list misses is fetched by id.
type bulkFollower struct {
	client  *client.Client
	out     io.Writer
	windows []*bulkWindow
	// total is the number of deliveries, open those not final yet.
	total, open int
	// counts holds the deliveries by the state last seen.
	counts map[string]int
	// bad counts the deliveries seen ending failed or cancelled.
	bad int
}

// newBulkFollower follows the deliveries of events, which it updates with
// the states it sees: one window per batch of server.MaxEmitBatch events,
// as trigger --count emits them (a batch's events share their created_at).
func newBulkFollower(c *client.Client, out io.Writer, events []client.EmittedEvent) *bulkFollower {
	b := &bulkFollower{client: c, out: out, counts: map[string]int{}}
	for start := 0; start < len(events); start += server.MaxEmitBatch {
		batch := events[start:min(start+server.MaxEmitBatch, len(events))]
		w := &bulkWindow{event: batch[0].Event, since: batch[0].CreatedAt, until: batch[0].CreatedAt,
			open: map[string]*client.EmittedDelivery{}}
		for i := range batch {
			ev := &batch[i]
			if ev.Event != w.event {
				w.event = ""
			}
			if ev.CreatedAt.Before(w.since) {
				w.since = ev.CreatedAt
			}
			if ev.CreatedAt.After(w.until) {
				w.until = ev.CreatedAt
			}
			for j := range ev.Deliveries {
				d := &ev.Deliveries[j]
				b.total++
				b.counts[d.State]++
				if !client.Final(d.State) {
					w.open[d.ID] = d
					b.open++
				}
			}
		}
		// The API writes created_at in milliseconds, rounded down.
		w.until = w.until.Add(time.Millisecond)
		if len(w.open) > 0 {
			b.windows = append(b.windows, w)
		}
	}
	return b
}

// bulkPollShare bounds the share of the time following many deliveries
// spends polling: after a poll that took d, the next comes after at least
// d*(1/bulkPollShare - 1), so a large wait does not load the standin under
// test with lists.
const bulkPollShare = 0.2

// follow polls every interval, or less often when polling takes longer
// than bulkPollShare of the time, until each delivery is final or ctx
// ends. It prints a line about each of the first deliveries that end
// failed or cancelled and, when the counts changed, a progress line at
// most every bulkProgressEvery.
func (b *bulkFollower) follow(ctx context.Context, interval time.Duration) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var printed string
	lastPrint := time.Now()
	for {
		start := time.Now()
		for _, w := range b.windows {
			if len(w.open) == 0 {
				continue
			}
			if err := b.poll(ctx, w); err != nil {
				return err
			}
		}
		if b.open == 0 {
			return nil
		}
		if line := describeCounts(b.total, b.counts); line != printed && time.Since(lastPrint) >= bulkProgressEvery {
			fmt.Fprintf(b.out, "  %s\n", line)
			printed, lastPrint = line, time.Now()
		}
		took := time.Since(start)
		timer.Reset(max(interval, time.Duration(float64(took)*(1/bulkPollShare-1))))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// poll reads the deliveries of w that are not final yet: it lists w's
// deliveries page by page until it saw them all, and gets those the list
// did not have.
func (b *bulkFollower) poll(ctx context.Context, w *bulkWindow) error {
	missing := maps.Clone(w.open)
	f := client.DeliveryFilter{Event: w.event, Since: w.since, Until: w.until, Limit: listPageSize}
	for len(missing) > 0 {
		resp, err := b.client.ListDeliveries(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range resp.Data.Items {
			if _, ok := missing[d.ID]; ok {
				delete(missing, d.ID)
				b.update(w, d)
			}
		}
		if f.Cursor = resp.Data.NextCursor; f.Cursor == "" {
			break
		}
	}
	for id := range missing {
		resp, err := b.client.GetDelivery(ctx, id)
		if err != nil {
			return err
		}
		b.update(w, resp.Data.Delivery)
	}
	return nil
}

// update records what was seen of d, one of w's open deliveries.
func (b *bulkFollower) update(w *bulkWindow, d client.Delivery) {
	ed := w.open[d.ID]
	if d.State != ed.State {
		b.counts[ed.State]--
		b.counts[d.State]++
		ed.State = d.State
	}
	if !client.Final(d.State) {
		return
	}
	delete(w.open, d.ID)
	b.open--
	if d.State == client.StateSucceeded {
		return
	}
	switch {
	case b.bad < bulkShownBad:
		fmt.Fprintf(b.out, "  %s → %s  delivery %s %s\n", d.Event, d.WebhookID, d.ID, describeFinal(&client.DeliveryDetail{Delivery: d}))
	case b.bad == bulkShownBad:
		fmt.Fprintln(b.out, "  … and more that did not succeed (see standin deliveries list --status failed, or cancelled)")
	}
	b.bad++
}

// states returns the number of deliveries in each state, without zeros.
func (b *bulkFollower) states() map[string]int {
	out := map[string]int{}
	for st, n := range b.counts {
		if n > 0 {
			out[st] = n
		}
	}
	return out
}

// followMany follows every delivery of events (trigger --count with
// --wait) until it is final, updating their states in events, prints a
// summary and returns the deliveries by final state with the command's
// error: nil when every delivery succeeded.
func followMany(ctx context.Context, c *client.Client, w io.Writer, wf *waitFlags, events []client.EmittedEvent) (map[string]int, error) {
	b := newBulkFollower(c, w, events)
	if b.total == 0 {
		return b.states(), nil
	}
	ctx, cancel := wf.context(ctx)
	defer cancel()
	printTimeScale(ctx, c, w)
	fmt.Fprintf(w, "Waiting for %s of %s (Ctrl-C stops waiting; delivery goes on)…\n",
		plural(b.total, "delivery"), plural(len(events), "event"))
	if err := b.follow(ctx, wf.pollInterval); err != nil {
		return b.states(), waitErrorOpen(err, wf.timeout, b.open)
	}
	return b.states(), summarizeCounts(w, b.total, b.counts)
}

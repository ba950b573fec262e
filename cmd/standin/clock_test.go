package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// TestClockManualSync runs a simulated sync under the manual clock: sync_start
// goes out at once, and sync_end only when an advance reaches its end, at
// exactly the sync's duration, before the advance returns.
func TestClockManualSync(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t, testkit.Config{ManualClock: true})
	rcv := testkit.NewReceiver(t, "s")
	newWebhook(t, st, rcv.URL, "s")

	show := ok(t, api(st, "clock", "show")...)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(manual clock, time scale 1\)\n$`).MatchString(show.stdout) {
		t.Fatalf("clock show:\n%s", show)
	}
	t0 := st.Now()
	ok(t, api(st, "sync", "assimilate_seem", "--duration", "5m")...)

	r := ok(t, api(st, "clock", "advance", "4m")...)
	if strings.Contains(r.stdout, "sync_end") {
		t.Fatalf("sync_end fired before its time:\n%s", r)
	}
	r = ok(t, api(st, "clock", "advance", "1d")...)
	want := t0.Add(5 * time.Minute).Format(clockFormat)
	if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(want) + `\s+\+1m0s\s+sync_end\s+[0-9a-f-]{36}$`).MatchString(r.stdout) {
		t.Fatalf("advance 1d does not show sync_end firing at %s:\n%s", want, r)
	}
	reqs := rcv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want sync_start and sync_end", len(reqs))
	}
	var end struct {
		Event   string    `json:"event"`
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(reqs[1].Body, &end); err != nil {
		t.Fatal(err)
	}
	if end.Event != "sync_end" || !end.Created.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("second request: %s created %v, want sync_end created %v", end.Event, end.Created, t0.Add(5*time.Minute))
	}
	if got := st.Now(); !got.Equal(t0.Add(4*time.Minute + 24*time.Hour)) {
		t.Errorf("clock at %v, want %v", got, t0.Add(4*time.Minute+24*time.Hour))
	}
}

// TestClockRefusals: a real clock cannot be moved, and contradictory serve
// flags are refused before anything starts.
func TestClockRefusals(t *testing.T) {
	t.Parallel()
	st := fast(t)
	r := cli(t, api(st, "clock", "advance", "6m")...)
	if r.code != 1 || !strings.Contains(r.stderr, "Conflict: The clock is real and cannot be moved") {
		t.Errorf("advance on a real clock: %s", r)
	}
	for _, args := range [][]string{
		{"serve", "--clock", "manual", "--time-scale", "60"},
		{"serve", "--clock", "manual", "--role", "worker"},
		{"serve", "--clock", "sundial"},
	} {
		if r := cli(t, args...); r.code != 2 || !strings.Contains(r.stderr, "--clock") {
			t.Errorf("%v: %s", args, r)
		}
	}
}

// TestWebhooksUpdateRotationWindow opens a rotation window from the command
// line and shows it.
func TestWebhooksUpdateRotationWindow(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t, testkit.Config{ManualClock: true})
	id := newWebhook(t, st, "http://127.0.0.1:1/hook", "old")
	r := ok(t, api(st, "webhooks", "update", id, "--secret", "new", "--rotation-window", "1d", "--sign-with", "old", "-o", "json")...)
	var wh struct {
		SecretRotation struct {
			Until    time.Time `json:"until"`
			SignWith string    `json:"sign_with"`
		} `json:"secret_rotation"`
	}
	decodeJSON(t, r, &wh)
	if want := st.Now().Add(24 * time.Hour); !wh.SecretRotation.Until.Equal(want) || wh.SecretRotation.SignWith != "old" {
		t.Errorf("secret_rotation %+v, want until %v, sign_with old\n%s", wh.SecretRotation, want, r)
	}
}

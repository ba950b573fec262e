package inspector_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/testkit"
)

// browser starts headless Chromium for the test and returns its context.
// The test is skipped when Chromium is missing, except under CI=true.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{os.Getenv("STANDIN_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (apt-get install -y chromium); browser tests are required under CI=true")
		}
		t.Skip("chromium is not installed; install it (apt-get install -y chromium) to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

func ptr[T any](v T) *T { return &v }

// screenshots is where the test saves its screenshots: $STANDIN_SCREENSHOTS
// when set (CI keeps it as an artifact), else a temporary directory.
func screenshots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("STANDIN_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// do runs steps with a deadline of its own; on failure it saves
// failure.png and the page's text, then fails the test.
func do(t *testing.T, ctx context.Context, dir string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(sctx, steps...)
	if err == nil {
		return
	}
	shoot(t, ctx, dir, "failure.png")
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + "\n" + document.body.innerText`))
	t.Fatalf("browser steps failed: %v\npage:\n%s", err, text)
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", name)
	file := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(file, png, 0o644))
	t.Logf("screenshot %s (%d bytes)", file, len(png))
}

// TestBrowser drives the inspector in headless Chromium: every page loads,
// a delivery emitted through the API appears live with its retries, the
// redeliver button makes another attempt that appears live, an event is
// emitted from the page, and the receiver check runs from the page.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	dir := screenshots(t)

	// A time scale of 2000 walks Fivetran's first retries (6 and 27.6
	// emulated minutes) in under a second.
	sd := testkit.Start(t, testkit.Config{TimeScale: 2000})
	rcv := testkit.NewReceiver(t, "s3cret")
	wh := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_start", "sync_end"}, Secret: "s3cret"})
	down := testkit.NewReceiver(t, "other")
	down.Close() // refuses connections: its deliveries keep retrying
	downHook := sd.CreateWebhook(testkit.WebhookParams{URL: down.URL + "/hooks", Events: []string{"sync_end"}, Secret: "other"})

	// Deliveries: the page is live before anything happens.
	do(t, ctx, dir,
		chromedp.Navigate(sd.URL+"/#/deliveries"),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
		chromedp.WaitVisible(`//main//p[contains(., "No deliveries yet")]`),
	)
	paint, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const p = performance.getEntriesByName("first-contentful-paint")[0];
		return p ? p.startTime : -1; })()`))
	require.NoError(t, err)
	weight, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		let n = nav.decodedBodySize;
		for (const r of performance.getEntriesByType("resource")) if (r.name.includes("/ui/")) n += r.decodedBodySize;
		return n; })()`))
	require.NoError(t, err)
	t.Logf("inspector: first contentful paint %.0f ms, page weight %.0f bytes (HTML, CSS, JS, settings; uncompressed)", paint, weight)
	require.Positive(t, paint, "the page painted")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "inspector-measurements.txt"),
		fmt.Appendf(nil, "first_contentful_paint_ms %.0f\npage_weight_bytes %.0f\n", paint, weight), 0o644))

	// A delivery that fails twice, then succeeds, appears without a reload.
	rcv.FailFirst(2, http.StatusServiceUnavailable)
	em := sd.Emit(testkit.Event{Event: "sync_end", ConnectorID: "c1", GroupID: "g1"})
	var okID string
	for _, d := range em.Deliveries {
		if d.WebhookID == wh.ID {
			okID = d.ID
		}
	}
	require.NotEmpty(t, okID)
	row := fmt.Sprintf(`tr[data-id=%q]`, okID)
	do(t, ctx, dir, chromedp.WaitVisible(chromedp.CSS(row+` .s-succeeded`))) // the delivery appears, then succeeds, live
	_, attempts := sd.AwaitDelivery(ctx, okID)
	require.Len(t, attempts, 3)
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		fmt.Sprintf(`[...document.querySelectorAll('%s td')].map(td => td.textContent)`, row)))
	require.NoError(t, err)
	require.Equal(t, []string{okID, "sync_end", wh.ID, "succeeded", "3", "200"}, cells[:6])
	sd.Emit(testkit.Event{Event: "sync_start", ConnectorID: "c1", GroupID: "g1"})
	do(t, ctx, dir, chromedp.WaitVisible(`//tbody/tr/td[2][.="sync_start"]`))
	shoot(t, ctx, dir, "deliveries.png")

	// Filtering by state uses the form.
	do(t, ctx, dir,
		chromedp.SetValue(chromedp.CSS(`select[name=status]`), "retrying"),
		chromedp.Click(chromedp.CSS(`form.bar button[type=submit]`)),
		chromedp.WaitVisible(`//caption[contains(., "in state retrying")]`),
	)
	states, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('tbody tr td:nth-child(4)')].map(td => td.textContent)`))
	require.NoError(t, err)
	require.NotEmpty(t, states)
	for _, s := range states {
		require.Equal(t, "retrying", s)
	}
	shoot(t, ctx, dir, "deliveries-retrying.png")

	// The delivery page: request, signature, attempts, timeline.
	do(t, ctx, dir,
		chromedp.Navigate(sd.URL+"/#/deliveries/"+okID),
		chromedp.WaitVisible(chromedp.CSS(`#redeliver`)),
		chromedp.WaitVisible(chromedp.CSS(`section[aria-label="Attempt 3"]`)),
		chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)),
	)
	sig, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.sig td`)))
	require.NoError(t, err)
	circles, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(document.querySelectorAll('figure.chart circle').length)`))
	require.NoError(t, err)
	planned, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`figure.chart figcaption`)))
	require.NoError(t, err)
	require.Equal(t, attempts[2].RequestHeaders.Get("X-Fivetran-Signature-256"), sig, "the signature sent is shown")
	require.Equal(t, "3", circles, "one dot per scheduled attempt")
	require.Contains(t, planned, "#2: planned +6m", "the planned offset of the first retry")
	shoot(t, ctx, dir, "delivery.png")

	// Redeliver: a fourth attempt appears live.
	do(t, ctx, dir,
		chromedp.Click(chromedp.CSS(`#redeliver`)),
		chromedp.WaitVisible(`//p[@id="msg"][.="Redelivery queued."]`),
		chromedp.WaitVisible(chromedp.CSS(`section[aria-label="Attempt 4"]`)),
	)
	_, attempts = sd.AwaitAttempts(ctx, okID, 4)
	require.True(t, attempts[3].Manual)
	h4, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`section[aria-label="Attempt 4"] h4`)))
	require.NoError(t, err)
	require.Contains(t, h4, "Attempt 4 (redelivery)")
	shoot(t, ctx, dir, "delivery-redelivered.png")

	// A retrying delivery shows its next retry and can be cancelled.
	var retryingID string
	for _, d := range em.Deliveries {
		if d.WebhookID != wh.ID {
			retryingID = d.ID
		}
	}
	do(t, ctx, dir,
		chromedp.Navigate(sd.URL+"/#/deliveries/"+retryingID),
		chromedp.WaitVisible(`//figcaption[contains(., "next retry due")]`),
	)
	shoot(t, ctx, dir, "delivery-retrying.png")
	do(t, ctx, dir,
		chromedp.Click(chromedp.CSS(`#cancel`)),
		chromedp.WaitVisible(`//dd/span[.="cancelled"]`),
	)

	// Events: emit one from the page; it appears live.
	do(t, ctx, dir,
		chromedp.Navigate(sd.URL+"/#/events"),
		chromedp.WaitVisible(chromedp.CSS(`#emit`)),
		chromedp.SetValue(chromedp.CSS(`input[name=event]`), "connection_successful"),
		chromedp.Click(chromedp.CSS(`#emit`)),
		chromedp.WaitVisible(`//tbody/tr/td[2][.="connection_successful"]`),
	)
	// A live refresh keeps what the user typed.
	do(t, ctx, dir, chromedp.SetValue(chromedp.CSS(`input[name=group_id]`), "typing_in_progress"))
	sd.Emit(testkit.Event{Event: "status", GroupID: "g1"})
	do(t, ctx, dir, chromedp.WaitVisible(`//tbody/tr/td[2][.="status"]`))
	typed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("input[name=group_id]").value`))
	require.NoError(t, err)
	require.Equal(t, "typing_in_progress", typed)
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#msg`)))
	require.NoError(t, err)
	require.Contains(t, msg, "Emitted ")

	// A simulated sync of a seeded connection: its sync_start appears live.
	conn, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("select[name=id]").value`))
	require.NoError(t, err)
	require.NotEmpty(t, conn, "the seeded connections are offered")
	const syncStarts = `[...document.querySelectorAll("tbody tr td:nth-child(2)")].filter(td => td.textContent === "sync_start").length`
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](syncStarts))
	require.NoError(t, err)
	do(t, ctx, dir,
		chromedp.SetValue(chromedp.CSS(`select[name=status]`), "FAILURE"),
		chromedp.Click(`//button[.="Simulate sync"]`),
		chromedp.WaitVisible(fmt.Sprintf(`//p[@id="msg"][.="Sync started on %s."]`, conn)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf("%s === %d", syncStarts, before+1), chromedp.WithPollingMutation()),
	)
	shoot(t, ctx, dir, "events.png")

	// Deactivate the failing webhook as the worker would after 3 emulated
	// days (that takes minutes even at this time scale).
	_, err = sd.Store().WebhookUpdate(ctx, store.WebhookUpdateParams{ID: downHook.ID, Active: ptr(false),
		DisabledReason: ptr("every delivery failed for 3 days"), UpdatedAt: time.Now()})
	require.NoError(t, err)

	// Webhooks: health, and the receiver check run from the page.
	do(t, ctx, dir,
		chromedp.Navigate(sd.URL+"/#/webhooks"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`section[aria-label="Webhook %s"] button`, wh.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`section[aria-label="Webhook %s"] button`, wh.ID))),
		chromedp.WaitVisible(`//p[starts-with(., "Receiver check of")]`),
	)
	report, err := chromedp.Run(ctx, chromedp.Text(`//p[starts-with(., "Receiver check of")]`))
	require.NoError(t, err)
	require.Contains(t, report, rcv.URL)
	health, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf(`section[aria-label="Webhook %s"]`, downHook.ID))))
	require.NoError(t, err)
	require.Contains(t, health, "deactivated")
	require.Contains(t, health, "every delivery failed for 3 days", "the deactivation reason")
	shoot(t, ctx, dir, "webhooks.png")

	// Pages of 100: the older events are a link away.
	many := make([]testkit.Event, 100)
	for i := range many {
		many[i] = testkit.Event{Event: "status", GroupID: "g1"}
	}
	sd.EmitMany(many...)
	do(t, ctx, dir,
		chromedp.Navigate(sd.URL+"/#/events"),
		chromedp.WaitVisible(`//a[.="Older →"]`),
		// Click in the page: a live re-render may replace the link between
		// a node lookup and a click from outside.
		chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('a')].find(a => a.textContent === 'Older →').click()`),
		chromedp.WaitVisible(`//a[.="← Newest"]`),
		chromedp.WaitVisible(`//tbody/tr/td[2][.="sync_end"]`), // the first event, now on page 2
	)

	// Keyboard: on a fresh load the skip link is the first tab stop, and
	// Enter on it moves focus to the main region.
	do(t, ctx, dir, chromedp.Navigate(sd.URL+"/?fresh"), chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
		chromedp.KeyEvent("\t"))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.textContent`))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(focused, "Skip to content"), "first tab stop: %q", focused)
	do(t, ctx, dir, chromedp.KeyEvent("\r"))
	focused, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	require.NoError(t, err)
	require.Equal(t, "main", focused)
}

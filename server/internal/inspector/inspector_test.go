package inspector_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/server/app"
	"github.com/standin-dev/standin/testkit"
)

func get(t *testing.T, url string, auth ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(out)
}

func TestPageAndAssets(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 60})

	resp, body := get(t, sd.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, body, `<script src="/ui/app.js" defer></script>`)

	resp, body = get(t, sd.URL+"/ui/app.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	require.Contains(t, body, `new EventSource("/standin/v1/stream")`)
	resp, _ = get(t, sd.URL+"/ui/app.css")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, body = get(t, sd.URL+"/ui/config.json")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var settings struct {
		TimeScale float64              `json:"time_scale"`
		Schedules map[string][]float64 `json:"schedules"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &settings))
	require.Equal(t, 60.0, settings.TimeScale)
	require.Equal(t, []float64{0, 360}, settings.Schedules["fivetran"][:2], "Fivetran retries 6 minutes after the first attempt")

	// The API is not shadowed.
	resp, body = get(t, sd.URL+"/v1/webhooks")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `"code":"Success"`)
	resp, body = get(t, sd.URL+"/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, body)
	resp, body = get(t, sd.URL+"/no/such/page")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.JSONEq(t, `{"code":"NotFound","message":"No route for path '/no/such/page'"}`, body)
	resp, _ = post(t, sd.URL+"/metrics", "{}")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "GET only")
}

func TestAuth(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{APIKey: "key", APISecret: "secret"})
	for _, path := range []string{"/", "/ui/app.js", "/ui/config.json", "/metrics", "/standin/v1/stats", "/standin/v1/stream"} {
		resp, body := get(t, sd.URL+path)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
		require.Equal(t, `Basic realm="standin"`, resp.Header.Get("WWW-Authenticate"), path)
		require.Contains(t, body, `"code":"Unauthorized"`, path)
	}
	for _, path := range []string{"/", "/ui/app.js", "/metrics", "/standin/v1/stats"} {
		resp, _ := get(t, sd.URL+path, "key", "secret")
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
}

// TestStreamStatsAndMetrics follows one delivery on the stream, then finds
// it counted in /standin/v1/stats and /metrics.
func TestStreamStatsAndMetrics(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 1e4})
	rcv := testkit.NewReceiver(t, "s3cret")
	rcv.FailFirst(1, http.StatusServiceUnavailable)
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sd.URL+"/standin/v1/stream", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan [2]string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{name, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()
	next := func() (string, map[string]string) {
		t.Helper()
		select {
		case e, ok := <-events:
			require.True(t, ok, "stream ended")
			var data map[string]string
			require.NoError(t, json.Unmarshal([]byte(e[1]), &data))
			return e[0], data
		case <-ctx.Done():
			t.Fatal("no server-sent event before the deadline")
			return "", nil
		}
	}
	name, _ := next()
	require.Equal(t, "ready", name)

	em := sd.Emit(testkit.Event{Event: "sync_end", ConnectorID: "c1", GroupID: "g1"})
	id := em.Deliveries[0].ID
	var states []string
	for len(states) == 0 || states[len(states)-1] != "succeeded" {
		name, data := next()
		switch name {
		case "event":
			require.Equal(t, em.ID, data["id"])
			require.Equal(t, "sync_end", data["name"])
		case "delivery":
			require.Equal(t, id, data["id"])
			states = append(states, data["state"])
		}
	}
	require.Equal(t, []string{"pending", "retrying", "succeeded"}, states)

	resp2, body := get(t, sd.URL+"/standin/v1/stats")
	require.Equal(t, http.StatusOK, resp2.StatusCode)
	var stats struct {
		Code string `json:"code"`
		Data struct {
			EventsEmitted int64            `json:"events_emitted"`
			Deliveries    map[string]int64 `json:"deliveries"`
			Attempts      []struct {
				Outcome, StatusClass string
				Count                int64
			} `json:"attempts"`
			AttemptDuration struct {
				Count int64 `json:"count"`
			} `json:"attempt_duration"`
			Webhooks struct {
				Total, Active int64
			} `json:"webhooks"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &stats), body)
	require.Equal(t, "Success", stats.Code)
	require.Equal(t, int64(1), stats.Data.EventsEmitted)
	require.Equal(t, int64(1), stats.Data.Deliveries["succeeded"])
	require.Equal(t, int64(2), stats.Data.AttemptDuration.Count)
	require.Contains(t, body, `{"outcome":"failed","status_class":"5xx","count":1}`)
	require.Contains(t, body, `{"outcome":"succeeded","status_class":"2xx","count":1}`)

	_, text := get(t, sd.URL+"/metrics")
	for _, line := range []string{
		"standin_events_emitted_total 1",
		`standin_deliveries_finished_total{state="succeeded"} 1`,
		`standin_deliveries_open{state="retrying"} 0`,
		`standin_delivery_attempts_total{outcome="failed",status_class="5xx"} 1`,
		`standin_delivery_attempts_total{outcome="succeeded",status_class="2xx"} 1`,
		"standin_delivery_attempt_duration_seconds_count 2",
		`standin_webhooks{state="active"} 1`,
		"standin_webhooks_deactivated 0",
		"go_goroutines ",
	} {
		require.Contains(t, text, line+"", "/metrics lacks %q", line)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s3cret")
	wh := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})

	resp, body := post(t, sd.URL+"/standin/v1/checks", `{"webhook_id":"`+wh.ID+`","events":["sync_end"]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var report struct {
		Code string `json:"code"`
		Data struct {
			URL       string `json:"url"`
			SecretSet bool   `json:"secret_set"`
			Reachable bool   `json:"reachable"`
			Probes    []struct {
				ID      string `json:"id"`
				Verdict string `json:"verdict"`
			} `json:"probes"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &report))
	require.Equal(t, rcv.URL, report.Data.URL)
	require.True(t, report.Data.SecretSet, "the webhook's secret is used")
	require.True(t, report.Data.Reachable)
	require.NotEmpty(t, report.Data.Probes)
	require.NotEmpty(t, rcv.Requests(), "the check sent requests to the receiver")

	resp, body = post(t, sd.URL+"/standin/v1/checks", `{"webhook_id":"nope_nope"}`)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, body, `"code":"NotFound_Webhook"`)
	resp, body = post(t, sd.URL+"/standin/v1/checks", `{}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, `"code":"InvalidInput"`)
	resp, _ = post(t, sd.URL+"/standin/v1/checks", `{"webhook_id":"x","bogus":1}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// An open stream does not hold up the server's shutdown: Serve returns
// long before its ShutdownTimeout.
func TestShutdownWithOpenStream(t *testing.T) {
	t.Parallel()
	srv, err := app.New(t.Context(), app.Config{
		DatabaseURL:     filepath.Join(t.TempDir(), "standin.db"),
		ShutdownTimeout: 5 * time.Minute,
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, app.Listeners{HTTP: lis}) }()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+lis.Addr().String()+"/standin/v1/stream", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "retry: 2000\n", line, "the stream is open")

	stop()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return: the open stream holds the shutdown")
	}
	_, err = io.ReadAll(resp.Body)
	require.NoError(t, err, "the stream ended cleanly")
}

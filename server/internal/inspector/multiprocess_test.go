package inspector_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/server/app"
	"github.com/standin-dev/standin/store/storetest"
	"github.com/standin-dev/standin/testkit"
)

// postgresURL returns the URL of a fresh schema of the test database; the
// test skips without PostgreSQL, except under CI=true.
func postgresURL(t *testing.T) string {
	t.Helper()
	url := storetest.PostgresURL(t)
	return storetest.SearchPathURL(url, storetest.PostgresSchema(t, url, "standin_inspector_"))
}

// serve runs a standin process of role on url until the test ends and
// returns its REST base URL ("" for a worker).
func serve(t *testing.T, url string, role app.Role) string {
	t.Helper()
	srv, err := app.New(t.Context(), app.Config{DatabaseURL: url, Role: role, SkipURLCheck: true,
		TimeScale: 1000, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	var lis app.Listeners
	base := ""
	if srv.API() != nil {
		lis.HTTP, err = net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		base = "http://" + lis.HTTP.Addr().String()
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-served)
		require.NoError(t, srv.Close())
	})
	return base
}

// A page served by an API process learns of the attempts that a separate
// worker process makes.
func TestStreamSeesOtherProcesses(t *testing.T) {
	t.Parallel()
	url := postgresURL(t)
	api := serve(t, url, app.RoleAPI)
	serve(t, url, app.RoleWorker)
	rcv := testkit.NewReceiver(t, "s3cret")

	resp, body := post(t, api+"/v1/webhooks/account", `{"url":"`+rcv.URL+`","events":["sync_end"],"secret":"s3cret","active":true}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/standin/v1/stream", nil)
	require.NoError(t, err)
	stream, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer stream.Body.Close()
	events := make(chan string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- name
			}
		}
	}()
	require.Equal(t, "ready", <-events)

	resp, body = post(t, api+"/standin/v1/events", `{"event":"sync_end","group_id":"g1"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var seen []string
	for {
		name, ok := <-events
		require.True(t, ok, "the stream ended before the worker's attempt was seen; saw %v", seen)
		seen = append(seen, name)
		if name == "resync" {
			break
		}
	}
	require.Equal(t, []string{"event", "delivery", "resync"}, seen,
		"the API process's own emit, then the worker process's attempt")
	rcv.AwaitRequests(ctx, 1)
}

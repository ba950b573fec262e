package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/server/app"
)

// A worker has no REST port; MetricsHandler gives it /metrics.
func TestMetricsHandlerWorkerRole(t *testing.T) {
	t.Parallel()
	srv, err := app.New(t.Context(), app.Config{
		DatabaseURL: filepath.Join(t.TempDir(), "standin.db"),
		Role:        app.RoleWorker,
	})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	require.Nil(t, srv.API())

	ts := httptest.NewServer(srv.MetricsHandler())
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "standin_events_emitted_total 0\n")
	require.Contains(t, string(body), `standin_river_jobs{state="available"} 0`)

	resp, err = http.Get(ts.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "only /metrics")
}

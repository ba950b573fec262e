package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
)

func TestHealthzAndOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAuth("key", "secret"))
	if r := e.doWith("GET", "/healthz", "", nil); r.status != 200 || string(r.body) != `{"status":"SERVING"}` {
		t.Errorf("healthz without credentials: %d %s", r.status, r.body)
	}
	if r := e.doWith("GET", "/standin/v1/openapi.json", "", nil); r.status != 401 {
		t.Errorf("openapi without credentials: %d", r.status)
	}
	r := e.mustDo(200, "GET", "/standin/v1/openapi.json", "")
	if !bytes.Equal(r.body, standinv1.OpenAPI) || len(r.body) == 0 {
		t.Errorf("openapi document differs from the embedded one")
	}
	if r := e.mustDo(405, "POST", "/healthz", ""); r.header.Get("Content-Type") != "application/json" {
		t.Errorf("405 Content-Type %q", r.header.Get("Content-Type"))
	}
}

func TestNewAPIValidation(t *testing.T) {
	t.Parallel()
	var st store.Store = newEnv(t).store
	for _, tt := range []struct {
		cfg  server.APIConfig
		want string
	}{
		{server.APIConfig{}, "server: APIConfig.Store is required"},
		{server.APIConfig{Store: st, APIKey: "k"}, "server: APIConfig.APISecret is required when APIKey is set"},
		{server.APIConfig{Store: st, APISecret: "s"}, "server: APIConfig.APIKey is required when APISecret is set"},
	} {
		if _, err := server.NewAPI(tt.cfg); err == nil || err.Error() != tt.want {
			t.Errorf("NewAPI(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := server.NewAPI(server.APIConfig{Store: st}); err != nil {
		t.Errorf("minimal config: %v", err)
	}
}

// brokenStore fails every webhook read with an error carrying a secret.
type brokenStore struct{ store.Store }

func (brokenStore) WebhookGetByID(context.Context, string) (*store.Webhook, error) {
	return nil, errors.New("dial postgres://admin:hunter2@db: refused")
}

// TestInternalErrorHidden answers 500 with a generic envelope.
func TestInternalErrorHidden(t *testing.T) {
	t.Parallel()
	api, err := server.NewAPI(server.APIConfig{Store: brokenStore{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.HTTPHandler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/v1/webhooks/abc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || string(body) != `{"code":"InternalError","message":"Internal error"}` {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}

// TestGroupNamedTest: POST /v1/webhooks/group/test creates a webhook of
// group "test" rather than testing a webhook with id "group".
func TestGroupNamedTest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	r := e.mustDo(200, "POST", "/v1/webhooks/group/test", `{"url":"http://127.0.0.1:1/hook","events":["sync_end"]}`)
	if !bytes.Contains(r.body, []byte(`"type":"group","group_id":"test"`)) {
		t.Errorf("body %s", r.body)
	}
}

package proctest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/cmd/standin/internal/proctest"
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// standin is one `standin serve` process.
type standin struct {
	*proctest.Process
	// API is the REST base URL, http://127.0.0.1:port; empty for workers.
	API string
	// ClientID is the River client id of a process that works deliveries.
	ClientID string
}

// serve starts `standin serve` on databaseURL in role on free ports with
// JSON logs, plus extra flags, and waits until it is ready: its HTTP API
// listens (roles all and api) and its workers have started (all and
// worker).
func serve(t *testing.T, name, databaseURL, role string, extra ...string) *standin {
	t.Helper()
	args := append([]string{"serve",
		"--database-url", databaseURL, "--role", role,
		"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--log-format", "json", "--skip-url-check",
	}, extra...)
	s := &standin{Process: proctest.Start(t, name, args...)}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if role != "worker" {
		e, err := s.AwaitLog(ctx, "http api listening")
		if err != nil {
			t.Fatal(err)
		}
		s.API = "http://" + e.String("addr")
	}
	if role != "api" {
		e, err := s.AwaitLog(ctx, "delivery workers started")
		if err != nil {
			t.Fatal(err)
		}
		if s.ClientID = e.String("client_id"); s.ClientID == "" {
			t.Fatalf("%s: no client_id in %v", name, e)
		}
	}
	return s
}

// apiClient calls standin's REST API.
type apiClient struct {
	base   string
	client *http.Client
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, client: &http.Client{Timeout: 15 * time.Second}}
}

// do sends a JSON request and decodes the envelope's data into out. A
// response that is not HTTP 200 with code "Success" is an error.
func (a *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Code string          `json:"code"`
		Data json.RawMessage `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &env) != nil || env.Code != "Success" {
		return &apiError{status: resp.StatusCode, body: string(raw)}
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

// apiError is an answer of the API other than success.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// createWebhook creates an active account webhook for sync_end to url and
// returns its id.
func (a *apiClient) createWebhook(t *testing.T, url string) string {
	t.Helper()
	var wh struct {
		ID string `json:"id"`
	}
	in := map[string]any{"url": url, "events": []string{"sync_end"}, "active": true}
	if err := a.do(t.Context(), http.MethodPost, "/v1/webhooks/account", in, &wh); err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	return wh.ID
}

// emit emits sync_end for connector and returns its one delivery's id.
func (a *apiClient) emit(ctx context.Context, connector string) (string, error) {
	var ev struct {
		Deliveries []struct {
			ID string `json:"id"`
		} `json:"deliveries"`
	}
	in := map[string]any{"event": "sync_end", "connector_id": connector}
	if err := a.do(ctx, http.MethodPost, "/standin/v1/events", in, &ev); err != nil {
		return "", err
	}
	if len(ev.Deliveries) != 1 {
		return "", fmt.Errorf("emit %s: %d deliveries, want 1", connector, len(ev.Deliveries))
	}
	return ev.Deliveries[0].ID, nil
}

// delivery is a delivery as the API lists it.
type delivery struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
}

// deliveries lists every delivery of a webhook.
func (a *apiClient) deliveries(ctx context.Context, webhookID string) (map[string]delivery, error) {
	out := map[string]delivery{}
	cursor := ""
	for {
		q := url.Values{"webhook_id": {webhookID}, "limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items      []delivery `json:"items"`
			NextCursor string     `json:"next_cursor"`
		}
		if err := a.do(ctx, http.MethodGet, "/standin/v1/deliveries?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, d := range page.Items {
			out[d.ID] = d
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// awaitSucceeded waits until every delivery in ids has succeeded and
// returns them. The deliveries live in another process, which signals
// nothing: this polls the API every 100 ms until the deadline of ctx.
func (a *apiClient) awaitSucceeded(ctx context.Context, webhookID string, ids []string) (map[string]delivery, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		all, err := a.deliveries(ctx, webhookID)
		if err == nil {
			var notYet []string
			for _, id := range ids {
				if d, ok := all[id]; !ok || d.State != "succeeded" {
					notYet = append(notYet, fmt.Sprintf("%s (%s, %d attempts)", id, d.State, d.Attempts))
				}
			}
			if len(notYet) == 0 {
				return all, nil
			}
			err = fmt.Errorf("%d of %d deliveries not succeeded, e.g. %v", len(notYet), len(ids), notYet[:min(len(notYet), 5)])
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	}
}

// receiver is a webhook receiver that records the sync_end bodies it gets
// by connector_id: arrived when a request came in, delivered once it was
// answered 200. hold, when set, may take over a request (and answer it
// itself, or not) by returning true.
type receiver struct {
	URL string

	hold func(w http.ResponseWriter, r *http.Request, connector string) bool

	mu        sync.Mutex
	arrived   map[string]int
	delivered map[string]int
	changed   chan struct{}
}

// newReceiver starts a receiver on 127.0.0.1 and closes it when the test
// ends. Set hold before the first request.
func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{arrived: map[string]int{}, delivered: map[string]int{}, changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(rc.serveHTTP))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

func (rc *receiver) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Event       string `json:"event"`
		ConnectorID string `json:"connector_id"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil || body.Event != "sync_end" {
		http.Error(w, "not a sync_end payload", http.StatusBadRequest)
		return
	}
	rc.record(rc.arrived, body.ConnectorID)
	if rc.hold != nil && rc.hold(w, r, body.ConnectorID) {
		return
	}
	w.WriteHeader(http.StatusOK)
	rc.record(rc.delivered, body.ConnectorID)
}

func (rc *receiver) record(m map[string]int, connector string) {
	rc.mu.Lock()
	m[connector]++
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
}

// counts returns copies of the arrived and delivered counts.
func (rc *receiver) counts() (arrived, delivered map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	arrived, delivered = map[string]int{}, map[string]int{}
	for k, v := range rc.arrived {
		arrived[k] = v
	}
	for k, v := range rc.delivered {
		delivered[k] = v
	}
	return arrived, delivered
}

// awaitDelivered waits until every connector's body was answered 200 at
// least once.
func (rc *receiver) awaitDelivered(ctx context.Context, connectors []string) error {
	for {
		rc.mu.Lock()
		var missing []string
		for _, c := range connectors {
			if rc.delivered[c] == 0 {
				missing = append(missing, c)
			}
		}
		ch := rc.changed
		rc.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			sort.Strings(missing)
			return fmt.Errorf("receiver: %d of %d events never delivered, e.g. %v: %w",
				len(missing), len(connectors), missing[:min(len(missing), 5)], ctx.Err())
		}
	}
}

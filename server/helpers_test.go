package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testNow is the fixed clock of every test API.
var testNow = time.Date(2026, 5, 22, 0, 6, 8, 638_000_000, time.UTC)

// testEnv is an API served over real HTTP on 127.0.0.1, on a fresh SQLite
// store.
type testEnv struct {
	t     testing.TB
	api   *server.API
	store store.Store
	url   string
	// key and secret are sent as Basic credentials when key is set.
	key, secret string
}

// testGroups are the groups every test env registers.
var testGroups = []string{"g1", "g2", "grp_1", "test"}

// newEnv starts an API with testGroups registered; opts adjust its
// configuration.
func newEnv(t testing.TB, opts ...func(*server.APIConfig)) *testEnv {
	t.Helper()
	return newEnvGroups(t, testGroups, opts...)
}

// newEnvGroups starts an API with groups registered.
func newEnvGroups(t testing.TB, groups []string, opts ...func(*server.APIConfig)) *testEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{
		Path:   filepath.Join(t.TempDir(), "db"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := server.APIConfig{
		Store:  st,
		Now:    func() time.Time { return testNow },
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	api, err := server.NewAPI(cfg)
	if err != nil {
		t.Fatalf("NewAPI: %v", err)
	}
	// Group webhooks need a registered group (NotFound_Group otherwise):
	// register the ones the tests use.
	registerGroups(t, st, groups)
	srv := httptest.NewServer(api.HTTPHandler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, api: api, store: st, url: srv.URL, key: cfg.APIKey, secret: cfg.APISecret}
}

func withAuth(key, secret string) func(*server.APIConfig) {
	return func(c *server.APIConfig) { c.APIKey, c.APISecret = key, secret }
}

func skipURLCheck(c *server.APIConfig) { c.SkipURLCheck = true }

// response is an HTTP response read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the env's credentials.
func (e *testEnv) do(method, path, body string) response {
	e.t.Helper()
	return e.doWith(method, path, body, func(r *http.Request) {
		if e.key != "" {
			r.SetBasicAuth(e.key, e.secret)
		}
	})
}

// doWith sends a request prepared by prep.
func (e *testEnv) doWith(method, path, body string, prep func(*http.Request)) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if prep != nil {
		prep(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// mustDo is do that requires the HTTP status want.
func (e *testEnv) mustDo(want int, method, path, body string) response {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

// createWebhook creates a webhook and returns its id.
func (e *testEnv) createWebhook(path, body string) string {
	e.t.Helper()
	r := e.mustDo(http.StatusOK, http.MethodPost, path, body)
	var env struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	decode(e.t, r.body, &env)
	return env.Data.ID
}

// webhookCount counts the stored webhooks.
func (e *testEnv) webhookCount() int {
	e.t.Helper()
	list, err := e.store.WebhookList(context.Background(), store.WebhookListParams{Limit: 100000})
	if err != nil {
		e.t.Fatalf("list webhooks: %v", err)
	}
	return len(list)
}

func decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// receiver is a webhook receiver on 127.0.0.1 that answers with status and
// records every request.
type receiver struct {
	url    string
	status atomic.Int32
	reqs   chan received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t testing.TB, status int) *receiver {
	t.Helper()
	r := &receiver{reqs: make(chan received, 100)}
	r.status.Store(int32(status))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.reqs <- received{header: req.Header.Clone(), body: body}
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

// downURL is the URL of a receiver that is not listening.
func downURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/hook"
	srv.Close()
	return u
}

// take returns the next recorded request; the API's requests are
// synchronous, so it is already there.
func (r *receiver) take(t testing.TB) received {
	t.Helper()
	select {
	case req := <-r.reqs:
		return req
	default:
		t.Fatalf("receiver got no request")
		return received{}
	}
}

// normalizer replaces generated ids in response bodies with stable
// placeholders, numbered in order of first appearance.
type normalizer struct {
	seen map[string]string
	// fixed are literal replacements made first (receiver URLs).
	fixed []string
}

var (
	idValue   = regexp.MustCompile(`"(?:id|webhook_id|event_id)":"([^"]+)"`)
	uuidValue = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

func (n *normalizer) normalize(b []byte) []byte {
	if n.seen == nil {
		n.seen = make(map[string]string)
	}
	if len(n.fixed) > 0 {
		b = []byte(strings.NewReplacer(n.fixed...).Replace(string(b)))
	}
	var ids []string
	for _, m := range idValue.FindAllSubmatch(b, -1) {
		ids = append(ids, string(m[1]))
	}
	for _, m := range uuidValue.FindAll(b, -1) {
		ids = append(ids, string(m))
	}
	for _, id := range ids {
		if _, ok := n.seen[id]; !ok {
			n.seen[id] = fmt.Sprintf("<id%d>", len(n.seen)+1)
		}
	}
	// Longest first, so no id is replaced inside a longer one.
	pairs := make([]string, 0, 2*len(n.seen))
	for _, id := range slices.SortedFunc(maps.Keys(n.seen), func(a, b string) int { return len(b) - len(a) }) {
		pairs = append(pairs, id, n.seen[id])
	}
	return []byte(strings.NewReplacer(pairs...).Replace(string(b)))
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

// registerGroups registers groups (named by their ids) in st.
func registerGroups(t testing.TB, st store.Store, groups []string) {
	t.Helper()
	for _, id := range groups {
		if err := st.GroupCreate(context.Background(), &store.Group{ID: id, Name: id, CreatedAt: testNow}); err != nil {
			t.Fatalf("create group %s: %v", id, err)
		}
	}
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store/sqlite"
)

// noNetwork is a RoundTripper that refuses every request, so fuzzed URLs
// never leave the process.
type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fuzz: no network")
}

// fuzzRoutes returns the request lines the fuzzer picks from: every route
// of the OpenAPI document (so routes added later are fuzzed too), with each
// path parameter replaced by "{}", which the fuzzer fills, plus a method no
// route has and a bare path.
func fuzzRoutes(f *testing.F) [][2]string {
	f.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(standinv1.OpenAPI, &doc); err != nil {
		f.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	var routes [][2]string
	for path, methods := range doc.Paths {
		for method := range methods {
			routes = append(routes, [2]string{strings.ToUpper(method), param.ReplaceAllString(path, "{}")})
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i][1]+routes[i][0] < routes[j][1]+routes[j][0] })
	return append(routes, [2]string{"PUT", "/v1/webhooks/{}"}, [2]string{"GET", "/{}"})
}

// FuzzAPIRequest sends random bodies, path segments, query strings and
// content types to every REST route of the OpenAPI document, with and
// without credentials. The API
// must never answer 500 or panic, and every answer must be one JSON
// envelope: {"code":"Success",…} for 200, else exactly a code and a
// message (but for the inspector's page at / and its assets under /ui/).
func FuzzAPIRequest(f *testing.F) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{
		Path:   filepath.Join(f.TempDir(), "db"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	api, err := server.NewAPI(server.APIConfig{
		Store:     st,
		Sender:    &delivery.Sender{Client: &http.Client{Transport: noNetwork{}}},
		Now:       func() time.Time { return testNow },
		APIKey:    "key",
		APISecret: "secret",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	h := api.HTTPHandler()
	routes := fuzzRoutes(f)
	seed := func(method, path, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.SetBasicAuth("key", "secret")
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			f.Fatalf("seed %s %s: %d %s", method, path, w.Code, w.Body)
		}
	}
	seed("POST", "/v1/webhooks/account", `{"url":"http://127.0.0.1:1/h","events":["sync_end"],"active":false}`)

	f.Add(uint8(0), "", "", "application/json", true, []byte(`{"url":"http://127.0.0.1:1/h","events":["sync_end"],"active":false}`))
	f.Add(uint8(1), "g1", "", "application/json", true, []byte(`{"url":"https://example.com/h","events":["sync_start"],"signing":{"scheme":"hmac","algorithm":"md5"}}`))
	f.Add(uint8(2), "", "limit=1&cursor=dwAAAAAAAAACt0WbFw", "", true, []byte(nil))
	f.Add(uint8(4), "x", "", "application/json", true, []byte(`{"active":true,"events":["sync_end","sync_end"]}`))
	f.Add(uint8(6), "x", "", "application/json", true, []byte(`{"event":"dbt_run_failed"}`))
	f.Add(uint8(7), "", "", "application/json", true, []byte(`{"event":"sync_end","status":"FAILURE","data":{"a":[1,{"b":null}]}}`))
	f.Add(uint8(8), "", "status=failed&limit=1000", "", false, []byte(nil))
	f.Add(uint8(9), "..%2F..", "", "", true, []byte(nil))
	f.Add(uint8(0), "", "", "text/plain", true, []byte(`{"url":`))

	f.Fuzz(func(t *testing.T, route uint8, segment, query, contentType string, auth bool, body []byte) {
		rt := routes[int(route)%len(routes)]
		method, target := rt[0], strings.ReplaceAll(rt[1], "{}", url.PathEscape(segment))
		if query != "" {
			target += "?" + url.PathEscape(query)
		}
		r, err := http.NewRequest(method, "http://standin"+target, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if auth {
			r.SetBasicAuth("key", "secret")
		}
		w := httptest.NewRecorder()
		served := make(chan struct{})
		go func() {
			defer close(served)
			h.ServeHTTP(w, r)
		}()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("%s %s did not answer within 10 s (body %q); goroutines:\n%s", method, target, body, buf[:runtime.Stack(buf, true)])
		}

		if w.Code >= 500 {
			t.Fatalf("%s %s: HTTP %d %s", method, target, w.Code, w.Body)
		}
		if target == "/healthz" {
			return
		}
		if path, _, _ := strings.Cut(target, "?"); w.Code == http.StatusOK && method == http.MethodGet &&
			(path == "/" || strings.HasPrefix(path, "/ui/")) {
			return // the inspector's page and assets, not the API
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q", method, target, ct)
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatalf("%s %s: HTTP %d, not a JSON object: %q", method, target, w.Code, w.Body)
		}
		var code string
		if err := json.Unmarshal(env["code"], &code); err != nil || code == "" {
			t.Fatalf("%s %s: no code in %s", method, target, w.Body)
		}
		switch {
		case w.Code == 200 && code != "Success":
			t.Fatalf("%s %s: HTTP 200 with code %q", method, target, code)
		case w.Code != 200 && (code == "Success" || len(env) != 2 || env["message"] == nil):
			t.Fatalf("%s %s: HTTP %d with envelope %s", method, target, w.Code, w.Body)
		}
	})
}

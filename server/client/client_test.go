package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDoDecodesEnvelopes(t *testing.T) {
	t.Parallel()
	var gotAuth, gotBody, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		gotAuth = user + ":" + pass
		gotType = r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		switch r.URL.Path {
		case "/v1/webhooks/ok":
			w.Write([]byte(`{"code":"Success","message":"Webhook has been updated","data":{"id":"ok","active":true,"created_at":"2022-04-29T09:41:08.583Z"}}`))
		case "/v1/webhooks/gone":
			w.WriteHeader(404)
			w.Write([]byte(`{"code":"NotFound_Webhook","message":"Cannot find entity 'Webhook' with id 'gone'"}`))
		case "/v1/webhooks/odd":
			w.WriteHeader(200)
			w.Write([]byte(`{"code":"Conflict"}`))
		default:
			w.WriteHeader(502)
			w.Write([]byte(`<html>bad gateway</html>`))
		}
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/", APIKey: "k", APISecret: "s"}
	ctx := context.Background()

	active := false
	resp, err := c.UpdateWebhook(ctx, "ok", WebhookPatch{Active: &active})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message != "Webhook has been updated" || resp.Data.ID != "ok" || !resp.Data.Active ||
		!resp.Data.CreatedAt.Equal(time.Date(2022, 4, 29, 9, 41, 8, 583e6, time.UTC)) || !strings.Contains(string(resp.Raw), `"id":"ok"`) {
		t.Errorf("response %+v", resp)
	}
	if gotAuth != "k:s" || gotType != "application/json" || gotBody != `{"active":false}` {
		t.Errorf("request auth %q type %q body %q", gotAuth, gotType, gotBody)
	}

	_, err = c.GetWebhook(ctx, "gone")
	var apiErr *Error
	if !errors.As(err, &apiErr) || !apiErr.NotFound() || apiErr.HTTPStatus != 404 ||
		err.Error() != "NotFound_Webhook: Cannot find entity 'Webhook' with id 'gone' (HTTP 404)" {
		t.Errorf("404: %v", err)
	}
	_, err = c.GetWebhook(ctx, "odd")
	if !errors.As(err, &apiErr) || apiErr.Code != "Conflict" || err.Error() != "Conflict (HTTP 200)" {
		t.Errorf("non-success code: %v", err)
	}
	_, err = c.GetWebhook(ctx, "proxy")
	if err == nil || errors.As(err, &apiErr) || !strings.Contains(err.Error(), `HTTP 502 from `+srv.URL+`/ is not a standin API response: "<html>bad gateway</html>"`) {
		t.Errorf("not an envelope: %v", err)
	}
	for _, base := range []string{"", "localhost:8080", "ftp://x"} {
		if _, err := (&Client{BaseURL: base}).GetWebhook(ctx, "x"); err == nil {
			t.Errorf("BaseURL %q: no error", base)
		}
	}
}

func TestJSONNumbers(t *testing.T) {
	t.Parallel()
	var v struct {
		A  Attempt `json:"a"`
		N  Int64   `json:"n"`
		NS Int64   `json:"ns"`
	}
	if err := json.Unmarshal([]byte(`{"a":{"number":2,"emulated_delay":"1620.5s","latency":"0.012s"},"n":42,"ns":"9007199254740993"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.Number != 2 || v.A.EmulatedDelay != 27*time.Minute+500*time.Millisecond || v.A.Latency != 12*time.Millisecond ||
		v.N != 42 || v.NS != 9007199254740993 {
		t.Errorf("decoded %+v", v)
	}
	b, _ := json.Marshal(Attempt{Number: 1, EmulatedDelay: 360 * time.Second, Latency: 1500 * time.Microsecond})
	if !strings.Contains(string(b), `"number":1`) || !strings.Contains(string(b), `"emulated_delay":"360s"`) || !strings.Contains(string(b), `"latency":"0.0015s"`) {
		t.Errorf("Attempt JSON %s", b)
	}
	var back Attempt
	if err := json.Unmarshal(b, &back); err != nil || back.EmulatedDelay != 360*time.Second || back.Latency != 1500*time.Microsecond {
		t.Errorf("round trip %+v: %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"a":{"latency":"soon"}}`), &v); err == nil {
		t.Error("bad duration decoded")
	}
}

func TestEmitMany(t *testing.T) {
	t.Parallel()
	var gotPath, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.Method + " " + r.URL.Path
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Write([]byte(`{"code":"Success","message":"Events have been emitted","data":{"items":[` +
			`{"id":"e1","event":"sync_start","created_at":"2026-05-22T00:06:08.638Z","deliveries":[{"id":"d1","webhook_id":"w1","state":"pending"}]},` +
			`{"id":"e2","event":"pause_connector","created_at":"2026-05-22T00:06:08.638Z","deliveries":[]}]}}`))
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	resp, err := c.EmitMany(context.Background(), []EmitRequest{
		{Event: "sync_start", GroupID: "g1"},
		{Event: "pause_connector", Data: json.RawMessage(`{"a":1}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "POST /standin/v1/events:batch"; gotPath != want {
		t.Errorf("request %s, want %s", gotPath, want)
	}
	if want := `{"events":[{"event":"sync_start","group_id":"g1"},{"event":"pause_connector","data":{"a":1}}]}`; gotBody != want {
		t.Errorf("body %s, want %s", gotBody, want)
	}
	items := resp.Data.Items
	if resp.Message != "Events have been emitted" || len(items) != 2 || items[0].ID != "e1" || items[0].Deliveries[0].WebhookID != "w1" ||
		items[1].Event != "pause_connector" || len(items[1].Deliveries) != 0 {
		t.Errorf("response %+v", resp)
	}
}

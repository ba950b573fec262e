package testkit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// TestURLPasswordMasked: a webhook URL with a password reads
// alice:******@ in create, get and list responses and in the delivery
// log's attempt URLs, whose request headers record the Authorization header
// the sender derives from it, masked; the receiver gets the real
// credentials.
func TestURLPasswordMasked(t *testing.T) {
	t.Parallel()
	const password = "Pa55w0rd"
	sd := testkit.Start(t, testkit.Config{URLCheck: true})
	rcv := testkit.NewReceiver(t, "")
	hookURL := strings.Replace(rcv.URL, "http://", "http://alice:"+password+"@", 1) + "/hook"
	masked := strings.Replace(hookURL, password, "******", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var created json.RawMessage
	if err := sd.Do(ctx, http.MethodPost, "/v1/webhooks/account", map[string]any{"url": hookURL, "events": []string{"sync_end"}, "active": true}, &created); err != nil {
		t.Fatal(err)
	}
	var wh struct{ ID, URL string }
	if err := json.Unmarshal(created, &wh); err != nil {
		t.Fatal(err)
	}
	shown := map[string]json.RawMessage{"create": created}
	for name, path := range map[string]string{"get": "/v1/webhooks/" + wh.ID, "list": "/v1/webhooks"} {
		var out json.RawMessage
		if err := sd.Do(ctx, http.MethodGet, path, nil, &out); err != nil {
			t.Fatal(err)
		}
		shown[name] = out
	}
	for name, body := range shown {
		if strings.Contains(string(body), password) || !strings.Contains(string(body), `"`+masked+`"`) {
			t.Errorf("%s response shows %s, want the URL as %s", name, body, masked)
		}
	}

	emitted := sd.Emit(testkit.Event{Event: "sync_end"})
	sd.AwaitDelivery(ctx, emitted.Deliveries[0].ID, testkit.StateSucceeded)
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+password))
	reqs := rcv.Requests()
	if len(reqs) != 2 { // the URL check and the delivery
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("Authorization"); got != wantAuth {
			t.Errorf("receiver request %d: Authorization %q, want %q", i, got, wantAuth)
		}
	}
	detail := sd.GetDelivery(emitted.Deliveries[0].ID)
	if len(detail.Attempts) != 1 {
		t.Fatalf("delivery log has %d attempts, want 1", len(detail.Attempts))
	}
	at := detail.Attempts[0]
	if at.URL != masked {
		t.Errorf("attempt URL %q, want %q", at.URL, masked)
	}
	if got := at.RequestHeaders.Get("Authorization"); got != "Basic ******" {
		t.Errorf("attempt request headers %v: Authorization %q, want Basic ******", at.RequestHeaders, got)
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), password) || strings.Contains(string(raw), wantAuth[len("Basic "):]) {
		t.Errorf("delivery log shows the password: %s", raw)
	}
}

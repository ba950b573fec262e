package export

import (
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// TestReadRequestsRawCapture reads a raw capture whose headers are strings
// or lists, orders it by "at", and keeps non-UTF-8 bodies exact.
func TestReadRequestsRawCapture(t *testing.T) {
	t.Parallel()
	in := `{"method":"POST","headers":{"x-fivetran-signature-256":"ab12"},"body":"{\"n\":2}","at":"2026-05-22T00:00:02Z"}

{"headers":{"Content-Type":["application/json"]},"body_base64":"/w==","at":"2026-05-22T00:00:01Z"}
`
	items, err := ReadRequests(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Label != "line 3" || items[1].Label != "line 1" {
		t.Fatalf("items %+v, want line 3 then line 1 (by at)", items)
	}
	if b := items[0].Request.Bytes(); len(b) != 1 || b[0] != 0xff || items[0].Request.Method != "POST" {
		t.Errorf("base64 body %q, method %q", b, items[0].Request.Method)
	}
	if got := items[1].Request.Header.Get(delivery.HeaderFivetranSignature); got != "ab12" {
		t.Errorf("header given as a string: %q", got)
	}
	if _, err := ReadRequests(strings.NewReader(`{"headers":{"X":1}}`)); err == nil {
		t.Error("a header that is a number was accepted")
	}
}

// TestResignInfersScheme re-signs raw captures by the scheme their headers
// show, keeping a Standard Webhooks id and timestamp.
func TestResignInfersScheme(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"sync_end"}`)
	at := time.Unix(1779408000, 0)
	lower := delivery.Signing{LowerHex: true}
	h, _ := lower.Headers("old", body, "", at)
	got, err := Resign(Item{Request: Captured("POST", "/", h, body, at)}, "new")
	if err != nil || lower.Verify("new", got, body, at) != nil {
		t.Errorf("fivetran lower-case: %v %v", got, err)
	}
	std := delivery.Signing{Scheme: delivery.SchemeStandard}
	h, _ = std.Headers("old", body, "msg_1", at)
	got, err = Resign(Item{Request: Captured("POST", "/", h, body, at.Add(time.Hour))}, "new")
	if err != nil || std.Verify("new", got, body, at) != nil || got.Get(delivery.HeaderWebhookID) != "msg_1" {
		t.Errorf("standard: %v %v", got, err)
	}
	if _, err := Resign(Item{Request: Captured("POST", "/", nil, body, at)}, "new"); err == nil {
		t.Error("re-signing a request with no signature header did not fail")
	}
}

package delivery

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestRedact: the token of SchemeToken never reaches the delivery log;
// signatures, which are no secret, are kept as sent.
func TestRedact(t *testing.T) {
	t.Parallel()
	const secret = "tok_3f9a_secret"
	at := time.Unix(1779408368, 0)
	for _, s := range []Signing{
		{},
		{Scheme: SchemeHMAC, Algorithm: "sha512", Encoding: "hex"},
		{Scheme: SchemeToken, Header: "x-api-key"},
		{Scheme: SchemeStandard},
		{Scheme: SchemeNone},
	} {
		sent, err := s.Headers(secret, []byte(`{"event":"sync_end"}`), "msg_1", at)
		if err != nil {
			t.Fatal(err)
		}
		sent.Set("Content-Type", "application/json")
		orig := sent.Clone()
		got := s.Redact(sent)
		if !reflect.DeepEqual(sent, orig) {
			t.Errorf("%+v: Redact modified its argument", s)
		}
		want := orig.Clone()
		if s.Scheme == SchemeToken {
			if sent.Get("X-Api-Key") != secret {
				t.Fatalf("token header not sent: %v", sent)
			}
			want.Set("X-Api-Key", Redacted)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: Redact = %v, want %v", s, got, want)
		}
		for k, vs := range got {
			for _, v := range vs {
				if v == secret {
					t.Errorf("%+v: header %s still holds the secret", s, k)
				}
			}
		}
	}
	if (Signing{Scheme: SchemeToken, Header: "X-Token"}).Redact(nil) != nil {
		t.Error("Redact(nil) != nil")
	}
	multi := http.Header{"X-Token": {"a", "b"}}
	if got := (Signing{Scheme: SchemeToken, Header: "x-token"}).Redact(multi); !reflect.DeepEqual(got["X-Token"], []string{Redacted}) {
		t.Errorf("repeated token header: %v", got)
	}
}

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://alice:Pa55w0rd@host/hook":             "http://alice:******@host/hook",
		"https://alice:p%40ss@host:8443/a?b=c@d#e":    "https://alice:******@host:8443/a?b=c@d#e",
		"http://alice:@host/":                         "http://alice:******@host/",
		"http://alice@host/":                          "http://alice@host/",
		"http://host/path?u=alice:pw@x":               "http://host/path?u=alice:pw@x",
		"http://127.0.0.1:9000/hook":                  "http://127.0.0.1:9000/hook",
		"http://a:b@host/x/../%zz":                    "http://a:b@host/x/../%zz", // does not parse
		"HTTP://Alice:pw@Host/Keep%2fEscapes?x=1&y=2": "HTTP://Alice:******@Host/Keep%2fEscapes?x=1&y=2",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

package delivery

import (
	"strings"
	"testing"
	"time"
)

// TestHeadersRotating checks which secrets sign inside and outside a
// rotation window, for Standard Webhooks (both) and Fivetran (the chosen
// one).
func TestHeadersRotating(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 22, 0, 0, 0, 0, time.UTC)
	body := []byte(`{"event":"sync_end"}`)
	open := &Rotation{PreviousSecret: "old", Until: at.Add(time.Hour)}
	closed := &Rotation{PreviousSecret: "old", Until: at}
	verifies := func(s Signing, h map[string][]string, secret string) bool {
		return s.Verify(secret, h, body, at) == nil
	}
	std := Signing{Scheme: SchemeStandard}
	h, err := std.HeadersRotating(open, "new", body, "msg_1", at)
	if err != nil {
		t.Fatal(err)
	}
	if sigs := strings.Fields(h.Get(HeaderWebhookSignature)); len(sigs) != 2 || !verifies(std, h, "new") || !verifies(std, h, "old") {
		t.Errorf("standard, window open: %q; want two signatures, new and old", h.Get(HeaderWebhookSignature))
	}
	if h, _ = std.HeadersRotating(closed, "new", body, "msg_1", at); verifies(std, h, "old") || !verifies(std, h, "new") {
		t.Errorf("standard, window closed: %q; want the new secret only", h.Get(HeaderWebhookSignature))
	}
	var ft Signing
	if h, _ = ft.HeadersRotating(open, "new", body, "", at); !verifies(ft, h, "new") || verifies(ft, h, "old") {
		t.Errorf("fivetran, window open, sign with new: signed with the wrong secret")
	}
	old := &Rotation{PreviousSecret: "old", Until: at.Add(time.Hour), SignWith: SignWithOld}
	if h, _ = ft.HeadersRotating(old, "new", body, "", at); !verifies(ft, h, "old") || verifies(ft, h, "new") {
		t.Errorf("fivetran, window open, sign with old: signed with the wrong secret")
	}
	if h, _ = ft.HeadersRotating(&Rotation{PreviousSecret: "old", Until: at, SignWith: SignWithOld}, "new", body, "", at); !verifies(ft, h, "new") {
		t.Errorf("fivetran, window closed: not signed with the new secret")
	}
	if h, _ = ft.HeadersRotating(nil, "new", body, "", at); !verifies(ft, h, "new") {
		t.Errorf("no rotation: not signed with the secret")
	}
}

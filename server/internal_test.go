package server

import (
	"encoding/base64"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
)

func TestCursor(t *testing.T) {
	t.Parallel()
	for _, seq := range []int64{1, 2, 250, 1 << 40} {
		c := encodeSeqCursor(seq)
		if got, ok := decodeSeqCursor(c); !ok || got != seq {
			t.Errorf("decode(encode(%d)) = %d, %v", seq, got, ok)
		}
		// Another seq with the old MAC is refused.
		b, _ := base64.RawURLEncoding.DecodeString(c)
		b[8]++
		if _, ok := decodeSeqCursor(base64.RawURLEncoding.EncodeToString(b)); ok {
			t.Errorf("forged cursor for %d accepted", seq)
		}
		// A webhook cursor is not a delivery cursor.
		if _, ok := decodeCursor(cursorDeliveries, c); ok {
			t.Errorf("webhook cursor accepted as a delivery cursor")
		}
	}
	for _, bad := range []string{"", "!!", "dw", strings.Repeat("A", 18)} {
		if _, ok := decodeSeqCursor(bad); ok {
			t.Errorf("cursor %q accepted", bad)
		}
	}
	d := encodeCursor(cursorDeliveries, []byte("0190-abc"))
	if pos, ok := decodeCursor(cursorDeliveries, d); !ok || string(pos) != "0190-abc" {
		t.Errorf("delivery cursor round trip: %q %v", pos, ok)
	}
}

func TestMarshalerIsCompactAndOrdered(t *testing.T) {
	t.Parallel()
	m := jsonMarshaler{}
	// Repeat: protojson varies its whitespace at random per process, so
	// one call proves little; many calls and one answer prove the compaction.
	for range 20 {
		b, err := m.Marshal(&standinv1.TestWebhookResponse{
			Code:    "Success",
			Message: proto.String("Operation performed."),
			Data:    &standinv1.TestResult{},
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"code":"Success","message":"Operation performed.","data":{"succeed":false,"status":0,"message":""}}`; string(b) != want {
			t.Fatalf("got %s\nwant %s", b, want)
		}
	}
	var spec *standinv1.WebhookSpec
	if err := m.Unmarshal([]byte(`{"url":"u","active":false}`), &spec); err != nil || spec.GetUrl() != "u" || spec.Active == nil {
		t.Errorf("decode into a nil body field: %v %v", spec, err)
	}
	if err := m.Unmarshal([]byte(`{"nope":1}`), &standinv1.WebhookSpec{}); err == nil || !strings.HasPrefix(err.Error(), "Invalid request body: ") {
		t.Errorf("unknown field: %v", err)
	}
}

package server

import (
	"bytes"
	"testing"
)

// FuzzDecodeCursor feeds arbitrary strings to the cursor decoders. They must
// never panic, and whatever they accept must be canonical: re-encoding the
// decoded position gives back the same cursor, so no two strings name one
// position and a hand-edited cursor cannot slip through.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursorWebhooks, encodeSeqCursor(1))
	f.Add(cursorWebhooks, encodeSeqCursor(1<<40))
	f.Add(cursorDeliveries, encodeCursor(cursorDeliveries, []byte("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")))
	f.Add(cursorDeliveries, encodeSeqCursor(7))
	f.Add(cursorWebhooks, "dwAAAAAAAAACt0WbFw")
	f.Add(cursorWebhooks, "dwAAAAAAAAACt0WbFw==")
	f.Add(cursorWebhooks, "")
	f.Add(byte(0), "AA")
	f.Fuzz(func(t *testing.T, kind byte, cursor string) {
		if pos, ok := decodeCursor(kind, cursor); ok {
			if again := encodeCursor(kind, pos); again != cursor {
				t.Fatalf("decodeCursor(%q) accepted a non-canonical cursor (canonical %q)", cursor, again)
			}
		}
		if seq, ok := decodeSeqCursor(cursor); ok {
			if seq <= 0 {
				t.Fatalf("decodeSeqCursor(%q) = %d, accepted a non-positive seq", cursor, seq)
			}
			if again := encodeSeqCursor(seq); again != cursor {
				t.Fatalf("decodeSeqCursor(%q) accepted a non-canonical cursor (canonical %q)", cursor, again)
			}
		}
	})
}

// FuzzCursorRoundTrip checks that every position survives encoding, and
// that a cursor of one kind is never accepted as another.
func FuzzCursorRoundTrip(f *testing.F) {
	f.Add(cursorDeliveries, []byte("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"))
	f.Add(cursorWebhooks, []byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add(byte(0xff), []byte{})
	f.Fuzz(func(t *testing.T, kind byte, pos []byte) {
		c := encodeCursor(kind, pos)
		got, ok := decodeCursor(kind, c)
		if !ok || !bytes.Equal(got, pos) {
			t.Fatalf("decodeCursor(encodeCursor(%q)) = %q, %v", pos, got, ok)
		}
		if _, ok := decodeCursor(kind+1, c); ok {
			t.Fatalf("a cursor of kind %d was accepted as kind %d", kind, kind+1)
		}
	})
}

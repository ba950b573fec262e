package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// Cursors are opaque to clients: base64url (no padding) of a kind byte, the
// position and a 4-byte truncated HMAC-SHA256 of both. The HMAC key is
// fixed, so cursors stay valid across restarts and across processes sharing
// a database; the check is not a secret, it only makes hand-edited or
// truncated cursors, and cursors of another list, fail cleanly.
const (
	cursorWebhooks   byte = 'w' // position: the last Seq, 8 bytes big-endian
	cursorDeliveries byte = 'd' // position: the last delivery id
	cursorEvents     byte = 'e' // position: the last event id
	cursorMACSize         = 4
)

var cursorKey = []byte("standin cursor v1")

func cursorMAC(kind byte, pos []byte) []byte {
	m := hmac.New(sha256.New, cursorKey)
	m.Write([]byte{kind})
	m.Write(pos)
	return m.Sum(nil)[:cursorMACSize]
}

func encodeCursor(kind byte, pos []byte) string {
	b := make([]byte, 0, 1+len(pos)+cursorMACSize)
	b = append(b, kind)
	b = append(b, pos...)
	b = append(b, cursorMAC(kind, pos)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the position of a cursor of the given kind, or false
// when the cursor is malformed, forged or of another kind.
func decodeCursor(kind byte, cursor string) ([]byte, bool) {
	// The decoder skips \r and \n even when strict; a cursor has neither.
	if strings.ContainsAny(cursor, "\r\n") {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(b) < 1+cursorMACSize || b[0] != kind {
		return nil, false
	}
	pos, mac := b[1:len(b)-cursorMACSize], b[len(b)-cursorMACSize:]
	if !hmac.Equal(mac, cursorMAC(kind, pos)) {
		return nil, false
	}
	return pos, true
}

func encodeSeqCursor(seq int64) string {
	return encodeCursor(cursorWebhooks, binary.BigEndian.AppendUint64(nil, uint64(seq)))
}

func decodeSeqCursor(cursor string) (int64, bool) {
	pos, ok := decodeCursor(cursorWebhooks, cursor)
	if !ok || len(pos) != 8 {
		return 0, false
	}
	seq := int64(binary.BigEndian.Uint64(pos))
	return seq, seq > 0
}

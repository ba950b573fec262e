package delivery_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// fuzzBody is a real Fivetran sync_end capture.
const fuzzBody = `{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"inappropriate_implode","data":{"status":"SUCCESSFUL"}}`

// FuzzVerify throws arbitrary signatures, secrets, bodies and header values
// at every Verify helper, as a hostile sender would. None may panic, and
// none may accept a signature that is not the one the signer makes: an
// accepted value must decode to the same bytes as the signer's.
func FuzzVerify(f *testing.F) {
	sig := func(secret string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(fuzzBody))
		return hex.EncodeToString(m.Sum(nil))
	}
	f.Add("my_webhook_secret", []byte(fuzzBody), sig("my_webhook_secret"), "SHA256", "HEX", "msg_1", int64(1779408368))
	f.Add("my_webhook_secret", []byte(fuzzBody), strings.ToUpper(sig("my_webhook_secret")), "sha-1", "base64", "msg_1", int64(0))
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", []byte("{}"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v2,x", "md5", "", "msg_p5jXN8AQM9LWM0D4loKWxJek", int64(1614265330))
	f.Add("", []byte(nil), "", "", "", "", int64(-1))
	f.Add("s", []byte("b"), "====", "SHA512", "hex", "a\r\nb", int64(1<<62))
	f.Fuzz(func(t *testing.T, secret string, body []byte, signature, algorithm, encoding, msgID string, unix int64) {
		// Fivetran: hex HMAC-SHA256, either case.
		if delivery.VerifyFivetran(secret, body, signature) {
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(body)
			if got, err := hex.DecodeString(signature); err != nil || !hmac.Equal(got, m.Sum(nil)) {
				t.Fatalf("VerifyFivetran accepted %q for secret %q", signature, secret)
			}
		}

		// Generic HMAC: whatever verifies must equal the signer's output.
		ok, err := delivery.VerifyHMAC(algorithm, encoding, secret, body, signature)
		s := delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: algorithm, Encoding: encoding}
		if (err != nil) != (s.Validate() != nil) {
			t.Fatalf("VerifyHMAC error %v, Validate %v: they disagree on %q/%q", err, s.Validate(), algorithm, encoding)
		}
		if ok {
			h, err := s.Headers(secret, body, "", time.Time{})
			if err != nil {
				t.Fatalf("VerifyHMAC accepted, Headers failed: %v", err)
			}
			want, got := decodeSig(t, encoding, h.Get(delivery.HeaderHMACSign)), decodeSig(t, encoding, signature)
			if !bytes.Equal(want, got) {
				t.Fatalf("VerifyHMAC(%q, %q) accepted %q, signer sent %q", algorithm, encoding, signature, h.Get(delivery.HeaderHMACSign))
			}
		}

		// Token: exact match only.
		if delivery.VerifyToken(secret, signature) != (secret != "" && secret == signature) {
			t.Fatalf("VerifyToken(%q, %q) = %v", secret, signature, !(secret != "" && secret == signature))
		}

		// Standard Webhooks: an accepted header must carry the signer's v1.
		now := time.Unix(unix, 0)
		header := http.Header{}
		header.Set(delivery.HeaderWebhookID, msgID)
		header.Set(delivery.HeaderWebhookTimestamp, strconv.FormatInt(unix, 10))
		header.Set(delivery.HeaderWebhookSignature, signature)
		if delivery.VerifyStandard(secret, header, body, now, 0) == nil {
			st := delivery.Signing{Scheme: delivery.SchemeStandard}
			signed, err := st.Headers(secret, body, msgID, now)
			if err != nil {
				t.Fatalf("VerifyStandard accepted, Headers failed: %v", err)
			}
			if !containsEquivalentV1(signature, signed.Get(delivery.HeaderWebhookSignature)) {
				t.Fatalf("VerifyStandard accepted %q, signer sent %q", signature, signed.Get(delivery.HeaderWebhookSignature))
			}
		}
	})
}

// decodeSig decodes a hex or base64 (padded or not) signature, nil when it
// does not decode.
func decodeSig(t *testing.T, encoding, sig string) []byte {
	t.Helper()
	if strings.EqualFold(encoding, "hex") {
		b, _ := hex.DecodeString(sig)
		return b
	}
	if b, err := base64.StdEncoding.DecodeString(sig); err == nil {
		return b
	}
	b, _ := base64.RawStdEncoding.DecodeString(sig)
	return b
}

// containsEquivalentV1 reports whether a space-separated signature list holds
// a v1 entry whose base64 decodes to the same bytes as want's.
func containsEquivalentV1(list, want string) bool {
	wb, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(want, "v1,"))
	for _, e := range strings.Fields(list) {
		v, sig, ok := strings.Cut(e, ",")
		if !ok || v != "v1" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(sig); err == nil && bytes.Equal(b, wb) {
			return true
		}
	}
	return false
}

// FuzzSigningRoundTrip signs random bodies with random schemes and secrets.
// Whatever Headers produces must be valid header values (no header
// injection through a secret or message id) and must verify with the same
// secret; a changed body or secret must not verify for the schemes that
// sign the body.
func FuzzSigningRoundTrip(f *testing.F) {
	f.Add("", "", "", "", false, "my_webhook_secret", []byte(fuzzBody), "msg_1", int64(1779408368))
	f.Add("hmac", "sha-1", "hex", "X-Sig", true, "s", []byte("{}"), "", int64(0))
	f.Add("token", "", "", "Authorization", false, "Bearer abc", []byte("{}"), "", int64(0))
	f.Add("token", "", "", "X-Token", false, "a\r\nInjected: yes", []byte("{}"), "", int64(0))
	f.Add("standard", "", "", "", false, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", []byte(fuzzBody), "msg\n2", int64(1614265330))
	f.Add("none", "", "", "", false, "s", []byte(nil), "", int64(0))
	f.Fuzz(func(t *testing.T, scheme, algorithm, encoding, headerName string, lowerHex bool, secret string, body []byte, msgID string, unix int64) {
		s := delivery.Signing{Scheme: delivery.Scheme(scheme), Algorithm: algorithm, Encoding: encoding, Header: headerName, LowerHex: lowerHex}
		at := time.Unix(unix, 0)
		h, err := s.Headers(secret, body, msgID, at)
		if s.Validate() != nil {
			if err == nil {
				t.Fatalf("Headers accepted an invalid signing %+v", s)
			}
			return
		}
		if err != nil {
			return // a secret or message id that cannot be sent
		}
		for k, vs := range h {
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") || strings.ContainsAny(k, "\r\n\x00: ") {
					t.Fatalf("header %q: %q can inject headers", k, v)
				}
			}
		}
		if err := s.Verify(secret, h, body, at); err != nil {
			t.Fatalf("Verify of Headers(%+v, %q) = %v", s, secret, err)
		}
		if secret == "" {
			if len(h) != 0 {
				t.Fatalf("headers %v sent without a secret", h)
			}
			return
		}
		switch s.Scheme {
		case delivery.SchemeToken, delivery.SchemeNone:
		default:
			if s.Verify(secret, h, append(bytes.Clone(body), 'x'), at) == nil {
				t.Fatalf("a changed body verified under %+v", s)
			}
		}
		if s.Scheme != delivery.SchemeNone && s.Verify(secret+"x", h, body, at) == nil {
			t.Fatalf("another secret verified under %+v", s)
		}
	})
}

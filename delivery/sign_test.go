package delivery

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Signature vectors: HMAC of realCapture keyed with vectorSecret, computed
// independently with OpenSSL 3.0 while writing this test, e.g.
//
//	printf '%s' "$BODY" | openssl dgst -sha256 -hmac my_webhook_secret -r
//	printf '%s' "$BODY" | openssl dgst -sha256 -hmac my_webhook_secret -binary | base64
const vectorSecret = "my_webhook_secret"

var vectors = map[string]struct{ hex, base64 string }{
	"SHA1":   {"10eeff128f60117c3508e229b3ebdd15a226de34", "EO7/Eo9gEXw1COIps+vdFaIm3jQ="},
	"SHA224": {"2153dbe0f0954283013146995d38d3c19a1374f46029fcc431a7f5c7", "IVPb4PCVQoMBMUaZXTjTwZoTdPRgKfzEMaf1xw=="},
	"SHA256": {"214cec7b3d7716916b32f3bbbe9dda2b72f489e509d38a93527a4630264b1fd1", "IUzsez13FpFrMvO7vp3aK3L0ieUJ04qTUnpGMCZLH9E="},
	"SHA384": {"5d7dd1ee02c256e6d146f91dabd68f639058a5033cd7f4e13f016cdd0c181a3b3e38adc7f8cb89ad3e5d5c5fe9b54c3a", "XX3R7gLCVubRRvkdq9aPY5BYpQM81/ThPwFs3QwYGjs+OK3H+MuJrT5dXF/ptUw6"},
	"SHA512": {"726437c86d9f039b4ad876a1e37495dea3e38a68d1c8623f27876c50130c1c182bf4d92986adc1b80a7341dd0f41b63bacff803fe6c5903289765c9867095d49", "cmQ3yG2fA5tK2Hah43SV3qPjimjRyGI/J4dsUBMMHBgr9Nkphq3BuApzQd0PQbY7rP+AP+bFkDKJdlyYZwldSQ=="},
	"MD5":    {"9027192bfb9f83b3aa6c0ff9d852616f", "kCcZK/ufg7OqbA/52FJhbw=="},
}

// The Standard Webhooks specification's published test vector.
const (
	swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTS     = 1614265330
	swBody   = `{"test": 2432232314}`
	swSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// The padded whsec_ secret below is base64("0123456789abcdef"); its vector
// was computed with openssl dgst -sha256 -hmac 0123456789abcdef.
//
// A secret without the whsec_ prefix is used as raw bytes (checked with
// openssl dgst -sha256 -hmac plain-secret over "msg_1.1779408368.<realCapture>").
const rawStandardSig = "v1,E8v5H7SOfehcHs7hB2BirFNkr6HZVrdmeWUUXlTQ1vM="

var rawStandardAt = time.Unix(1779408368, 0)

func TestHeaders(t *testing.T) {
	t.Parallel()
	body := []byte(realCapture)
	type tc struct {
		name    string
		signing Signing
		secret  string
		msgID   string
		at      time.Time
		body    []byte
		want    http.Header
	}
	cases := []tc{
		{name: "zero value is fivetran upper hex", secret: vectorSecret, body: body,
			want: http.Header{"X-Fivetran-Signature-256": {strings.ToUpper(vectors["SHA256"].hex)}}},
		{name: "fivetran explicit", signing: Signing{Scheme: SchemeFivetran, Algorithm: "sha-256", Encoding: "hex", Header: "x-fivetran-signature-256"}, secret: vectorSecret, body: body,
			want: http.Header{"X-Fivetran-Signature-256": {"214CEC7B3D7716916B32F3BBBE9DDA2B72F489E509D38A93527A4630264B1FD1"}}},
		{name: "fivetran lower hex", signing: Signing{LowerHex: true}, secret: vectorSecret, body: body,
			want: http.Header{"X-Fivetran-Signature-256": {"214cec7b3d7716916b32f3bbbe9dda2b72f489e509d38a93527a4630264b1fd1"}}},
		{name: "hmac default is sha256 base64", signing: Signing{Scheme: SchemeHMAC}, secret: vectorSecret, body: body,
			want: http.Header{"X-Fivetran-Hmac-Sign": {vectors["SHA256"].base64}}},
		{name: "hmac custom header", signing: Signing{Scheme: SchemeHMAC, Algorithm: "SHA-1", Encoding: "hex", Header: "x-signature", LowerHex: true}, secret: vectorSecret, body: body,
			want: http.Header{"X-Signature": {vectors["SHA1"].hex}}},
		{name: "token", signing: Signing{Scheme: SchemeToken, Header: "Authorization"}, secret: "Bearer t0k3n", body: body,
			want: http.Header{"Authorization": {"Bearer t0k3n"}}},
		{name: "standard published vector", signing: Signing{Scheme: SchemeStandard}, secret: swSecret, msgID: swID, at: time.Unix(swTS, 999_000_000), body: []byte(swBody),
			want: http.Header{"Webhook-Id": {swID}, "Webhook-Timestamp": {"1614265330"}, "Webhook-Signature": {swSig}}},
		{name: "standard raw secret", signing: Signing{Scheme: SchemeStandard}, secret: "plain-secret", msgID: "msg_1", at: rawStandardAt, body: body,
			want: http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1779408368"}, "Webhook-Signature": {rawStandardSig}}},
		{name: "standard padded whsec secret", signing: Signing{Scheme: SchemeStandard}, secret: "whsec_MDEyMzQ1Njc4OWFiY2RlZg==", msgID: "msg_2", at: time.Unix(swTS, 0), body: []byte(`{"a":1}`),
			want: http.Header{"Webhook-Id": {"msg_2"}, "Webhook-Timestamp": {"1614265330"}, "Webhook-Signature": {"v1,1/J1PaBxgZVTikVkpQSTJc32lQ2piAesUuDgPNy3tgI="}}},
		{name: "none", signing: Signing{Scheme: SchemeNone}, secret: vectorSecret, body: body, want: http.Header{}},
	}
	for alg, v := range vectors {
		cases = append(cases,
			tc{name: "hmac " + alg + " base64", signing: Signing{Scheme: SchemeHMAC, Algorithm: alg, Encoding: "BASE64"}, secret: vectorSecret, body: body,
				want: http.Header{"X-Fivetran-Hmac-Sign": {v.base64}}},
			tc{name: "hmac " + alg + " hex upper", signing: Signing{Scheme: SchemeHMAC, Algorithm: strings.ToLower(alg), Encoding: "HEX"}, secret: vectorSecret, body: body,
				want: http.Header{"X-Fivetran-Hmac-Sign": {strings.ToUpper(v.hex)}}},
			tc{name: "hmac " + alg + " hex lower", signing: Signing{Scheme: SchemeHMAC, Algorithm: alg, Encoding: "hex", LowerHex: true}, secret: vectorSecret, body: body,
				want: http.Header{"X-Fivetran-Hmac-Sign": {v.hex}}},
		)
	}
	// No secret, no header, whatever the scheme.
	for _, s := range []Signing{{}, {Scheme: SchemeHMAC}, {Scheme: SchemeToken, Header: "X-Token"}, {Scheme: SchemeStandard}, {Scheme: SchemeNone}} {
		cases = append(cases, tc{name: "no secret " + string(s.Scheme), signing: s, msgID: "m", at: rawStandardAt, body: body, want: http.Header{}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.signing.Headers(c.secret, c.body, c.msgID, c.at)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Headers = %v, want %v", got, c.want)
			}
			// Whatever Headers produces, Verify accepts.
			if err := c.signing.Verify(c.secret, got, c.body, c.at); err != nil {
				t.Errorf("Verify(own headers) = %v", err)
			}
		})
	}
}

func TestHeadersErrors(t *testing.T) {
	t.Parallel()
	at := time.Unix(swTS, 0)
	for _, tc := range []struct {
		name    string
		signing Signing
		secret  string
		msgID   string
		at      time.Time
		want    string
	}{
		{"invalid signing", Signing{Scheme: "jwt"}, "s", "m", at, `signing scheme: unknown scheme "jwt"`},
		{"standard without id", Signing{Scheme: SchemeStandard}, "s", "", at, "message id is required"},
		{"standard id with newline", Signing{Scheme: SchemeStandard}, "s", "a\nb", at, "not a valid header value"},
		{"standard without time", Signing{Scheme: SchemeStandard}, "s", "m", time.Time{}, "timestamp is required"},
		{"token with newline", Signing{Scheme: SchemeToken, Header: "X-Token"}, "a\r\nX-Evil: 1", "", time.Time{}, "not allowed in a header value"},
	} {
		h, err := tc.signing.Headers(tc.secret, []byte("{}"), tc.msgID, tc.at)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Headers = %v, %v; want error containing %q", tc.name, h, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := []Signing{
		{},
		{Scheme: SchemeFivetran, LowerHex: true},
		{Scheme: SchemeFivetran, Algorithm: "SHA256", Encoding: "HEX", Header: "X-Fivetran-Signature-256"},
		{Scheme: SchemeHMAC},
		{Scheme: SchemeHMAC, Algorithm: "sha-512", Encoding: "hex", Header: "X-Hub-Signature"},
		{Scheme: SchemeHMAC, Algorithm: "Sha_224"},
		{Scheme: SchemeHMAC, Algorithm: "md5", Encoding: "Base64"},
		{Scheme: SchemeToken, Header: "Authorization"},
		{Scheme: SchemeToken, Header: "x-api-key"},
		{Scheme: SchemeStandard},
		{Scheme: SchemeStandard, Algorithm: "SHA256", Encoding: "BASE64"},
		{Scheme: SchemeNone},
	}
	for _, s := range valid {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", s, err)
		}
	}
	for _, tc := range []struct {
		s     Signing
		field string
	}{
		{Signing{Scheme: "fivetran_v2"}, "scheme"},
		{Signing{Scheme: SchemeToken, Header: "X-Token", PrefixAlgorithm: true}, "prefix_algorithm"},
		{Signing{Scheme: "TOKEN_BASED"}, "header"},
		{Signing{Scheme: "jwt"}, "scheme"},
		{Signing{Scheme: SchemeHMAC, Algorithm: "SHA3-256"}, "algorithm"},
		{Signing{Scheme: SchemeHMAC, Algorithm: "CRC32"}, "algorithm"},
		{Signing{Scheme: SchemeHMAC, Encoding: "BASE32"}, "encoding"},
		{Signing{Scheme: SchemeHMAC, Header: "X Bad"}, "header"},
		{Signing{Scheme: SchemeHMAC, Header: "X-Sig:"}, "header"},
		{Signing{Scheme: SchemeHMAC, Header: "Content-Type"}, "header"},
		{Signing{Scheme: SchemeToken}, "header"},
		{Signing{Scheme: SchemeToken, Header: "host"}, "header"},
		{Signing{Scheme: SchemeToken, Header: "X-Tökén"}, "header"},
		{Signing{Algorithm: "SHA1"}, "algorithm"},
		{Signing{Scheme: SchemeFivetran, Encoding: "BASE64"}, "encoding"},
		{Signing{Scheme: SchemeFivetran, Header: "X-Other"}, "header"},
		{Signing{Scheme: SchemeStandard, Algorithm: "SHA512"}, "algorithm"},
		{Signing{Scheme: SchemeStandard, Encoding: "HEX"}, "encoding"},
		{Signing{Scheme: SchemeStandard, Header: "X-Sig"}, "header"},
		{Signing{Scheme: SchemeNone, Encoding: "rot13"}, "encoding"},
	} {
		err := tc.s.Validate()
		var se *SigningError
		if !errors.As(err, &se) || se.Field != tc.field || !errors.Is(err, ErrInvalidSigning) {
			t.Errorf("Validate(%+v) = %v, want a *SigningError on %s", tc.s, err, tc.field)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	body := []byte(realCapture)
	now := time.Unix(1779408368, 0)
	sign := func(s Signing, secret string) http.Header {
		h, err := s.Headers(secret, body, "msg_1", now)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}
	fivetran := sign(Signing{}, vectorSecret)
	hmacHex := sign(Signing{Scheme: SchemeHMAC, Algorithm: "SHA512", Encoding: "HEX"}, vectorSecret)
	token := sign(Signing{Scheme: SchemeToken, Header: "X-Token"}, vectorSecret)
	standard := sign(Signing{Scheme: SchemeStandard}, swSecret)
	tampered := []byte(strings.Replace(realCapture, "SUCCESSFUL", "FAILURE", 1))

	for _, tc := range []struct {
		name    string
		signing Signing
		secret  string
		header  http.Header
		body    []byte
		now     time.Time
		want    error // nil = accepted
	}{
		{"fivetran ok", Signing{}, vectorSecret, fivetran, body, now, nil},
		{"fivetran lower-case accepted", Signing{}, vectorSecret, with(fivetran, HeaderFivetranSignature, vectors["SHA256"].hex), body, now, nil},
		{"fivetran tampered body", Signing{}, vectorSecret, fivetran, tampered, now, ErrInvalidSignature},
		{"fivetran wrong secret", Signing{}, "other", fivetran, body, now, ErrInvalidSignature},
		{"fivetran missing", Signing{}, vectorSecret, http.Header{}, body, now, ErrMissingSignature},
		{"fivetran not hex", Signing{}, vectorSecret, with(fivetran, HeaderFivetranSignature, "zz"), body, now, ErrInvalidSignature},
		{"fivetran truncated", Signing{}, vectorSecret, with(fivetran, HeaderFivetranSignature, vectors["SHA256"].hex[:62]), body, now, ErrInvalidSignature},
		{"fivetran signature of another algorithm", Signing{}, vectorSecret, with(fivetran, HeaderFivetranSignature, vectors["SHA512"].hex), body, now, ErrInvalidSignature},
		{"no secret, no header", Signing{}, "", http.Header{}, body, now, nil},
		{"no secret but a header", Signing{}, "", fivetran, body, now, ErrInvalidSignature},
		{"hmac hex ok", Signing{Scheme: SchemeHMAC, Algorithm: "SHA512", Encoding: "HEX"}, vectorSecret, hmacHex, body, now, nil},
		{"hmac wrong algorithm", Signing{Scheme: SchemeHMAC, Algorithm: "SHA384", Encoding: "HEX"}, vectorSecret, hmacHex, body, now, ErrInvalidSignature},
		{"hmac hex in wrong header", Signing{Scheme: SchemeHMAC, Algorithm: "SHA512", Encoding: "HEX", Header: "X-Other"}, vectorSecret, hmacHex, body, now, ErrMissingSignature},
		{"hmac tampered", Signing{Scheme: SchemeHMAC, Algorithm: "SHA512", Encoding: "HEX"}, vectorSecret, hmacHex, tampered, now, ErrInvalidSignature},
		{"token ok", Signing{Scheme: SchemeToken, Header: "X-Token"}, vectorSecret, token, body, now, nil},
		{"token wrong", Signing{Scheme: SchemeToken, Header: "X-Token"}, vectorSecret, with(token, "X-Token", vectorSecret+"x"), body, now, ErrInvalidSignature},
		{"token prefix", Signing{Scheme: SchemeToken, Header: "X-Token"}, vectorSecret, with(token, "X-Token", vectorSecret[:5]), body, now, ErrInvalidSignature},
		{"token missing", Signing{Scheme: SchemeToken, Header: "X-Token"}, vectorSecret, http.Header{}, body, now, ErrMissingSignature},
		{"standard ok", Signing{Scheme: SchemeStandard}, swSecret, standard, body, now, nil},
		{"standard tampered", Signing{Scheme: SchemeStandard}, swSecret, standard, tampered, now, ErrInvalidSignature},
		{"standard wrong id", Signing{Scheme: SchemeStandard}, swSecret, with(standard, HeaderWebhookID, "msg_2"), body, now, ErrInvalidSignature},
		{"standard stale", Signing{Scheme: SchemeStandard}, swSecret, standard, body, now.Add(5*time.Minute + time.Second), ErrTimestamp},
		{"standard edge of tolerance", Signing{Scheme: SchemeStandard}, swSecret, standard, body, now.Add(5 * time.Minute), nil},
		{"standard from the future", Signing{Scheme: SchemeStandard}, swSecret, standard, body, now.Add(-5*time.Minute - time.Second), ErrTimestamp},
		{"standard missing signature", Signing{Scheme: SchemeStandard}, swSecret, with(standard, HeaderWebhookSignature, ""), body, now, ErrMissingSignature},
		{"none accepts anything", Signing{Scheme: SchemeNone}, vectorSecret, http.Header{}, tampered, now, nil},
		{"invalid signing", Signing{Scheme: "x"}, vectorSecret, fivetran, body, now, ErrInvalidSigning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.signing.Verify(tc.secret, tc.header, tc.body, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	body := []byte(swBody)
	now := time.Unix(swTS, 0)
	header := func(id, ts, sig string) http.Header {
		h := http.Header{}
		for k, v := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		return h
	}
	for _, tc := range []struct {
		name      string
		secret    string
		h         http.Header
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"published vector", swSecret, header(swID, "1614265330", swSig), body, now, 0, nil},
		{"one of several signatures", swSecret, header(swID, "1614265330", "v1,Zm9v v2,abc "+swSig), body, now, 0, nil},
		{"multiple header lines", swSecret, http.Header{"Webhook-Id": {swID}, "Webhook-Timestamp": {"1614265330"}, "Webhook-Signature": {"v1,Zm9v", swSig}}, body, now, 0, nil},
		{"only other versions", swSecret, header(swID, "1614265330", "v1a,"+swSig[3:]+" v2,"+swSig[3:]), body, now, 0, ErrInvalidSignature},
		{"no version prefix", swSecret, header(swID, "1614265330", swSig[3:]), body, now, 0, ErrInvalidSignature},
		{"wrong secret", "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", header(swID, "1614265330", swSig), body, now, 0, ErrInvalidSignature},
		{"body with a space less", swSecret, header(swID, "1614265330", swSig), []byte(`{"test":2432232314}`), now, 0, ErrInvalidSignature},
		{"timestamp changed", swSecret, header(swID, "1614265331", swSig), body, now, 0, ErrInvalidSignature},
		{"within custom tolerance", swSecret, header(swID, "1614265330", swSig), body, now.Add(time.Hour), 2 * time.Hour, nil},
		{"outside custom tolerance", swSecret, header(swID, "1614265330", swSig), body, now.Add(time.Minute + time.Second), time.Minute, ErrTimestamp},
		{"default tolerance", swSecret, header(swID, "1614265330", swSig), body, now.Add(6 * time.Minute), 0, ErrTimestamp},
		{"bad timestamp", swSecret, header(swID, "1614265330.5", swSig), body, now, 0, ErrTimestamp},
		{"missing id", swSecret, header("", "1614265330", swSig), body, now, 0, ErrMissingSignature},
		{"missing timestamp", swSecret, header(swID, "", swSig), body, now, 0, ErrMissingSignature},
		{"missing signature", swSecret, header(swID, "1614265330", ""), body, now, 0, ErrMissingSignature},
		{"empty secret", "", header(swID, "1614265330", swSig), body, now, 0, ErrInvalidSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := VerifyStandard(tc.secret, tc.h, tc.body, tc.now, tc.tolerance)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("VerifyStandard = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyHelpers(t *testing.T) {
	t.Parallel()
	body := []byte(realCapture)
	for alg, v := range vectors {
		for _, tc := range []struct {
			alg, enc, sig string
			want          bool
		}{
			{alg, "HEX", v.hex, true},
			{alg, "hex", strings.ToUpper(v.hex), true},
			{strings.ToLower(alg), "BASE64", v.base64, true},
			{alg, "", v.base64, true},
			{alg, "base64", strings.TrimRight(v.base64, "="), true},
			{alg, "BASE64", v.hex, false},
			{alg, "HEX", v.base64, false},
			{alg, "HEX", "", false},
			{alg, "HEX", v.hex[2:], false},
		} {
			got, err := VerifyHMAC(tc.alg, tc.enc, vectorSecret, body, tc.sig)
			if err != nil || got != tc.want {
				t.Errorf("VerifyHMAC(%s, %s, %q) = %v, %v; want %v", tc.alg, tc.enc, tc.sig, got, err, tc.want)
			}
		}
		if ok, _ := VerifyHMAC(alg, "HEX", "", body, v.hex); ok {
			t.Errorf("VerifyHMAC(%s) with an empty secret = true", alg)
		}
	}
	if ok, _ := VerifyHMAC("SHA-256", "hex", vectorSecret, body, vectors["SHA256"].hex); !ok {
		t.Error(`VerifyHMAC("SHA-256") rejected a good signature`)
	}
	for _, tc := range []struct{ alg, enc string }{{"SHA3", "HEX"}, {"SHA256", "BASE32"}} {
		if _, err := VerifyHMAC(tc.alg, tc.enc, vectorSecret, body, "x"); !errors.Is(err, ErrInvalidSigning) {
			t.Errorf("VerifyHMAC(%s, %s) error = %v, want ErrInvalidSigning", tc.alg, tc.enc, err)
		}
	}

	for _, tc := range []struct {
		secret, sig string
		want        bool
	}{
		{vectorSecret, vectors["SHA256"].hex, true},
		{vectorSecret, strings.ToUpper(vectors["SHA256"].hex), true},
		{vectorSecret, "sha256=" + vectors["SHA256"].hex, false},
		{vectorSecret, "", false},
		{"", vectors["SHA256"].hex, false},
		{vectorSecret + " ", vectors["SHA256"].hex, false},
	} {
		if got := VerifyFivetran(tc.secret, body, tc.sig); got != tc.want {
			t.Errorf("VerifyFivetran(%q, %q) = %v, want %v", tc.secret, tc.sig, got, tc.want)
		}
	}

	for _, tc := range []struct {
		secret, got string
		want        bool
	}{
		{"t0k3n", "t0k3n", true},
		{"t0k3n", "T0K3N", false},
		{"t0k3n", "t0k3", false},
		{"t0k3n", "", false},
		{"", "", false},
	} {
		if got := VerifyToken(tc.secret, tc.got); got != tc.want {
			t.Errorf("VerifyToken(%q, %q) = %v, want %v", tc.secret, tc.got, got, tc.want)
		}
	}
}

func BenchmarkHeaders(b *testing.B) {
	body := []byte(realCapture)
	var s Signing
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Headers(vectorSecret, body, "", time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSigningAliases: the spellings of Fivetran's webhooks-connector
// configuration sign exactly as standin's own.
func TestSigningAliases(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"sync_end"}`)
	at := time.Unix(1700000000, 0)
	for _, tc := range []struct{ alias, canonical Signing }{
		{Signing{Scheme: "HMAC"}, Signing{Scheme: SchemeHMAC}},
		{Signing{Scheme: "HMAC", Encoding: "HEXA_DECIMAL"}, Signing{Scheme: SchemeHMAC, Encoding: EncodingHex}},
		{Signing{Scheme: "TOKEN_BASED", Header: "X-Key"}, Signing{Scheme: SchemeToken, Header: "X-Key"}},
		{Signing{Scheme: "NONE"}, Signing{Scheme: SchemeNone}},
		{Signing{Scheme: "HMAC", Algorithm: "SHA_1"}, Signing{Scheme: SchemeHMAC, Algorithm: AlgorithmSHA1}},
		{Signing{Scheme: "HMAC", Algorithm: "SHA_224"}, Signing{Scheme: SchemeHMAC, Algorithm: AlgorithmSHA224}},
		{Signing{Scheme: "HMAC", Algorithm: "SHA_256"}, Signing{Scheme: SchemeHMAC, Algorithm: AlgorithmSHA256}},
		{Signing{Scheme: "HMAC", Algorithm: "SHA_384"}, Signing{Scheme: SchemeHMAC, Algorithm: AlgorithmSHA384}},
		{Signing{Scheme: "HMAC", Algorithm: "SHA_512"}, Signing{Scheme: SchemeHMAC, Algorithm: AlgorithmSHA512}},
		{Signing{Scheme: "HMAC", Algorithm: "MD5"}, Signing{Scheme: SchemeHMAC, Algorithm: AlgorithmMD5}},
	} {
		if got := tc.alias.Canonical(); got != tc.canonical {
			t.Errorf("%+v.Canonical() = %+v, want %+v", tc.alias, got, tc.canonical)
		}
		got, err := tc.alias.Headers("s3cret", body, "msg_1", at)
		if err != nil {
			t.Fatalf("%+v: %v", tc.alias, err)
		}
		want, err := tc.canonical.Headers("s3cret", body, "msg_1", at)
		if err != nil {
			t.Fatalf("%+v: %v", tc.canonical, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v sends %v, %+v sends %v", tc.alias, got, tc.canonical, want)
		}
	}
}

// TestPrefixAlgorithm: GitHub-style "sha256=<sig>" for INFER_FROM_HEADER
// receivers, verified with and refused without the prefix.
func TestPrefixAlgorithm(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"sync_end"}`)
	at := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		s      Signing
		header string
		prefix string
	}{
		{Signing{PrefixAlgorithm: true, LowerHex: true}, HeaderFivetranSignature, "sha256="},
		{Signing{Scheme: SchemeHMAC, Algorithm: "SHA_512", Encoding: "HEXA_DECIMAL", LowerHex: true, PrefixAlgorithm: true}, HeaderHMACSign, "sha512="},
		{Signing{Scheme: SchemeHMAC, Algorithm: "SHA_1", PrefixAlgorithm: true}, HeaderHMACSign, "sha1="},
		{Signing{Scheme: SchemeHMAC, Algorithm: "MD5", PrefixAlgorithm: true}, HeaderHMACSign, "md5="},
	} {
		h, err := tc.s.Headers("s3cret", body, "", at)
		if err != nil {
			t.Fatal(err)
		}
		plain := tc.s
		plain.PrefixAlgorithm = false
		ph, _ := plain.Headers("s3cret", body, "", at)
		if got := h.Get(tc.header); got != tc.prefix+ph.Get(tc.header) {
			t.Errorf("%+v: %s = %q, want %q + %q", tc.s, tc.header, got, tc.prefix, ph.Get(tc.header))
		}
		if err := tc.s.Verify("s3cret", h, body, at); err != nil {
			t.Errorf("%+v: Verify: %v", tc.s, err)
		}
		if err := tc.s.Verify("s3cret", ph, body, at); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%+v: Verify without the prefix = %v", tc.s, err)
		}
	}
}

// TestEffectivePortable: a Portable webhook signs only when its signing
// names a scheme.
func TestEffectivePortable(t *testing.T) {
	t.Parallel()
	h, err := Effective(ProfilePortable, Signing{}).Headers("s3cret", []byte(`{}`), "m", time.Unix(1, 0))
	if err != nil || len(h) != 0 {
		t.Errorf("portable default: %v, %v; want no header", h, err)
	}
	h, _ = Effective(ProfilePortable, Signing{Scheme: SchemeFivetran}).Headers("s3cret", []byte(`{}`), "m", time.Unix(1, 0))
	if h.Get(HeaderFivetranSignature) == "" {
		t.Errorf("portable asking for fivetran: %v", h)
	}
	for _, p := range []Profile{ProfileFivetran, ""} {
		h, _ = Effective(p, Signing{}).Headers("s3cret", []byte(`{}`), "m", time.Unix(1, 0))
		if h.Get(HeaderFivetranSignature) == "" {
			t.Errorf("profile %q default: %v", p, h)
		}
	}
}

package delivery

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names set by the signing schemes, in canonical form.
const (
	// HeaderFivetranSignature carries SchemeFivetran's signature.
	HeaderFivetranSignature = "X-Fivetran-Signature-256"
	// HeaderHMACSign is SchemeHMAC's default header, as read by Fivetran's
	// webhooks connector.
	HeaderHMACSign = "X-Fivetran-Hmac-Sign"
	// HeaderWebhookID is Standard Webhooks' webhook-id.
	HeaderWebhookID = "Webhook-Id"
	// HeaderWebhookTimestamp is Standard Webhooks' webhook-timestamp.
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	// HeaderWebhookSignature is Standard Webhooks' webhook-signature.
	HeaderWebhookSignature = "Webhook-Signature"
)

// SchemeHMAC algorithms and encodings, in their canonical spelling.
const (
	AlgorithmSHA1   = "SHA1"
	AlgorithmSHA224 = "SHA224"
	AlgorithmSHA256 = "SHA256"
	AlgorithmSHA384 = "SHA384"
	AlgorithmSHA512 = "SHA512"
	AlgorithmMD5    = "MD5"

	EncodingBase64 = "BASE64"
	EncodingHex    = "HEX"
)

// DefaultTolerance is how far a Standard Webhooks timestamp may be from the
// receiver's clock, in either direction, when no tolerance is given; it is
// the Standard Webhooks libraries' default.
const DefaultTolerance = 5 * time.Minute

var (
	// ErrInvalidSigning is wrapped by every *SigningError.
	ErrInvalidSigning = errors.New("invalid signing")
	// ErrMissingSignature is returned (wrapped) by Verify when an expected
	// authentication header is absent.
	ErrMissingSignature = errors.New("missing signature")
	// ErrInvalidSignature is returned (wrapped) by Verify when a signature or
	// token does not match, or a header is present that should not be.
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrTimestamp is returned (wrapped) by VerifyStandard when
	// webhook-timestamp is malformed or outside the tolerance.
	ErrTimestamp = errors.New("invalid or stale timestamp")
)

// SigningError names the Signing field that is wrong and why. It wraps
// ErrInvalidSigning.
type SigningError struct {
	// Field is the JSON name of the bad field: scheme, algorithm, encoding
	// or header.
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements error.
func (e *SigningError) Error() string { return "signing " + e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalidSigning.
func (e *SigningError) Unwrap() error { return ErrInvalidSigning }

// algorithms maps canonical algorithm names to hash constructors.
var algorithms = map[string]func() hash.Hash{
	AlgorithmSHA1:   sha1.New,
	AlgorithmSHA224: sha256.New224,
	AlgorithmSHA256: sha256.New,
	AlgorithmSHA384: sha512.New384,
	AlgorithmSHA512: sha512.New,
	AlgorithmMD5:    md5.New,
}

// normalizeAlgorithm maps "sha-256", "SHA_256", "Sha256"… to "SHA256"; the
// empty string means SHA256. It returns "" for an unknown algorithm.
func normalizeAlgorithm(a string) string {
	if a == "" {
		return AlgorithmSHA256
	}
	a = strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(a))
	if _, ok := algorithms[a]; !ok {
		return ""
	}
	return a
}

// normalizeEncoding maps "hex", "Base64"… to the canonical spelling; the
// empty string means def. It returns "" for an unknown encoding.
func normalizeEncoding(e, def string) string {
	if e == "" {
		return def
	}
	switch e = strings.ToUpper(e); e {
	case EncodingBase64, EncodingHex:
		return e
	case "HEXA_DECIMAL", "HEXADECIMAL":
		return EncodingHex
	}
	return ""
}

func (s Signing) scheme() Scheme {
	if s.Scheme == "" {
		return SchemeFivetran
	}
	return s.Canonical().Scheme
}

// header returns the header the scheme's signature or token goes in (the
// first of Standard Webhooks' three), or "" for SchemeNone.
func (s Signing) header() string {
	switch s.scheme() {
	case SchemeFivetran:
		return HeaderFivetranSignature
	case SchemeHMAC:
		if s.Header == "" {
			return HeaderHMACSign
		}
		return s.Header
	case SchemeToken:
		return s.Header
	case SchemeStandard:
		return HeaderWebhookSignature
	}
	return ""
}

// reservedHeaders are set by the sender or the HTTP transport and cannot
// carry a signature.
var reservedHeaders = []string{"Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection"}

// Validate checks s and returns a *SigningError naming the bad field: an
// unknown scheme, algorithm or encoding; an algorithm, encoding or header
// the scheme does not allow (SchemeFivetran is HMAC-SHA256 in hex in
// X-Fivetran-Signature-256, SchemeStandard HMAC-SHA256 in base64 in its own
// headers); SchemeToken without a header; a header name that is not a valid
// HTTP token or is one the sender sets itself (Host, Content-Length,
// Content-Type, Transfer-Encoding, Connection). Algorithm and encoding are
// case-insensitive ("sha-256" is SHA256). The zero value is valid.
func (s Signing) Validate() error {
	switch s.Canonical().Scheme {
	case "", SchemeFivetran, SchemeHMAC, SchemeToken, SchemeStandard, SchemeNone:
	default:
		return &SigningError{Field: "scheme", Reason: fmt.Sprintf("unknown scheme %q (want fivetran, hmac, token, standard or none; or HMAC, TOKEN_BASED, NONE)", s.Scheme)}
	}
	alg := normalizeAlgorithm(s.Algorithm)
	if alg == "" {
		return &SigningError{Field: "algorithm", Reason: fmt.Sprintf("unknown algorithm %q (want SHA1, SHA224, SHA256, SHA384, SHA512 or MD5)", s.Algorithm)}
	}
	enc := normalizeEncoding(s.Encoding, EncodingBase64)
	if enc == "" {
		return &SigningError{Field: "encoding", Reason: fmt.Sprintf("unknown encoding %q (want BASE64 or HEX; or HEXA_DECIMAL)", s.Encoding)}
	}
	if s.Header != "" {
		if !validHeaderName(s.Header) {
			return &SigningError{Field: "header", Reason: fmt.Sprintf("%q is not a valid HTTP header name", s.Header)}
		}
		for _, r := range reservedHeaders {
			if strings.EqualFold(s.Header, r) {
				return &SigningError{Field: "header", Reason: fmt.Sprintf("%q is set by the sender and cannot carry a signature", s.Header)}
			}
		}
	}
	switch s.scheme() {
	case SchemeFivetran:
		if alg != AlgorithmSHA256 {
			return &SigningError{Field: "algorithm", Reason: fmt.Sprintf("scheme fivetran always uses SHA256, not %q", s.Algorithm)}
		}
		if s.Encoding != "" && enc != EncodingHex {
			return &SigningError{Field: "encoding", Reason: fmt.Sprintf("scheme fivetran always uses HEX, not %q", s.Encoding)}
		}
		if s.Header != "" && !strings.EqualFold(s.Header, HeaderFivetranSignature) {
			return &SigningError{Field: "header", Reason: fmt.Sprintf("scheme fivetran always uses %s, not %q", HeaderFivetranSignature, s.Header)}
		}
	case SchemeToken:
		if s.Header == "" {
			return &SigningError{Field: "header", Reason: "a header name is required for scheme token (the receiver's auth_header_key); standin has no default"}
		}
		if s.PrefixAlgorithm {
			return &SigningError{Field: "prefix_algorithm", Reason: "scheme token sends no signature to prefix"}
		}
	case SchemeStandard:
		if alg != AlgorithmSHA256 {
			return &SigningError{Field: "algorithm", Reason: fmt.Sprintf("scheme standard always uses SHA256, not %q", s.Algorithm)}
		}
		if enc != EncodingBase64 {
			return &SigningError{Field: "encoding", Reason: fmt.Sprintf("scheme standard always uses BASE64, not %q", s.Encoding)}
		}
		if s.Header != "" {
			return &SigningError{Field: "header", Reason: "scheme standard uses its own webhook-* headers; header must be empty"}
		}
		if s.PrefixAlgorithm {
			return &SigningError{Field: "prefix_algorithm", Reason: "scheme standard has its own v1, prefix"}
		}
	}
	return nil
}

// algorithmPrefix is the GitHub-style prefix of a signature made with the
// canonical algorithm alg: "sha256=".
func algorithmPrefix(alg string) string { return strings.ToLower(alg) + "=" }

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Headers returns the authentication headers of one request with body body,
// under canonical header names. Like Fivetran, an empty secret means no
// header at all, whatever the scheme; SchemeNone never sets any.
//
//   - SchemeFivetran: X-Fivetran-Signature-256 = hex HMAC-SHA256(secret,
//     body), upper-case unless LowerHex.
//   - SchemeHMAC: HMAC of body with Algorithm (default SHA256) keyed with the
//     secret, in Encoding (BASE64 with padding by default, or HEX, upper-case
//     unless LowerHex), in Header (default X-Fivetran-Hmac-Sign).
//   - SchemeToken: the secret as-is in Header.
//   - SchemeStandard: webhook-id = msgID, webhook-timestamp = at in unix
//     seconds, webhook-signature = "v1," + base64(HMAC-SHA256(key,
//     msgID + "." + timestamp + "." + body)), where key is the base64-decoded
//     part after "whsec_" when the secret has that prefix and it decodes,
//     else the secret's bytes. msgID and at are required and used by this
//     scheme only.
//
// Headers returns Validate's error for an invalid s.
func (s Signing) Headers(secret string, body []byte, msgID string, at time.Time) (http.Header, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	h := make(http.Header, 3)
	if secret == "" {
		return h, nil
	}
	switch s.scheme() {
	case SchemeFivetran:
		sig := encodeHex(mac(sha256.New, secret, body), s.LowerHex)
		if s.PrefixAlgorithm {
			sig = algorithmPrefix(AlgorithmSHA256) + sig
		}
		h.Set(HeaderFivetranSignature, sig)
	case SchemeHMAC:
		alg := normalizeAlgorithm(s.Algorithm)
		sum := mac(algorithms[alg], secret, body)
		var sig string
		if normalizeEncoding(s.Encoding, EncodingBase64) == EncodingHex {
			sig = encodeHex(sum, s.LowerHex)
		} else {
			sig = base64.StdEncoding.EncodeToString(sum)
		}
		if s.PrefixAlgorithm {
			sig = algorithmPrefix(alg) + sig
		}
		h.Set(s.header(), sig)
	case SchemeToken:
		if !validHeaderValue(secret) {
			return nil, errors.New("signing: scheme token: the secret contains characters not allowed in a header value")
		}
		h.Set(s.Header, secret)
	case SchemeStandard:
		if msgID == "" {
			return nil, errors.New("signing: scheme standard: message id is required")
		}
		if !validHeaderValue(msgID) || strings.TrimSpace(msgID) != msgID {
			// Surrounding white space would be trimmed on the wire, so the
			// receiver would sign another id than the one signed here.
			return nil, fmt.Errorf("signing: scheme standard: message id %q is not a valid header value", msgID)
		}
		if at.IsZero() {
			return nil, errors.New("signing: scheme standard: timestamp is required")
		}
		ts := strconv.FormatInt(at.Unix(), 10)
		h.Set(HeaderWebhookID, msgID)
		h.Set(HeaderWebhookTimestamp, ts)
		h.Set(HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(standardMAC(secret, msgID, ts, body)))
	}
	return h, nil
}

// mac returns the HMAC of body keyed with secret.
func mac(newHash func() hash.Hash, secret string, body []byte) []byte {
	m := hmac.New(newHash, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// standardKey returns the Standard Webhooks signing key of secret.
func standardKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if key, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return key
		}
	}
	return []byte(secret)
}

// standardMAC is HMAC-SHA256(key, id + "." + ts + "." + body).
func standardMAC(secret, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, standardKey(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

func encodeHex(sum []byte, lower bool) string {
	s := hex.EncodeToString(sum)
	if lower {
		return s
	}
	return strings.ToUpper(s)
}

// VerifyFivetran reports whether signature is the X-Fivetran-Signature-256
// of body for secret: hex HMAC-SHA256, either case, compared in constant
// time. An empty secret or signature never verifies.
func VerifyFivetran(secret string, body []byte, signature string) bool {
	if secret == "" || signature == "" {
		return false
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	return hmac.Equal(got, mac(sha256.New, secret, body))
}

// VerifyHMAC reports whether signature is the HMAC of body for secret with
// algorithm (SHA1, SHA224, SHA256, SHA384, SHA512, MD5; "" is SHA256;
// case-insensitive, "SHA-256" accepted) in encoding (BASE64, padded or not,
// or HEX in either case; "" is BASE64), compared in constant time. It
// returns an error only for an unknown algorithm or encoding. An empty
// secret or signature never verifies.
func VerifyHMAC(algorithm, encoding, secret string, body []byte, signature string) (bool, error) {
	alg := normalizeAlgorithm(algorithm)
	if alg == "" {
		return false, &SigningError{Field: "algorithm", Reason: fmt.Sprintf("unknown algorithm %q", algorithm)}
	}
	enc := normalizeEncoding(encoding, EncodingBase64)
	if enc == "" {
		return false, &SigningError{Field: "encoding", Reason: fmt.Sprintf("unknown encoding %q", encoding)}
	}
	if secret == "" || signature == "" {
		return false, nil
	}
	var got []byte
	var err error
	if enc == EncodingHex {
		got, err = hex.DecodeString(signature)
	} else {
		got, err = base64.StdEncoding.DecodeString(signature)
		if err != nil {
			got, err = base64.RawStdEncoding.DecodeString(signature)
		}
	}
	if err != nil {
		return false, nil
	}
	return hmac.Equal(got, mac(algorithms[alg], secret, body)), nil
}

// VerifyToken reports whether got equals secret, in constant time. An empty
// secret never verifies.
func VerifyToken(secret, got string) bool {
	if secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(got)) == 1
}

// VerifyStandard checks the Standard Webhooks headers of a request with body
// body: webhook-id, webhook-timestamp (unix seconds, at most tolerance away
// from now in either direction; tolerance ≤ 0 means DefaultTolerance) and
// webhook-signature, which may hold several space-separated "v1,<base64>"
// entries (other versions are skipped); one must match. header must use
// canonical keys, as net/http's server provides. The error wraps
// ErrMissingSignature, ErrTimestamp or ErrInvalidSignature.
func VerifyStandard(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return fmt.Errorf("verify standard webhooks: empty secret: %w", ErrInvalidSignature)
	}
	id := header.Get(HeaderWebhookID)
	ts := header.Get(HeaderWebhookTimestamp)
	sigs := strings.Join(header.Values(HeaderWebhookSignature), " ")
	for _, hv := range []struct{ name, v string }{{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", sigs}} {
		if strings.TrimSpace(hv.v) == "" {
			return fmt.Errorf("verify standard webhooks: %s: %w", hv.name, ErrMissingSignature)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("verify standard webhooks: webhook-timestamp %q is not unix seconds: %w", ts, ErrTimestamp)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("verify standard webhooks: webhook-timestamp %s is %s from now: %w", ts, skew, ErrTimestamp)
	}
	want := standardMAC(secret, id, ts, body)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("verify standard webhooks: no matching v1 signature: %w", ErrInvalidSignature)
}

// Verify checks a received request's headers and body against s and the
// webhook's secret, as a receiver would: nil when they are what Headers
// would have produced. For SchemeNone it always returns nil. With an empty
// secret the sender sends nothing, so Verify returns nil when the scheme's
// header is absent and an error when it is present. Standard Webhooks
// timestamps are checked against now with DefaultTolerance. Errors wrap
// ErrInvalidSigning (bad s), ErrMissingSignature, ErrInvalidSignature or
// ErrTimestamp.
func (s Signing) Verify(secret string, header http.Header, body []byte, now time.Time) error {
	if err := s.Validate(); err != nil {
		return err
	}
	scheme := s.scheme()
	if scheme == SchemeNone {
		return nil
	}
	name := s.header()
	got := header.Get(name)
	if secret == "" {
		if got != "" {
			return fmt.Errorf("verify %s: %s sent but the webhook has no secret: %w", scheme, name, ErrInvalidSignature)
		}
		return nil
	}
	if scheme == SchemeStandard {
		return VerifyStandard(secret, header, body, now, DefaultTolerance)
	}
	if got == "" {
		return fmt.Errorf("verify %s: %s: %w", scheme, name, ErrMissingSignature)
	}
	if s.PrefixAlgorithm {
		alg := AlgorithmSHA256
		if scheme == SchemeHMAC {
			alg = normalizeAlgorithm(s.Algorithm)
		}
		rest, found := strings.CutPrefix(got, algorithmPrefix(alg))
		if !found {
			return fmt.Errorf("verify %s: %s lacks the %q prefix: %w", scheme, name, algorithmPrefix(alg), ErrInvalidSignature)
		}
		got = rest
	}
	var ok bool
	switch scheme {
	case SchemeFivetran:
		ok = VerifyFivetran(secret, body, got)
	case SchemeHMAC:
		ok, _ = VerifyHMAC(s.Algorithm, s.Encoding, secret, body, got) // s is valid
	case SchemeToken:
		ok = VerifyToken(secret, got)
	}
	if !ok {
		return fmt.Errorf("verify %s: %s does not match: %w", scheme, name, ErrInvalidSignature)
	}
	return nil
}

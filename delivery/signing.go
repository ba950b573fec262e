package delivery

import "strings"

// Scheme names a way of authenticating a delivery to its receiver.
type Scheme string

const (
	// SchemeFivetran is Fivetran's X-Fivetran-Signature-256: the HMAC-SHA256
	// of the exact body bytes keyed with the secret, as bare hex (upper-case
	// by default). It is the default scheme.
	SchemeFivetran Scheme = "fivetran"
	// SchemeHMAC is the generic HMAC accepted by Fivetran's webhooks
	// connector: a chosen algorithm and encoding in a chosen header
	// (default X-Fivetran-Hmac-Sign).
	SchemeHMAC Scheme = "hmac"
	// SchemeToken sends the secret as-is in a named header.
	SchemeToken Scheme = "token"
	// SchemeStandard is Standard Webhooks (webhook-id, webhook-timestamp,
	// webhook-signature).
	SchemeStandard Scheme = "standard"
	// SchemeNone sends no authentication header at all.
	SchemeNone Scheme = "none"
)

// Signing is a webhook's choice of signing scheme and its parameters. The
// zero value is Fivetran's default: upper-case hex HMAC-SHA256 in
// X-Fivetran-Signature-256 when the webhook has a secret.
type Signing struct {
	// Scheme defaults to SchemeFivetran.
	Scheme Scheme `json:"scheme,omitempty"`
	// Algorithm for SchemeHMAC: SHA1, SHA224, SHA256 (default), SHA384,
	// SHA512 or MD5.
	Algorithm string `json:"algorithm,omitempty"`
	// Encoding for SchemeHMAC: BASE64 (default) or HEX. For SchemeFivetran,
	// HEX only.
	Encoding string `json:"encoding,omitempty"`
	// Header is the header name for SchemeHMAC (default X-Fivetran-Hmac-Sign)
	// and SchemeToken (required).
	Header string `json:"header,omitempty"`
	// LowerHex makes SchemeFivetran (and SchemeHMAC with HEX) use lower-case
	// hex instead of Fivetran's upper-case.
	LowerHex bool `json:"lower_hex,omitempty"`
	// PrefixAlgorithm prefixes the signature of SchemeFivetran and SchemeHMAC
	// with the algorithm, GitHub-style ("sha256=<sig>"), for receivers that
	// read the algorithm from the header value (Fivetran's webhooks
	// connector with algorithm INFER_FROM_HEADER).
	PrefixAlgorithm bool `json:"prefix_algorithm,omitempty"`
}

// Canonical returns s with the spellings of Fivetran's webhooks-connector
// configuration (and any letter case) replaced by standin's own: scheme
// HMAC, TOKEN_BASED and NONE are hmac, token and none; encoding HEXA_DECIMAL
// is HEX; algorithm SHA_1 … SHA_512 and MD5 are SHA1 … SHA512 and MD5. An
// unknown spelling is left as it is, for Validate to refuse.
func (s Signing) Canonical() Signing {
	switch strings.ToUpper(string(s.Scheme)) {
	case "FIVETRAN":
		s.Scheme = SchemeFivetran
	case "HMAC":
		s.Scheme = SchemeHMAC
	case "TOKEN", "TOKEN_BASED":
		s.Scheme = SchemeToken
	case "STANDARD":
		s.Scheme = SchemeStandard
	case "NONE":
		s.Scheme = SchemeNone
	}
	if a := normalizeAlgorithm(s.Algorithm); a != "" && s.Algorithm != "" {
		s.Algorithm = a
	}
	if e := normalizeEncoding(s.Encoding, ""); e != "" {
		s.Encoding = e
	}
	return s
}

// Effective is the signing a webhook of profile p with signing s uses. A
// Portable webhook signs only when its signing names a scheme: Portable
// documents no signature, so its default is SchemeNone; every other case is
// s itself.
func Effective(p Profile, s Signing) Signing {
	if p == ProfilePortable && s.Scheme == "" {
		return Signing{Scheme: SchemeNone}
	}
	return s
}

package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// credentials are the API key and secret, kept as SHA-256 digests so the
// comparison takes the same time whatever the lengths.
type credentials struct {
	key, secret [sha256.Size]byte
}

// newCredentials returns nil when both are empty: authentication is off.
func newCredentials(key, secret string) *credentials {
	if key == "" && secret == "" {
		return nil
	}
	return &credentials{key: sha256.Sum256([]byte(key)), secret: sha256.Sum256([]byte(secret))}
}

// checkAuthorization returns an *authError unless values (the Authorization
// headers, or gRPC "authorization" metadata) are exactly one, holding HTTP
// Basic credentials whose key and secret match, compared in constant time. The
// error says whether the credentials were missing, repeated, malformed (another
// scheme, bad base64, no colon) or wrong, never what was sent.
//
// Fivetran does not publish the error code of a 401; standin answers
// {"code":"Unauthorized","message":"…"} with WWW-Authenticate: Basic
// realm="standin".
func (c *credentials) checkAuthorization(values []string) error {
	if len(values) == 0 {
		return &authError{msg: "Missing credentials: use HTTP Basic authentication with the API key and secret"}
	}
	if len(values) > 1 {
		return &authError{msg: "More than one Authorization header: send exactly one, with HTTP Basic authentication"}
	}
	r := http.Request{Header: http.Header{"Authorization": values[:1]}}
	key, secret, ok := r.BasicAuth()
	if !ok {
		return &authError{msg: "Malformed Authorization header: use HTTP Basic authentication with the API key and secret"}
	}
	k, s := sha256.Sum256([]byte(key)), sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(k[:], c.key[:])&subtle.ConstantTimeCompare(s[:], c.secret[:]) != 1 {
		return &authError{msg: "Invalid API key or secret"}
	}
	return nil
}

// authExempt reports whether a gRPC method needs no credentials: health
// checks and server reflection.
func authExempt(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

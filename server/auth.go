package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
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

// checkAuthorization returns an *authError unless the first of values (an
// Authorization header, or gRPC "authorization" metadata) holds HTTP Basic
// credentials whose key and secret match, compared in constant time. The
// error says whether the credentials were missing, malformed (another
// scheme, bad base64, no colon) or wrong, never what was sent.
//
// Fivetran does not publish the error code of a 401; standin answers
// {"code":"Unauthorized","message":"…"} with WWW-Authenticate: Basic
// realm="standin".
func (c *credentials) checkAuthorization(values []string) error {
	if len(values) == 0 {
		return &authError{msg: "Missing credentials: use HTTP Basic authentication with the API key and secret"}
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

// checkMetadata checks the "authorization: Basic …" metadata of a gRPC call.
func (c *credentials) checkMetadata(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	return c.checkAuthorization(md.Get("authorization"))
}

// authExempt reports whether a gRPC method needs no credentials: health
// checks and server reflection.
func authExempt(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authUnary is the unary interceptor that requires the API credentials.
func (a *API) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if a.creds != nil && !authExempt(info.FullMethod) {
		if err := a.creds.checkMetadata(ctx); err != nil {
			return nil, a.status(ctx, err)
		}
	}
	return handler(ctx, req)
}

// authStream is the stream interceptor that requires the API credentials.
func (a *API) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if a.creds != nil && !authExempt(info.FullMethod) {
		if err := a.creds.checkMetadata(ss.Context()); err != nil {
			return a.status(ss.Context(), err)
		}
	}
	return handler(srv, ss)
}

package delivery

import (
	"net/http"
	"net/url"
	"strings"
)

// Redacted stands in for a secret wherever standin would otherwise show or
// record it: the secret of a webhook in API responses, and a token header
// in the delivery log.
const Redacted = "******"

// Redact returns a copy of header, the headers of a request signed with s,
// in which the headers that carry the secret itself read Redacted: the
// token header of SchemeToken. Signatures (SchemeFivetran, SchemeHMAC,
// SchemeStandard) are kept: they are derived from the secret and the body,
// reveal neither, and are what a receiver debugging a mismatch needs to
// see. header is not modified; nil gives nil.
func (s Signing) Redact(header http.Header) http.Header {
	if header == nil {
		return nil
	}
	out := header.Clone()
	if s.scheme() == SchemeToken && s.Header != "" && len(out.Values(s.Header)) > 0 {
		out.Set(s.Header, Redacted)
	}
	return out
}

// RedactURL returns raw with the password of its user info, if any, read
// as Redacted ("http://alice:******@host/…"), for showing a receiver's URL
// in responses and the delivery log; the rest of raw is kept byte for byte.
// A URL without a password (or one that does not parse) is returned
// unchanged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	// The user info is between "//" and the authority's last "@"; its
	// password follows the first ":" in it.
	start := strings.Index(raw, "//")
	if start < 0 {
		return raw
	}
	start += 2
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndex(raw[start:end], "@")
	colon := strings.Index(raw[start:end], ":")
	if at < 0 || colon < 0 || colon > at {
		return raw
	}
	return raw[:start+colon+1] + Redacted + raw[start+at:]
}

// urlAuthorization is the Authorization header recorded for a request to a
// URL with user info, which the HTTP client sends as Basic credentials:
// "Basic ******", the credentials themselves redacted. It is "" when the
// URL has no user info.
func urlAuthorization(u *url.URL) string {
	if u == nil || u.User == nil {
		return ""
	}
	return "Basic " + Redacted
}

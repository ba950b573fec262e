package delivery

import "net/http"

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

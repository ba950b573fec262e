package delivery

import (
	"fmt"
	"net/http"
	"time"
)

// Rotation is standin's secret rotation window, an extension no real sender
// has: for a while after a webhook's secret changed, the previous secret
// stays valid. Standard Webhooks, whose webhook-signature carries a
// space-separated list, then sends both signatures (the new one first); the
// single-signature schemes sign with the secret SignWith names, so that a
// receiver's "accept the old or the new" logic can be tested either way.
type Rotation struct {
	// PreviousSecret is the secret before the change.
	PreviousSecret string `json:"previous_secret"`
	// Until is when the window closes (real time: the API converts the
	// emulated window with the time scale).
	Until time.Time `json:"until"`
	// SignWith is which secret signs a single-signature scheme during the
	// window: SignWithNew (the default) or SignWithOld.
	SignWith string `json:"sign_with,omitempty"`
}

// Values of Rotation.SignWith.
const (
	SignWithNew = "new"
	SignWithOld = "old"
)

// ValidateSignWith reports whether v is a Rotation.SignWith value ("" means
// SignWithNew).
func ValidateSignWith(v string) error {
	switch v {
	case "", SignWithNew, SignWithOld:
		return nil
	}
	return fmt.Errorf("sign_with %q: want %s or %s", v, SignWithNew, SignWithOld)
}

// Open reports whether the window is open at now: r is set, has a previous
// secret and now is before Until.
func (r *Rotation) Open(now time.Time) bool {
	return r != nil && r.PreviousSecret != "" && now.Before(r.Until)
}

// HeadersRotating is Headers for a webhook whose secret may be rotating:
// outside an open window r it is Headers(secret, …). Inside it, Standard
// Webhooks sends "v1,<new> v1,<old>" in webhook-signature, and the other
// schemes sign with the previous secret when r.SignWith is SignWithOld,
// with secret otherwise.
func (s Signing) HeadersRotating(r *Rotation, secret string, body []byte, msgID string, at time.Time) (http.Header, error) {
	if !r.Open(at) {
		return s.Headers(secret, body, msgID, at)
	}
	if s.scheme() != SchemeStandard {
		if r.SignWith == SignWithOld {
			return s.Headers(r.PreviousSecret, body, msgID, at)
		}
		return s.Headers(secret, body, msgID, at)
	}
	h, err := s.Headers(secret, body, msgID, at)
	if err != nil || secret == "" {
		return h, err
	}
	old, err := s.Headers(r.PreviousSecret, body, msgID, at)
	if err != nil {
		return nil, err
	}
	if sig := old.Get(HeaderWebhookSignature); sig != "" {
		h.Set(HeaderWebhookSignature, h.Get(HeaderWebhookSignature)+" "+sig)
	}
	return h, nil
}

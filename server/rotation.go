package server

import (
	"time"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/clock"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

// Fields of WebhookSpec for standin's secret rotation window.
const (
	fieldRotationWindow = "secret_rotation_window"
	fieldSignWith       = "secret_sign_with"
)

// hasRotation reports whether spec asks for a rotation window.
func hasRotation(spec *standinv1.WebhookSpec) bool {
	return spec.GetSecretRotationWindow() != "" || spec.GetSecretSignWith() != ""
}

// rotation returns the secret rotation to store when cur's secret changes
// as spec says, at now: a window for the previous secret when spec asks for
// one (its emulated length converted with the time scale), otherwise the
// removal of any window, since a new secret applies at once, as on
// Fivetran.
func (a *API) rotation(cur *store.Webhook, spec *standinv1.WebhookSpec, now time.Time) (*delivery.Rotation, error) {
	if err := delivery.ValidateSignWith(spec.GetSecretSignWith()); err != nil {
		return nil, apierr.Invalid("Invalid value '%s' for field '%s': must be new or old", spec.GetSecretSignWith(), fieldSignWith)
	}
	w := spec.GetSecretRotationWindow()
	if w == "" {
		if spec.GetSecretSignWith() != "" {
			return nil, apierr.Invalid("Field '%s' needs '%s'", fieldSignWith, fieldRotationWindow)
		}
		return &delivery.Rotation{}, nil
	}
	d, err := clock.ParseDuration(w)
	if err != nil || d <= 0 {
		return nil, apierr.Invalid("Invalid value '%s' for field '%s': must be a duration such as 24h or 3d, above 0", w, fieldRotationWindow)
	}
	if cur.Secret == "" || cur.Secret == spec.GetSecret() {
		return &delivery.Rotation{}, nil // no previous secret to keep valid
	}
	until := now.Add(delivery.Timeline{Scale: a.cfg.TimeScale}.Real(d))
	return &delivery.Rotation{PreviousSecret: cur.Secret, Until: until.UTC(), SignWith: spec.GetSecretSignWith()}, nil
}

// rotationPB is the rotation window r, nil when there is none; a window
// that has closed is still shown, with its past until.
func rotationPB(r *delivery.Rotation) *standinv1.SecretRotation {
	if r == nil || r.PreviousSecret == "" {
		return nil
	}
	with := r.SignWith
	if with == "" {
		with = delivery.SignWithNew
	}
	return &standinv1.SecretRotation{Until: delivery.FivetranTime(r.Until), SignWith: with}
}

// Package apierr holds the errors of standin's API domain, shared by the
// server and the packages it delegates to (the emitter, the sync
// simulator). It has no protobuf in it: server.API.status is the one place
// that maps these errors to gRPC codes and Fivetran's error envelopes.
package apierr

import (
	"errors"
	"fmt"

	"github.com/standin-dev/standin/store"
)

// InputError is a request that cannot be served as given (InvalidInput,
// 400). Its message is shown to the client as-is, in Fivetran's style
// ("Field 'url' is required").
type InputError struct {
	// Msg is the message shown to the client.
	Msg string
	// Err is the optional cause, for errors.Is.
	Err error
}

// Invalid returns an *InputError with the formatted message.
func Invalid(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

func (e *InputError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// NotFoundError is a missing entity of a known kind ("Webhook",
// "Delivery"): Fivetran's NotFound_<Entity>, 404.
type NotFoundError struct {
	// Entity is the kind of the entity, as in the envelope code.
	Entity string
	// ID is the id that was asked for.
	ID string
	// Hint, when set, follows Fivetran's message: how to fix it in standin.
	Hint string
	// Err is the cause, usually store.ErrNotFound.
	Err error
}

// NotFound wraps a store error as a missing entity when it is
// store.ErrNotFound and returns it unchanged otherwise.
func NotFound(entity, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Entity: entity, ID: id, Err: err}
	}
	return err
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("Cannot find entity '%s' with id '%s'", e.Entity, e.ID)
	if e.Hint != "" {
		msg += ". " + e.Hint
	}
	return msg
}

// Unwrap returns the cause.
func (e *NotFoundError) Unwrap() error { return e.Err }

// ConflictError is a request the entity's current state does not allow
// (cancelling a finished delivery; 409). Its message is shown as-is.
type ConflictError struct {
	// Msg is the message shown to the client.
	Msg string
	// Err is the optional cause, for errors.Is.
	Err error
}

func (e *ConflictError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *ConflictError) Unwrap() error { return e.Err }

// AtIndex says which element of a list field an error is about: an
// *InputError's message gets the prefix "field[i]: " (keeping its cause for
// errors.Is), any other error is wrapped with it.
func AtIndex(field string, i int, err error) error {
	var in *InputError
	if errors.As(err, &in) {
		return &InputError{Msg: fmt.Sprintf("%s[%d]: %s", field, i, in.Msg), Err: err}
	}
	return fmt.Errorf("%s[%d]: %w", field, i, err)
}

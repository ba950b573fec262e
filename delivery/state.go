package delivery

// DeliveryState is where a delivery stands on its way to a receiver.
type DeliveryState string

// Delivery states.
const (
	// DeliveryPending is a delivery created and not attempted yet.
	DeliveryPending DeliveryState = "pending"
	// DeliveryRetrying is a delivery that failed at least once and has a
	// retry scheduled.
	DeliveryRetrying DeliveryState = "retrying"
	// DeliverySucceeded is a delivery the receiver accepted.
	DeliverySucceeded DeliveryState = "succeeded"
	// DeliveryFailed is a delivery whose retry window ran out.
	DeliveryFailed DeliveryState = "failed"
	// DeliveryCancelled is a delivery whose retries were cancelled, by a
	// user or because its webhook is gone or was deactivated.
	DeliveryCancelled DeliveryState = "cancelled"
)

// Terminal reports whether a delivery in state s is finished: no scheduled
// attempt follows (a manual redelivery still may).
func (s DeliveryState) Terminal() bool {
	switch s {
	case DeliverySucceeded, DeliveryFailed, DeliveryCancelled:
		return true
	}
	return false
}

// Valid reports whether s is one of the delivery states.
func (s DeliveryState) Valid() bool {
	return s == DeliveryPending || s == DeliveryRetrying || s.Terminal()
}

// DeliveryStates returns every delivery state, in the order a delivery
// passes through them.
func DeliveryStates() []DeliveryState {
	return []DeliveryState{DeliveryPending, DeliveryRetrying, DeliverySucceeded, DeliveryFailed, DeliveryCancelled}
}

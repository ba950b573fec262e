package delivery

// Profile is a sender profile: it fixes the payload shape, the headers, what
// counts as a successful response and the default retry schedule. Functions
// in this package treat the empty Profile as ProfileFivetran (the default),
// but Valid reports it as not valid: callers validating user input should
// fill the default first.
type Profile string

const (
	// ProfileFivetran sends Fivetran's webhook payloads (the default).
	ProfileFivetran Profile = "fivetran"
	// ProfilePortable sends Portable's flow webhook payloads.
	ProfilePortable Profile = "portable"
)

// Valid reports whether p names a known profile.
func (p Profile) Valid() bool { return p == ProfileFivetran || p == ProfilePortable }

// Succeeded reports whether a receiver's HTTP status counts as a successful
// delivery for the profile: any 2xx for Fivetran, exactly 200 for Portable.
func (p Profile) Succeeded(status int) bool {
	if p == ProfilePortable {
		return status == 200
	}
	return status >= 200 && status <= 299
}

// DefaultProfile is the profile of a webhook or delivery that names none.
const DefaultProfile = ProfileFivetran

// OrDefault returns DefaultProfile for the empty Profile and p otherwise.
func (p Profile) OrDefault() Profile {
	if p == "" {
		return DefaultProfile
	}
	return p
}

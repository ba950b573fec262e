package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

// Extra is the part of Fivetran's connection object that the sync
// simulator does not interpret, as the store keeps it (store.Connection.Extra,
// one JSON object): only the fields that were set, the others read as their
// defaults (DefaultNetworkingMethod, DefaultDataDelaySensitivity, zero
// values; see docs/fidelity.md).
type Extra struct {
	ServiceVersion          *int64          `json:"service_version,omitempty"`
	ConnectedBy             *string         `json:"connected_by,omitempty"`
	PauseAfterTrial         *bool           `json:"pause_after_trial,omitempty"`
	DailySyncTime           *string         `json:"daily_sync_time,omitempty"`
	NetworkingMethod        *string         `json:"networking_method,omitempty"`
	DataDelaySensitivity    *string         `json:"data_delay_sensitivity,omitempty"`
	DataDelayThreshold      *int64          `json:"data_delay_threshold,omitempty"`
	ProxyAgentID            *string         `json:"proxy_agent_id,omitempty"`
	PrivateLinkID           *string         `json:"private_link_id,omitempty"`
	HybridDeploymentAgentID *string         `json:"hybrid_deployment_agent_id,omitempty"`
	SetupTests              json.RawMessage `json:"setup_tests,omitempty"`
	SourceSyncDetails       json.RawMessage `json:"source_sync_details,omitempty"`
	// Config is the service-specific configuration; a PATCH merges into it
	// key by key.
	Config map[string]json.RawMessage `json:"config,omitempty"`
}

// Defaults of the extra connection fields (Fivetran's for a connection set
// up directly, without agents or links).
const (
	// DefaultNetworkingMethod is networking_method when not set.
	DefaultNetworkingMethod = "Directly"
	// DefaultDataDelaySensitivity is data_delay_sensitivity when not set.
	DefaultDataDelaySensitivity = "NORMAL"
)

var (
	networkingMethods      = []string{"Directly", "SshTunnel", "ProxyAgent", "PrivateLink"}
	dataDelaySensitivities = []string{"LOW", "NORMAL", "HIGH", "CUSTOM", "SYNC_FREQUENCY"}
	dailySyncTimePattern   = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// extraFields are the names of Extra's fields in Fivetran's JSON.
var extraFields = []string{
	"service_version", "connected_by", "pause_after_trial", "daily_sync_time", "networking_method",
	"data_delay_sensitivity", "data_delay_threshold", "proxy_agent_id", "private_link_id",
	"hybrid_deployment_agent_id", "setup_tests", "source_sync_details", "config",
}

// DecodeExtra reads a connection's stored extra fields; none is the zero
// value.
func DecodeExtra(c *store.Connection) Extra {
	var x Extra
	if len(c.Extra) > 0 {
		// The store only holds what encode wrote; a damaged value reads as
		// defaults rather than failing every read of the connection.
		_ = json.Unmarshal(c.Extra, &x)
	}
	return x
}

// encode returns x as the store keeps it; nil when nothing is set.
func (x Extra) encode() ([]byte, error) {
	b, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("encode connection fields: %w", err)
	}
	if string(b) == "{}" {
		return nil, nil
	}
	return b, nil
}

// apply sets the extra fields named in fields (a create or PATCH body as
// decoded JSON values), checking each value's type and range: a string
// field set to null is cleared, config merges key by key (a key set to null
// is removed). It reports whether anything changed. Names that are not
// extra fields are ignored.
func (x *Extra) apply(fields map[string]any) (bool, error) {
	before, _ := x.encode()
	for _, name := range extraFields {
		v, ok := fields[name]
		if !ok {
			continue
		}
		isNull := v == nil
		var err error
		switch name {
		case "service_version":
			x.ServiceVersion, err = intField(name, v, isNull)
		case "data_delay_threshold":
			x.DataDelayThreshold, err = intField(name, v, isNull)
		case "pause_after_trial":
			x.PauseAfterTrial = nil
			if !isNull {
				b, ok := v.(bool)
				if !ok {
					return false, apierr.Invalid("Invalid value for field '%s': must be a boolean", name)
				}
				x.PauseAfterTrial = &b
			}
		case "connected_by":
			x.ConnectedBy, err = stringField(name, v, isNull, nil)
		case "daily_sync_time":
			x.DailySyncTime, err = stringField(name, v, isNull, func(s string) error {
				if !dailySyncTimePattern.MatchString(s) {
					return apierr.Invalid("Invalid value '%s' for field 'daily_sync_time': must be HH:MM, e.g. 14:00", s)
				}
				return nil
			})
		case "networking_method":
			x.NetworkingMethod, err = stringField(name, v, isNull, oneOf(name, networkingMethods))
		case "data_delay_sensitivity":
			x.DataDelaySensitivity, err = stringField(name, v, isNull, oneOf(name, dataDelaySensitivities))
		case "proxy_agent_id":
			x.ProxyAgentID, err = stringField(name, v, isNull, nil)
		case "private_link_id":
			x.PrivateLinkID, err = stringField(name, v, isNull, nil)
		case "hybrid_deployment_agent_id":
			x.HybridDeploymentAgentID, err = stringField(name, v, isNull, nil)
		case "setup_tests":
			x.SetupTests = nil
			if !isNull {
				if _, ok := v.([]any); !ok {
					return false, apierr.Invalid("Invalid value for field 'setup_tests': must be an array")
				}
				x.SetupTests, err = marshalJSON(v)
			}
		case "source_sync_details":
			x.SourceSyncDetails = nil
			if !isNull {
				if _, ok := v.(map[string]any); !ok {
					return false, apierr.Invalid("Invalid value for field 'source_sync_details': must be an object")
				}
				x.SourceSyncDetails, err = marshalJSON(v)
			}
		case "config":
			if isNull {
				x.Config = nil
				break
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return false, apierr.Invalid("Invalid value for field 'config': must be an object")
			}
			if x.Config == nil {
				x.Config = make(map[string]json.RawMessage)
			}
			for k, cv := range obj {
				if cv == nil {
					delete(x.Config, k)
					continue
				}
				b, merr := marshalJSON(cv)
				if merr != nil {
					return false, apierr.Invalid("Invalid value for field 'config.%s'", k)
				}
				x.Config[k] = compactJSON(b)
			}
			if len(x.Config) == 0 {
				x.Config = nil
			}
		}
		if err != nil {
			return false, err
		}
		if x.SetupTests != nil {
			x.SetupTests = compactJSON(x.SetupTests)
		}
		if x.SourceSyncDetails != nil {
			x.SourceSyncDetails = compactJSON(x.SourceSyncDetails)
		}
	}
	after, _ := x.encode()
	return string(before) != string(after), nil
}

// marshalJSON is v as JSON, without HTML escaping.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// compactJSON is b without insignificant white space; b as is when it is
// not valid JSON.
func compactJSON(b []byte) json.RawMessage {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

// intField reads a non-negative integer field; null clears it.
func intField(name string, v any, isNull bool) (*int64, error) {
	if isNull {
		return nil, nil
	}
	n, ok := v.(float64)
	if !ok || n != float64(int64(n)) || n < 0 || n > 1<<31-1 {
		return nil, apierr.Invalid("Invalid value for field '%s': must be a non-negative integer", name)
	}
	i := int64(n)
	return &i, nil
}

// stringField reads a string field, checked by check when set; null
// clears it.
func stringField(name string, v any, isNull bool, check func(string) error) (*string, error) {
	if isNull {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, apierr.Invalid("Invalid value for field '%s': must be a string", name)
	}
	if check != nil {
		if err := check(s); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// oneOf checks that a string field is one of allowed.
func oneOf(name string, allowed []string) func(string) error {
	return func(s string) error {
		if !slices.Contains(allowed, s) {
			return apierr.Invalid("Invalid value '%s' for field '%s': must be one of %v", s, name, allowed)
		}
		return nil
	}
}

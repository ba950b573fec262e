package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

// connectionExtra is the part of Fivetran's connection object that the sync
// simulator does not interpret, as the store keeps it (store.Connection.Extra,
// one JSON object): only the fields that were set, the others read as their
// defaults (see extraDefaults and docs/fidelity.md).
type connectionExtra struct {
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
	defaultNetworkingMethod     = "Directly"
	defaultDataDelaySensitivity = "NORMAL"
)

var (
	networkingMethods      = []string{"Directly", "SshTunnel", "ProxyAgent", "PrivateLink"}
	dataDelaySensitivities = []string{"LOW", "NORMAL", "HIGH", "CUSTOM", "SYNC_FREQUENCY"}
	dailySyncTimePattern   = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// extraFields are the names of connectionExtra's fields in Fivetran's JSON.
var extraFields = []string{
	"service_version", "connected_by", "pause_after_trial", "daily_sync_time", "networking_method",
	"data_delay_sensitivity", "data_delay_threshold", "proxy_agent_id", "private_link_id",
	"hybrid_deployment_agent_id", "setup_tests", "source_sync_details", "config",
}

// decodeExtra reads a connection's stored extra fields; none is the zero
// value.
func decodeExtra(c *store.Connection) connectionExtra {
	var x connectionExtra
	if len(c.Extra) > 0 {
		// The store only holds what encode wrote; a damaged value reads as
		// defaults rather than failing every read of the connection.
		_ = json.Unmarshal(c.Extra, &x)
	}
	return x
}

// encode returns x as the store keeps it; nil when nothing is set.
func (x connectionExtra) encode() ([]byte, error) {
	b, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("encode connection fields: %w", err)
	}
	if string(b) == "{}" {
		return nil, nil
	}
	return b, nil
}

// apply sets the extra fields named in fields (a create or PATCH body),
// checking each value's type and range: a string field set to null is
// cleared, config merges key by key (a key set to null is removed). It
// reports whether anything changed. Names that are not extra fields are
// ignored.
func (x *connectionExtra) apply(fields map[string]*structpb.Value) (bool, error) {
	before, _ := x.encode()
	for _, name := range extraFields {
		v, ok := fields[name]
		if !ok {
			continue
		}
		_, isNull := v.GetKind().(*structpb.Value_NullValue)
		var err error
		switch name {
		case "service_version":
			x.ServiceVersion, err = intField(name, v, isNull)
		case "data_delay_threshold":
			x.DataDelayThreshold, err = intField(name, v, isNull)
		case "pause_after_trial":
			x.PauseAfterTrial = nil
			if !isNull {
				b, ok := v.GetKind().(*structpb.Value_BoolValue)
				if !ok {
					return false, apierr.Invalid("Invalid value for field '%s': must be a boolean", name)
				}
				x.PauseAfterTrial = &b.BoolValue
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
				if _, ok := v.GetKind().(*structpb.Value_ListValue); !ok {
					return false, apierr.Invalid("Invalid value for field 'setup_tests': must be an array")
				}
				x.SetupTests, err = protojson.Marshal(v)
			}
		case "source_sync_details":
			x.SourceSyncDetails = nil
			if !isNull {
				if _, ok := v.GetKind().(*structpb.Value_StructValue); !ok {
					return false, apierr.Invalid("Invalid value for field 'source_sync_details': must be an object")
				}
				x.SourceSyncDetails, err = protojson.Marshal(v)
			}
		case "config":
			if isNull {
				x.Config = nil
				break
			}
			obj, ok := v.GetKind().(*structpb.Value_StructValue)
			if !ok {
				return false, apierr.Invalid("Invalid value for field 'config': must be an object")
			}
			if x.Config == nil {
				x.Config = make(map[string]json.RawMessage)
			}
			for k, cv := range obj.StructValue.GetFields() {
				if _, null := cv.GetKind().(*structpb.Value_NullValue); null {
					delete(x.Config, k)
					continue
				}
				b, merr := protojson.Marshal(cv)
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

// compactJSON is b without insignificant white space (protojson varies
// it); b as is when it is not valid JSON.
func compactJSON(b []byte) json.RawMessage {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

// intField reads a non-negative integer field; null clears it.
func intField(name string, v *structpb.Value, isNull bool) (*int64, error) {
	if isNull {
		return nil, nil
	}
	n, ok := v.GetKind().(*structpb.Value_NumberValue)
	if !ok || n.NumberValue != float64(int64(n.NumberValue)) || n.NumberValue < 0 || n.NumberValue > 1<<31-1 {
		return nil, apierr.Invalid("Invalid value for field '%s': must be a non-negative integer", name)
	}
	i := int64(n.NumberValue)
	return &i, nil
}

// stringField reads a string field, checked by check when set; null
// clears it.
func stringField(name string, v *structpb.Value, isNull bool, check func(string) error) (*string, error) {
	if isNull {
		return nil, nil
	}
	s, ok := v.GetKind().(*structpb.Value_StringValue)
	if !ok {
		return nil, apierr.Invalid("Invalid value for field '%s': must be a string", name)
	}
	if check != nil {
		if err := check(s.StringValue); err != nil {
			return nil, err
		}
	}
	return &s.StringValue, nil
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

// secretConfigKeys are the substrings of config keys whose values the API
// masks, as Fivetran masks secrets in a connection's config.
var secretConfigKeys = []string{"password", "secret", "token", "private_key", "api_key"}

// maskedSecret is what the API shows for a secret, as for webhook secrets.
const maskedSecret = "******"

// fillExtraPB sets out's extra fields from c's stored ones, defaults for
// those not set.
func fillExtraPB(out *standinv1.Connection, c *store.Connection) {
	x := decodeExtra(c)
	out.ServiceVersion = int32(deref(x.ServiceVersion, 0))
	out.ConnectedBy = deref(x.ConnectedBy, ConnectedBy)
	out.PauseAfterTrial = deref(x.PauseAfterTrial, false)
	out.DailySyncTime = nullableString(x.DailySyncTime)
	out.NetworkingMethod = deref(x.NetworkingMethod, defaultNetworkingMethod)
	out.DataDelaySensitivity = deref(x.DataDelaySensitivity, defaultDataDelaySensitivity)
	out.DataDelayThreshold = int32(deref(x.DataDelayThreshold, 0))
	out.ProxyAgentId = nullableString(x.ProxyAgentID)
	out.PrivateLinkId = nullableString(x.PrivateLinkID)
	out.HybridDeploymentAgentId = nullableString(x.HybridDeploymentAgentID)
	out.SetupTests = &structpb.ListValue{Values: []*structpb.Value{}}
	if len(x.SetupTests) > 0 {
		var l structpb.ListValue
		if protojson.Unmarshal(x.SetupTests, &l) == nil {
			out.SetupTests = &l
		}
	}
	out.SourceSyncDetails = structpb.NewNullValue()
	if len(x.SourceSyncDetails) > 0 {
		var v structpb.Value
		if protojson.Unmarshal(x.SourceSyncDetails, &v) == nil {
			out.SourceSyncDetails = &v
		}
	}
	out.Config = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for _, k := range slices.Sorted(maps.Keys(x.Config)) {
		v := &structpb.Value{}
		if protojson.Unmarshal(x.Config[k], v) != nil {
			continue
		}
		if secretKey(k) {
			v = structpb.NewStringValue(maskedSecret)
		}
		out.Config.Fields[k] = v
	}
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretConfigKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func nullableString(s *string) *structpb.Value {
	if s == nil {
		return structpb.NewNullValue()
	}
	return structpb.NewStringValue(*s)
}
